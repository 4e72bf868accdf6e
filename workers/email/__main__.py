from workers.email.bootstrap import SPEC
from workers.eventing import run_service

if __name__ == "__main__":
    run_service(SPEC)
