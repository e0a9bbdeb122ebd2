"""Validation of request parameters and JSON bodies (no tornado here).

Everything raises :class:`~blacklake_ml.errors.InvalidInput`, which the error mapping turns
into a 400 with a one-line message naming the parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from blacklake_ml.errors import InvalidInput

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True)
class Page:
    """``offset``/``limit`` of a list request."""

    offset: int = 0
    limit: int = DEFAULT_LIMIT

    def slice(self, items: list[Any]) -> list[Any]:
        """The items of this page."""
        return items[self.offset:self.offset + self.limit]

    def doc(self, items: list[Any], *, total: int | None = None,
            has_more: bool | None = None) -> dict[str, Any]:
        """``{"items", "offset", "limit"}`` plus ``total`` or ``has_more``."""
        out: dict[str, Any] = {"items": items, "offset": self.offset, "limit": self.limit}
        if total is not None:
            out["total"] = total
            out["has_more"] = self.offset + len(items) < total
        elif has_more is not None:
            out["has_more"] = has_more
        return out


def as_int(value: str | None, name: str, default: int, low: int, high: int) -> int:
    """A query parameter as an integer in ``[low, high]``."""
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer, got {value[:40]!r}") from None
    if not low <= n <= high:
        raise InvalidInput(f"{name} must be from {low} to {high}, got {n}")
    return n


def page(offset: str | None, limit: str | None, *, default: int = DEFAULT_LIMIT,
         maximum: int = MAX_LIMIT) -> Page:
    """Parse ``offset`` (>= 0) and ``limit`` (1..maximum)."""
    return Page(as_int(offset, "offset", 0, 0, 10**9),
                as_int(limit, "limit", default, 1, maximum))


def as_bool(value: str | None, name: str, default: bool = False) -> bool:
    """``1/true/yes`` or ``0/false/no`` (case-insensitive)."""
    if value is None or value == "":
        return default
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(f"{name} must be true or false, got {value[:40]!r}")


def json_body(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object ({} when empty)."""
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidInput(f"request body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return {}
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInput("request body must be a JSON object")
    return doc


class Body:
    """Typed access to a JSON body that rejects unknown and mistyped fields."""

    def __init__(self, doc: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        unknown = sorted(set(doc) - set(allowed))
        if unknown:
            raise InvalidInput(f"unknown field(s) {', '.join(map(repr, unknown))}; "
                               f"allowed: {', '.join(allowed)}")
        self.doc = doc

    def text(self, name: str, *, required: bool = False, default: str | None = None
            ) -> str | None:
        """A string field."""
        value = self.doc.get(name)
        if value is None:
            if required:
                raise InvalidInput(f"field {name!r} is required")
            return default
        if not isinstance(value, str):
            raise InvalidInput(f"field {name!r} must be a string")
        return value

    def req(self, name: str) -> str:
        """A required string field."""
        value = self.text(name, required=True)
        assert value is not None
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean field."""
        value = self.doc.get(name, default)
        if not isinstance(value, bool):
            raise InvalidInput(f"field {name!r} must be true or false")
        return value

    def strategy(self, name: str) -> str | dict[str, str] | None:
        """A merge strategy: ``"ours"``, ``"theirs"`` or ``{glob: "ours"|"theirs"}``."""
        value = self.doc.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in value.items()):
            return dict(value)
        raise InvalidInput(f"field {name!r} must be \"ours\", \"theirs\" or an object "
                           "{glob: \"ours\"|\"theirs\"}")
