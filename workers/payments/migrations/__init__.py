"""The payments database's migration history (README: "Changing a table")."""

from workers.eventing.schema import Migrations
from workers.payments.tables import METADATA

MIGRATIONS = Migrations.beside(__file__, "payments", METADATA)
