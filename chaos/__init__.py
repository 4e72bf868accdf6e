"""The chaos run: a bounded load of orders through the whole stack while faults are injected, then a checker.

``python -m chaos [--orders 300 --rate 20 --seed N]`` (``make chaos``) starts every Procfile
process on free ports, drives checkouts, restocks and dispatches through the HTTP contract,
and meanwhile ``kill -9``s every worker (the projector and the web process too) and Redis, freezes a worker
replica with SIGSTOP for longer than the claim idle time, and re-adds copies of events
already on the streams. Then it heals everything, waits until every group has caught up and
every outbox is empty, and checks the system's invariants against the services' own
databases. ``docs/reliability.md`` holds the table of the latest run.

Modules: ``plan`` (settings and the seeded fault schedule), ``load`` (the shoppers and the
clerk), ``faults`` (the injector), ``quiet`` (waiting for the system to settle), ``truth``
(reading the services' databases), ``invariants`` (the checker), ``report`` (the table) and
``run`` (all of it in order).
"""
