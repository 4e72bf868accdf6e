from workers.eventing import run_service
from workers.warehouse.bootstrap import SPEC

run_service(SPEC)
