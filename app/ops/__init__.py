"""The ops console (managers only): streams, consumer groups, services and dead letters.

``figures`` reads what it shows from Redis alone (services report through heartbeats),
``actions`` retries and discards dead letters and audits each, ``api`` serves the JSON
of the contract and ``page`` the ``/ops`` page with its live socket.
"""
