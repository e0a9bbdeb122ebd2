"""Small helpers shared by the extractors: limits, error text, bounded copies of untrusted data."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

#: longest string kept from an untrusted file in the facts (names, metadata values)
MAX_STR = 2048
#: most list items / dict entries kept from untrusted structured data
MAX_ITEMS = 1000
#: deepest nesting kept from untrusted structured data
MAX_DEPTH = 12
#: most JSON bytes of one small member file read whole (config.json, MLmodel, schema.json)
MAX_SMALL_FILE = 16 * 1024 * 1024


class FormatError(ValueError):
    """The bytes do not follow the file format (malformed, truncated, wrong structure)."""


class LimitExceeded(ValueError):
    """A hostile or absurd value (count, length, size) exceeds a fixed cap."""


def one_line(exc: BaseException, limit: int = 300) -> str:
    """A clear one-line reason for ``exc`` (type and message, whitespace collapsed, truncated)."""
    if isinstance(exc, RecursionError):
        return "structure nested too deeply (recursion limit)"
    if isinstance(exc, MemoryError):
        return "out of memory while reading the file"
    msg = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clip(s: str, limit: int = MAX_STR) -> str:
    """``s`` cut to ``limit`` characters (with an ellipsis when cut)."""
    return s if len(s) <= limit else s[: limit - 3] + "..."


def product(dims: Iterable[int]) -> int:
    """Number of elements of a tensor of shape ``dims`` (1 for a scalar)."""
    return math.prod(int(d) for d in dims)


def check_count(what: str, n: int, cap: int) -> int:
    """``n`` itself when ``0 <= n <= cap``, else :class:`LimitExceeded` naming ``what``."""
    if n < 0 or n > cap:
        raise LimitExceeded(f"{what} {n} is outside the accepted range 0..{cap}")
    return n


def bounded(value: Any, *, depth: int = MAX_DEPTH, budget: list[int] | None = None) -> Any:
    """A plain JSON-able copy of untrusted parsed data (YAML, JSON) with bounded size.

    YAML aliases can make a tiny document expand to billions of nodes when copied or
    serialised ("billion laughs"); this copy visits at most ``MAX_ITEMS * 10`` nodes, keeps at
    most ``MAX_ITEMS`` entries per container, ``MAX_STR`` characters per string and
    ``depth`` levels, and turns anything else (dates, bytes) into strings.
    """
    if budget is None:
        budget = [MAX_ITEMS * 10]
    budget[0] -= 1
    if budget[0] < 0:
        return None
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return clip(value)
    if depth <= 0:
        return None
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(value.items()):
            if i >= MAX_ITEMS or budget[0] < 0:
                break
            out[clip(str(k), 256)] = bounded(v, depth=depth - 1, budget=budget)
        return out
    if isinstance(value, (list, tuple)):
        items = []
        for i, v in enumerate(value):
            if i >= MAX_ITEMS or budget[0] < 0:
                break
            items.append(bounded(v, depth=depth - 1, budget=budget))
        return items
    return clip(str(value))


def str_list(value: Any, limit: int = 100) -> list[str]:
    """A list of (clipped) strings from a YAML/JSON value that is a string or a list."""
    if value is None:
        return []
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [clip(str(value), 256)]
    if isinstance(value, (list, tuple)):
        out = []
        for v in value[:limit]:
            if isinstance(v, (str, int, float)) and not isinstance(v, bool):
                out.append(clip(str(v), 256))
            elif isinstance(v, dict) and isinstance(v.get("name"), str):
                out.append(clip(v["name"], 256))
        return out
    return []


def load_json(data: bytes, what: str) -> Any:
    """JSON from ``data``; a clear ``ValueError`` naming ``what`` on malformed input."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"{what} is not valid JSON ({e})") from None


def stem(filename: str) -> str:
    """File name without its last extension: ``model.onnx`` -> ``model``."""
    base = filename.rsplit("/", 1)[-1]
    head, dot, _ = base.rpartition(".")
    return head if dot and head else base
