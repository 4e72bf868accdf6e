"""The gateway's read-model projector, a process of its own: ``python -m app.projector``.

It runs the gateway's consumer group (``gateway``) over the catalog, stock and orders
streams into the gateway's database, and the relay of the gateway's outbox for what
the web process could not publish itself right after its commit (a crash, Redis away).
"""
