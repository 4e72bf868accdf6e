"""Stream entry ids compare as numbers: "10-0" comes after "9-5"."""

from __future__ import annotations

import pytest

from app.read_model.stream_ids import id_key, is_stream_id, later


@pytest.mark.parametrize("value", ["0-0", "1700000000000-0", "1700000000000-12"])
def test_entry_ids_are_recognised(value: str) -> None:
    assert is_stream_id(value)


@pytest.mark.parametrize(
    "value", ["", "$", ">", "+", "1700000000000", "1-", "-1", "1-1-1", "a-b", "1-1 ", "1" * 21 + "-0"]
)
def test_anything_else_is_not_an_entry_id(value: str) -> None:
    assert not is_stream_id(value)


def test_ids_compare_by_time_then_sequence() -> None:
    assert id_key("10-0") > id_key("9-5")
    assert id_key("9-10") > id_key("9-9")


def test_the_later_of_two_ids() -> None:
    assert later("10-0", "9-5") == later("9-5", "10-0") == "10-0"
    assert later("7-1", "7-1") == "7-1"
