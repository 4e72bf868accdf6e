"""docs/events.md describes every event type and every field of its data."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.contracts import REGISTRY

EVENTS_DOC = (Path(__file__).resolve().parents[1] / "docs" / "events.md").read_text()


@pytest.mark.parametrize("event_type", sorted(REGISTRY.types))
def test_every_event_type_and_its_fields_are_documented(event_type: str) -> None:
    model = REGISTRY.types[event_type]
    assert f"`{event_type}`" in EVENTS_DOC
    assert f"`{model.STREAM}`" in EVENTS_DOC
    missing = [name for name in model.model_fields if f"`{name}`" not in EVENTS_DOC]
    assert not missing, f"{event_type}: fields not in docs/events.md: {missing}"
