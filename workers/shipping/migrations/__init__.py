"""The shipping database's migration history (README: "Changing a table")."""

from workers.eventing.schema import Migrations
from workers.shipping.tables import METADATA

MIGRATIONS = Migrations.beside(__file__, "shipping", METADATA)
