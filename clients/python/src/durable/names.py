"""Checkpoint names of a run's calls, the same as the Rust SDK's, so a task
started by one SDK replays under the other.

A run that makes the same calls in the same order asks for the same names
in the same order; that is how replay finds earlier results.
"""

from __future__ import annotations

from .exceptions import InvalidStepName

SLEEP = "$sleep"


class StepNames:
    """The first use of a name is the name itself, the n-th `name#n`."""

    def __init__(self) -> None:
        self._uses: dict[str, int] = {}

    def next(self, base: str) -> str:
        uses = self._uses.get(base, 0) + 1
        self._uses[base] = uses
        return base if uses == 1 else f"{base}#{uses}"


def user_step(name: str) -> str:
    """A step name of the caller's, refused when it could collide with a
    repeat suffix or with the SDK's own names."""
    if not name:
        raise InvalidStepName(name, "it is empty")
    if name.startswith("$"):
        raise InvalidStepName(name, "names starting with `$` are reserved for the SDK's own checkpoints")
    if "#" in name:
        raise InvalidStepName(name, "`#` separates the suffixes of repeated steps")
    return name


def internal(kind: str, subject: str) -> str:
    """`$kind:subject`, with `%` and `#` escaped so a subject (an event or
    task name) cannot forge a repeat suffix."""
    subject = subject.replace("%", "%25").replace("#", "%23")
    return f"${kind}:{subject}"
