"""docs/events.md describes every event type and, in that event's own tables, every field of its data.

An event is documented either in a ``### `type``` section of its own, or, where several types
share one data model, as a row of the type table of its stream's ``## `stream``` section, whose
field table then describes it. A field named only under another event does not count.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workers.contracts import REGISTRY

EVENTS_DOC = (Path(__file__).resolve().parents[1] / "docs" / "events.md").read_text()
_HEADING = re.compile(r"^(#{2,3}) (.*)$", re.MULTILINE)
_FIRST_CELL = re.compile(r"^\|\s*`([^`]+)`\s*\|", re.MULTILINE)


def sections(doc: str) -> list[tuple[str, str, str]]:
    """(level marks, title, body) per heading; a body runs to the next heading of level 2 or 3."""
    found = list(_HEADING.finditer(doc))
    ends = [h.start() for h in found[1:]] + [len(doc)]
    return [(h.group(1), h.group(2).strip(), doc[h.end() : end]) for h, end in zip(found, ends, strict=True)]


def first_cells(body: str) -> set[str]:
    """The names in the first column of a section's tables."""
    return set(_FIRST_CELL.findall(body))


def event_block(doc: str, event_type: str, stream: str) -> str | None:
    """The text that documents ``event_type``: its own section, or its stream's shared one.

    None when it is not documented, or documented under another stream.
    """
    current_stream = None
    for marks, title, body in sections(doc):
        if marks == "##":
            current_stream = title.split("`")[1] if title.startswith("`") else None
            if current_stream == stream and event_type in first_cells(body):
                return body
        elif title == f"`{event_type}`":
            return body if current_stream == stream else None
    return None


@pytest.mark.parametrize("event_type", sorted(REGISTRY.types))
def test_every_event_type_is_documented_under_its_stream_with_each_of_its_fields(event_type: str) -> None:
    model = REGISTRY.types[event_type]
    block = event_block(EVENTS_DOC, event_type, model.STREAM)
    assert block is not None, f"docs/events.md does not document {event_type} under `{model.STREAM}`"
    missing = sorted(set(model.model_fields) - first_cells(block))
    assert not missing, f"{event_type}: fields missing from its own table in docs/events.md: {missing}"


def test_a_field_documented_only_under_another_event_does_not_count() -> None:
    doc = (
        "## `s` (producer: x)\n### `a.happened`\n| field | type |\n|---|---|\n| `x` | string |\n"
        "### `b.happened`\n| field | type |\n|---|---|\n| `y` | string |\n"
    )
    block = event_block(doc, "a.happened", "s")
    assert block is not None
    assert first_cells(block) == {"x"}


def test_an_event_documented_under_another_stream_does_not_count() -> None:
    doc = "## `s` (producer: x)\n## `t` (producer: y)\n### `a.happened`\n| `x` | string |\n"
    assert event_block(doc, "a.happened", "s") is None
