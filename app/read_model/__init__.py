"""The gateway's own database and the read model in it: tables, queries, pruning, stream positions."""
