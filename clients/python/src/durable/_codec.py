"""Dataclasses to JSON and back.

Requests leave out `None` fields, through nested dataclasses, so the server
applies its defaults; JSON values the caller supplies (params, results,
payloads) are sent as given. Responses keep only the fields a dataclass
declares, because the server may send more than a client knows.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from typing import Any, TypeVar, cast

T = TypeVar("T")


def to_json(value: Any) -> Any:
    """The JSON form of a request dataclass (or of plain JSON values inside one)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item is not None:
                out[f.name] = to_json(item)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {key: to_json(item) for key, item in value.items()}
    return value


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(cls: type[T], data: Any) -> T:
    """`data` (a decoded JSON object) as an instance of dataclass `cls`."""
    return cast(T, _convert(cls, data))


def _convert(hint: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(hint)
    if origin is types.UnionType or origin is typing.Union:
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        return _convert(members[0], data) if len(members) == 1 else data
    if origin is list:
        (item,) = typing.get_args(hint)
        return [_convert(item, x) for x in data] if isinstance(data, list) else data
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(data, dict):
        hints = _hints(hint)
        known = {f.name for f in dataclasses.fields(hint) if f.init}
        kwargs = {name: _convert(hints[name], data[name]) for name in known if name in data}
        # A field the server left out that has no default: None, rather than
        # refusing the whole answer.
        for f in dataclasses.fields(hint):
            if f.init and f.name not in kwargs and _has_no_default(f):
                kwargs[f.name] = None
        return hint(**kwargs)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(data)
        except ValueError:
            # A status this client does not know yet stays a plain string.
            return data
    return data


def _has_no_default(f: dataclasses.Field[Any]) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
