from workers.eventing import run_service
from workers.payments.bootstrap import SPEC

run_service(SPEC)
