"""Checkpoint names must be exactly the Rust SDK's (client/src/durable/names.rs),
so either SDK can replay a task the other started."""

from __future__ import annotations

import pytest

from durable import InvalidStepName
from durable.names import StepNames, internal, user_step


def test_repeated_names_get_counted_suffixes() -> None:
    names = StepNames()
    assert [names.next(n) for n in ["a", "b", "a", "a", "b"]] == ["a", "b", "a#2", "a#3", "b#2"]


@pytest.mark.parametrize("bad", ["", "$sleep", "item#2"])
def test_user_names_that_could_collide_are_refused(bad: str) -> None:
    with pytest.raises(InvalidStepName):
        user_step(bad)


def test_internal_names_escape_the_suffix_separator() -> None:
    assert user_step("charge") == "charge"
    assert internal("event", "paid:42") == "$event:paid:42"
    assert internal("event", "a#2") == "$event:a%232"
    assert internal("event", "50%") == "$event:50%25"
