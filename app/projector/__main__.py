from app.projector.bootstrap import SPEC
from workers.eventing import run_service

run_service(SPEC, process="projector")
