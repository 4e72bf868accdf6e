"""The orders database's migration history (README: "Changing a table")."""

from workers.eventing.schema import Migrations
from workers.orders.tables import METADATA

MIGRATIONS = Migrations.beside(__file__, "orders", METADATA)
