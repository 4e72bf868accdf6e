"""The catalog database's migration history (README: "Changing a table")."""

from workers.catalog.tables import METADATA
from workers.eventing.schema import Migrations

MIGRATIONS = Migrations.beside(__file__, "catalog", METADATA)
