"""``make scale``: the whole system scaled out on one machine, as it would run on several.

Two web processes behind HAProxy on ``PORT``, two replicas of every worker, one
projector, a PostgreSQL database per service, and Redis with a replica and three
sentinels. docs/deployment.md maps it onto several machines.
"""
