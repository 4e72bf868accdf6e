from workers.eventing import run_service
from workers.orders.bootstrap import SPEC

if __name__ == "__main__":
    run_service(SPEC)
