"""The Alembic environment every service's history runs in (workers/eventing/schema.py).

It runs on the connection and in the transaction ``schema.upgrade`` gives it, against the
service's own models; there is no offline (SQL script) mode.
"""

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("migrations run through workers.eventing.schema, on a connection it opens")

context.configure(
    connection=connection,
    target_metadata=config.attributes["metadata"],
    version_table=config.get_main_option("version_table") or "alembic_version",
    # SQLite alters most things by copying the table ("batch" mode).
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
