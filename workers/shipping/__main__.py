from workers.eventing import run_service
from workers.shipping.bootstrap import SPEC

run_service(SPEC)
