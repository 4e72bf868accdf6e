"""The gateway database's migration history (README: "Changing a table")."""

from sqlalchemy import Connection, inspect, text

from app.read_model.tables import METADATA
from workers.eventing.schema import Migrations


def add_role_column(conn: Connection) -> None:
    """Give a staff table made before roles existed its ``role`` column (everyone in it was a clerk)."""
    if not inspect(conn).has_table("clerks"):
        return
    if "role" not in {c["name"] for c in inspect(conn).get_columns("clerks")}:
        conn.execute(text("ALTER TABLE clerks ADD COLUMN role VARCHAR(20) NOT NULL DEFAULT 'clerk'"))


MIGRATIONS = Migrations.beside(__file__, "gateway", METADATA, legacy=add_role_column)
