"""The ops console of a running gateway: figures and dead letters as JSON and as the live ``/ops`` page.

Poison entries are added to a stream the projector reads (``stock``); the projector
dead-letters them as any consumer would.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import select

from app.ops.figures import STREAMS
from app.read_model import tables
from tests.app.storefront import Storefront, eventually, running_storefront
from tests.security.routes import MANAGER_ENDPOINTS
from tests.support.redis_server import RedisServer
from workers.contracts import SERVICES
from workers.eventing import heartbeat
from workers.eventing.dead_letters import DLQ_STREAM
from workers.eventing.registry import EVENT_FIELD, TYPE_FIELD


def manager(storefront: Storefront) -> dict[str, str]:
    return {"Authorization": f"Bearer {storefront.manager_token()}"}


def add_poison(storefront: Storefront) -> tuple[str, str]:
    """A ``stock.changed`` entry nobody can decode; returns (its entry id, a marker in its bytes)."""
    marker = uuid.uuid4().hex
    entry_id = storefront.redis.xadd("stock", {TYPE_FIELD: b"stock.changed", EVENT_FIELD: f"{{{marker}".encode()})
    return str(entry_id.decode() if isinstance(entry_id, bytes) else entry_id), marker


def dead_letter_of(storefront: Storefront, entry_id: str, auth: dict[str, str]) -> dict[str, Any] | None:
    response = storefront.http.get("/api/ops/dead-letters", headers=auth)
    assert response.status_code == 200, response.text
    return next((d for d in response.json()["dead_letters"] if d["entry_id"] == entry_id), None)


def audit_rows(storefront: Storefront, dlq_id: str) -> list[dict[str, Any]]:
    with storefront.gateway.db.snapshot() as conn:
        rows = conn.execute(select(tables.ops_audit).where(tables.ops_audit.c.dlq_id == dlq_id))
        return [dict(row._mapping) for row in rows]


def test_the_status_lists_every_stream_with_its_groups_and_every_service(storefront: Storefront) -> None:
    storefront.place_order(storefront.add_product())
    runtime = storefront.projector.runtime
    heartbeat.beat(runtime.client, runtime.outbox, "gateway", "projector-under-test")

    response = storefront.http.get("/api/ops/status", headers=manager(storefront))

    assert response.status_code == 200, response.text
    status = response.json()
    streams = {s["name"]: s for s in status["streams"]}
    assert set(streams) <= set(STREAMS) and {"stock", "catalog", "orders", "storefront"} <= set(streams)
    stock = streams["stock"]
    assert stock["length"] >= 1 and stock["first_id"] and stock["last_id"]
    [group] = [g for g in stock["groups"] if g["name"] == "gateway"]
    assert set(group) >= {"name", "lag", "pending", "oldest_pending_ms", "consumers"}
    assert [s["name"] for s in status["services"]] == list(SERVICES)
    [gateway] = [s for s in status["services"] if s["name"] == "gateway"]
    assert gateway["heartbeat_age_s"] is not None and gateway["outbox_backlog"] is not None
    assert isinstance(status["dead_letters"], int)


def test_a_poison_entry_shows_as_a_dead_letter_and_retry_puts_it_back(storefront: Storefront) -> None:
    auth = manager(storefront)
    entry_id, marker = add_poison(storefront)

    letter = eventually(lambda: dead_letter_of(storefront, entry_id, auth), "the poison entry in the dead letters")
    assert (letter["stream"], letter["group"], letter["event_type"]) == ("stock", "gateway", "stock.changed")
    assert "malformed" in letter["error"] and letter["deliveries"] >= 1

    response = storefront.http.post(f"/api/ops/dead-letters/{letter['id']}/retry", headers=auth)

    assert response.status_code == 202, response.text
    back_as = response.json()["new_entry_id"]
    [(_, fields)] = cast(
        list[tuple[bytes, dict[bytes, bytes]]], storefront.redis.xrange("stock", min=back_as, max=back_as)
    )
    assert marker.encode() in fields[EVENT_FIELD]
    assert storefront.redis.xrange(DLQ_STREAM, min=letter["id"], max=letter["id"]) == []
    [row] = audit_rows(storefront, letter["id"])
    assert (row["action"], row["actor"], row["new_entry_id"], row["entry_id"]) == (
        "retry",
        "manager-under-test",
        back_as,
        entry_id,
    )
    assert row["at"] > 0


def test_discard_removes_a_dead_letter_for_good(storefront: Storefront) -> None:
    auth = manager(storefront)
    entry_id, _ = add_poison(storefront)
    letter = eventually(lambda: dead_letter_of(storefront, entry_id, auth), "the poison entry in the dead letters")

    response = storefront.http.post(f"/api/ops/dead-letters/{letter['id']}/discard", headers=auth)

    assert response.status_code == 202, response.text
    assert dead_letter_of(storefront, entry_id, auth) is None
    assert [r["action"] for r in audit_rows(storefront, letter["id"])] == ["discard"]
    again = storefront.http.post(f"/api/ops/dead-letters/{letter['id']}/discard", headers=auth)
    assert again.status_code == 404
    assert [r["action"] for r in audit_rows(storefront, letter["id"])] == ["discard"]  # nothing done, nothing audited


@pytest.mark.parametrize("dlq_id", ["1-1", "not-an-id", "99999999999999-0"])
@pytest.mark.parametrize("action", ["retry", "discard"])
def test_an_unknown_dead_letter_is_a_404(storefront: Storefront, dlq_id: str, action: str) -> None:
    response = storefront.http.post(f"/api/ops/dead-letters/{dlq_id}/{action}", headers=manager(storefront))

    assert response.status_code == 404
    assert set(response.json()["error"]) == {"message", "fields"}


def test_the_ops_page_shows_a_dead_letter_and_its_retry_and_discard_buttons(storefront: Storefront) -> None:
    entry_id, _ = add_poison(storefront)
    letter = eventually(
        lambda: dead_letter_of(storefront, entry_id, manager(storefront)), "the poison entry in the dead letters"
    )
    storefront.browser_login("manager")

    page = storefront.http.get("/ops")

    assert page.status_code == 200
    assert f'id="dead-letter-{letter["id"]}"' in page.text
    assert f'action="/ops/dead-letters/{letter["id"]}/retry"' in page.text
    assert f'action="/ops/dead-letters/{letter["id"]}/discard"' in page.text
    assert 'id="stream-stock"' in page.text and 'id="service-gateway"' in page.text


def test_the_discard_button_posts_a_csrf_protected_form_and_is_audited(storefront: Storefront) -> None:
    entry_id, _ = add_poison(storefront)
    letter = eventually(
        lambda: dead_letter_of(storefront, entry_id, manager(storefront)), "the poison entry in the dead letters"
    )
    storefront.browser_login("manager")
    path = f"/ops/dead-letters/{letter['id']}/discard"

    forged = storefront.http.post(path, data={"csrf_token": "forged"}, follow_redirects=False)
    assert forged.status_code == 403
    assert audit_rows(storefront, letter["id"]) == []

    answer = storefront.http.post(
        path, data={"csrf_token": storefront.page_token("/ops")}, headers={"HX-Request": "true"}
    )

    assert answer.status_code == 200, answer.text
    assert 'id="ops-console"' in answer.text and f'id="dead-letter-{letter["id"]}"' not in answer.text
    assert [(r["action"], r["actor"]) for r in audit_rows(storefront, letter["id"])] == [
        ("discard", "manager-under-test")
    ]


def test_the_live_socket_pushes_the_console_and_again_when_a_dead_letter_arrives(storefront: Storefront) -> None:
    storefront.browser_login("manager")
    with storefront.http.websocket_connect("/live/ops") as socket:
        first = socket.receive_text()
        assert 'id="ops-console" hx-swap-oob="true"' in first
        entry_id, _ = add_poison(storefront)
        letter = eventually(
            lambda: dead_letter_of(storefront, entry_id, manager(storefront)), "the poison entry in the dead letters"
        )
        # Idle times move every second, so the console is pushed again and again: wait for one with the letter.
        pushed = [socket.receive_text() for _ in range(1)]
        while f'id="dead-letter-{letter["id"]}"' not in pushed[-1] and len(pushed) < 60:
            pushed.append(socket.receive_text())
    assert f'id="dead-letter-{letter["id"]}"' in pushed[-1]
    assert 'name="csrf_token"' in pushed[-1]


def test_a_clerk_is_forbidden_every_manager_route_there_is() -> None:
    # The authorization tests knock on every manager route as a clerk; these are the routes they walk.
    assert {e.path for e in MANAGER_ENDPOINTS if e.path.startswith(("/ops", "/live/ops", "/api/ops"))} == {
        "/ops",
        "/ops/dead-letters/{dlq_id}/retry",
        "/ops/dead-letters/{dlq_id}/discard",
        "/live/ops",
        "/api/ops/status",
        "/api/ops/dead-letters",
        "/api/ops/dead-letters/{dlq_id}/retry",
        "/api/ops/dead-letters/{dlq_id}/discard",
    }


def test_a_retry_past_the_redrive_window_is_refused_and_not_audited(redis_server: RedisServer, tmp_path: Path) -> None:
    with running_storefront(redis_server.url, tmp_path, env={"DLQ_REDRIVE_S": "0"}) as storefront:
        auth = manager(storefront)
        entry_id, _ = add_poison(storefront)
        letter = eventually(lambda: dead_letter_of(storefront, entry_id, auth), "the poison entry in the dead letters")

        response = storefront.http.post(f"/api/ops/dead-letters/{letter['id']}/retry", headers=auth)

        assert response.status_code == 409
        assert "DLQ_REDRIVE_S" in response.json()["error"]["message"]
        assert dead_letter_of(storefront, entry_id, auth) is not None
        assert audit_rows(storefront, letter["id"]) == []
