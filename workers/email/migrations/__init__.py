"""The email database's migration history (README: "Changing a table")."""

from workers.email.tables import METADATA
from workers.eventing.schema import Migrations

MIGRATIONS = Migrations.beside(__file__, "email", METADATA)
