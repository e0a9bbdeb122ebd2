"""Strict parsing of the HTTP ``Range`` request header (RFC 9110 §14).

What the gateway does with each kind of header (documented in docs/rest-api.md's gateway
section and tested in tests/test_gateway.py):

* no header, or an empty one: the whole body (``200``);
* a range unit other than ``bytes``: ignored, the whole body — RFC 9110 §14.2: an origin
  server MUST ignore a Range header with a unit it does not understand;
* one well-formed ``bytes=`` range (``first-last``, ``first-``, ``-suffix``) that overlaps the
  body: that part (``206``); ``last`` past the end is clipped to the end;
* one well-formed range that does not overlap the body (``first`` at or past the end, a
  zero-length suffix, any range of an empty body): ``416`` with ``Content-Range: bytes */SIZE``;
* several well-formed ranges (``bytes=0-1,5-9``): ignored, the whole body (§14.2 allows a
  server to ignore a Range header; none of our clients asks for several ranges, and
  ``multipart/byteranges`` answers are a large surface for nothing);
* anything malformed — no ``=``, an empty range set, a spec that is not one of the three
  forms, ``last`` below ``first``, a number of more than :data:`MAX_DIGITS` digits, or more
  than :data:`MAX_RANGES` specs: ``416`` as well (§14.2 allows rejecting an invalid
  ranges-specifier; an explicit refusal tells a broken client more than a surprise full body).

Numbers are ASCII digits only (``\\d`` would take other scripts' digits, which ``int()``
accepts) and bounded *before* conversion: ``int()`` of a few thousand digits raises (Python's
integer-string limit), which is how ``bytes=0-<5000 digits>`` used to become a 500.
"""

from __future__ import annotations

import re

#: longest position accepted (19 digits hold any offset below 2**63, far beyond any body)
MAX_DIGITS = 19
#: most specs in one range set; more is refused as malformed, not parsed (cheap DoS guard)
MAX_RANGES = 100

_INT_RANGE = re.compile(rf"([0-9]{{1,{MAX_DIGITS}}})-([0-9]{{0,{MAX_DIGITS}}})")
_SUFFIX_RANGE = re.compile(rf"-([0-9]{{1,{MAX_DIGITS}}})")


class RangeNotSatisfiable(ValueError):
    """The ``Range`` header is malformed or selects nothing of the body: answer ``416``
    with ``Content-Range: bytes */SIZE``."""


def _spec(spec: str, size: int) -> tuple[int, int]:
    """``(start, end_exclusive)`` of one range spec (already stripped)."""
    m = _INT_RANGE.fullmatch(spec)
    if m is not None:
        first = int(m.group(1))
        last = int(m.group(2)) if m.group(2) else None
        if last is not None and last < first:
            raise RangeNotSatisfiable(f"malformed range {spec!r}: last byte before first")
        if first >= size:
            raise RangeNotSatisfiable(f"range {spec!r} starts past a body of {size} bytes")
        return first, size if last is None else min(last + 1, size)
    m = _SUFFIX_RANGE.fullmatch(spec)
    if m is not None:
        n = int(m.group(1))
        if n == 0 or size == 0:
            raise RangeNotSatisfiable(f"suffix range {spec!r} selects nothing of a body of "
                                      f"{size} bytes")
        return max(0, size - n), size
    raise RangeNotSatisfiable(f"malformed range {spec[:40]!r}")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` of the one byte range to send, or None for the whole body.

    Raises :class:`RangeNotSatisfiable` for an unsatisfiable or malformed header (see the
    module docstring for every case).
    """
    if not header or not header.strip():
        return None
    unit, eq, rest = header.strip().partition("=")
    if not eq:
        raise RangeNotSatisfiable(f"malformed Range header {header[:40]!r}")
    if unit.strip().lower() != "bytes":
        return None  # a unit we do not understand: ignored (RFC 9110 §14.2)
    if rest.count(",") >= MAX_RANGES:
        raise RangeNotSatisfiable(f"more than {MAX_RANGES} ranges")
    specs = [s.strip() for s in rest.split(",")]
    specs = [s for s in specs if s]  # a #list may hold empty elements (RFC 9110 §5.6.1)
    if not specs:
        raise RangeNotSatisfiable("empty range set")
    if len(specs) > 1:
        # Validate the syntax of each, so malformed input is refused the same way whatever
        # its position; satisfiability does not matter since the header is then ignored.
        for spec in specs:
            if not (_INT_RANGE.fullmatch(spec) or _SUFFIX_RANGE.fullmatch(spec)):
                raise RangeNotSatisfiable(f"malformed range {spec[:40]!r}")
            m = _INT_RANGE.fullmatch(spec)
            if m is not None and m.group(2) and int(m.group(2)) < int(m.group(1)):
                raise RangeNotSatisfiable(f"malformed range {spec!r}: last byte before first")
        return None  # several ranges: ignored, the whole body (see the module docstring)
    return _spec(specs[0], size)


__all__ = ["MAX_DIGITS", "MAX_RANGES", "RangeNotSatisfiable", "parse_range"]
