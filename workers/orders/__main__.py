from workers.eventing import run_service
from workers.orders.bootstrap import SPEC

run_service(SPEC)
