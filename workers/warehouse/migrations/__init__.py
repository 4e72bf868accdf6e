"""The warehouse database's migration history (README: "Changing a table")."""

from workers.eventing.schema import Migrations
from workers.warehouse.tables import METADATA

MIGRATIONS = Migrations.beside(__file__, "warehouse", METADATA)
