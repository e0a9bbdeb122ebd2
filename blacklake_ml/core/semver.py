"""Semantic versions (semver 2.0) for version tags: parsing, precedence and ranges.

A version tag is named ``MAJOR.MINOR.PATCH`` with an optional ``v`` prefix and an optional
``-prerelease`` (``v1.2.3``, ``1.0.0-rc.1``). Build metadata (``+build``) is refused: ref
names cannot contain ``+``, and semver ignores it for precedence anyway. ``v1.2.3`` and
``1.2.3`` are the same version; the prefix is spelling only.

Ordering follows semver 2.0 precedence: numbers compare numerically; a prerelease sorts
before its release; prerelease identifiers compare one by one, numeric ones numerically and
below alphanumeric ones (compared in ASCII order), and a longer list wins when all shared
identifiers are equal.

Ranges use the npm/Cargo vocabulary most ML engineers already know:

* exact ``1.2.3`` / ``=1.2.3`` / ``v1.2.3-rc.1``; partial ``1.2`` and ``1`` mean ``1.2.x`` and
  ``1.x``;
* wildcards ``1.x``, ``1.2.*``, ``*``;
* caret ``^1.2.3`` (``>=1.2.3,<2.0.0``; below 1.0 the first non-zero number is the breaking
  one: ``^0.2.3`` is ``>=0.2.3,<0.3.0``), tilde ``~1.2.3`` (``>=1.2.3,<1.3.0``);
* comparators ``>=``, ``>``, ``<``, ``<=`` with full or partial versions, ANDed by ``,`` or
  spaces (``>=1.2,<2``), and alternatives ORed by ``||``.

Prereleases only match when asked: a prerelease version satisfies a range only if one of the
comparators it satisfies was written with a prerelease of the same ``MAJOR.MINOR.PATCH``
(``>=1.2.3-rc.1`` admits ``1.2.3-rc.2`` but not ``1.2.4-rc.1``), or when the caller passes
``prerelease=True``. This module is pure: no I/O, no dependencies.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from blacklake_ml.errors import InvalidVersion

_NUM = r"0|[1-9][0-9]*"
_IDENT = r"[0-9A-Za-z-]+"
VERSION_RE = re.compile(rf"v?({_NUM})\.({_NUM})\.({_NUM})(?:-({_IDENT}(?:\.{_IDENT})*))?")
_PARTIAL_RE = re.compile(
    r"v?(?P<major>\d+|[xX*])(?:\.(?P<minor>\d+|[xX*])(?:\.(?P<patch>\d+|[xX*])"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?)?)?")
_OPS = ("^", "~", ">=", "<=", ">", "<", "=")
MAX_RANGE_CHARS = 256
_HELP = ("use MAJOR.MINOR.PATCH with an optional 'v' prefix and an optional '-prerelease' "
         "(e.g. v1.2.3, 1.0.0-rc.1)")


@functools.total_ordering
@dataclass(frozen=True)
class Version:
    """A parsed semantic version. Equality and ordering are semver precedence."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @property
    def is_prerelease(self) -> bool:
        """True for ``1.0.0-rc.1`` and the like."""
        return bool(self.prerelease)

    @property
    def core(self) -> tuple[int, int, int]:
        """``(major, minor, patch)``."""
        return self.major, self.minor, self.patch

    def _key(self) -> tuple[int, int, int, tuple[tuple[int, int | str], ...]]:
        # A release sorts after every prerelease of its triple: (1,) > (0, ...). Within a
        # prerelease, numeric identifiers (0, n) sort before alphanumeric ones (1, s), and a
        # tuple that extends another sorts after it, which is the semver rule.
        pre: tuple[tuple[int, int | str], ...]
        if self.prerelease:
            pre = ((0, 0), *((0, int(p)) if p.isdigit() else (1, p) for p in self.prerelease))
        else:
            pre = ((1, 0),)
        return self.major, self.minor, self.patch, pre

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core


def _check_prerelease(text: str, pre: str | None) -> tuple[str, ...]:
    if not pre:
        return ()
    ids = tuple(pre.split("."))
    for ident in ids:
        if ident.isdigit() and len(ident) > 1 and ident.startswith("0"):
            raise InvalidVersion(f"invalid version {text!r}: numeric prerelease identifiers "
                                 "must not have leading zeros")
    return ids


def parse(text: str) -> Version:
    """Parse a version name (``v1.2.3``, ``1.2.3-rc.1``); raise :class:`InvalidVersion`."""
    if not isinstance(text, str):
        raise InvalidVersion(f"version must be a string, not {type(text).__name__}")
    if "+" in text:
        raise InvalidVersion(f"invalid version {text!r}: build metadata ('+...') is not "
                             "supported in version names (ref names cannot contain '+'); use a "
                             "prerelease such as '-rc.1' instead")
    m = VERSION_RE.fullmatch(text)
    if m is None:
        if re.fullmatch(r"v?\d+\.\d+\.\d+(-.*)?", text):
            if re.match(r"v?(\d+\.)*0\d", text):
                raise InvalidVersion(f"invalid version {text!r}: numbers must not have "
                                     "leading zeros")
            raise InvalidVersion(f"invalid version {text!r}: a prerelease is one or more "
                                 "non-empty identifiers of [0-9A-Za-z-] separated by '.'")
        raise InvalidVersion(f"invalid version {text!r}: {_HELP}")
    return Version(int(m[1]), int(m[2]), int(m[3]), _check_prerelease(text, m[4]))


def is_version(text: str) -> bool:
    """True if ``text`` parses as a version name (a tag with such a name is a version)."""
    try:
        parse(text)
    except InvalidVersion:
        return False
    return True


# -- ranges ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparator:
    """One primitive condition ``<op> <version>``; ``op`` is ``= > >= < <=``.

    ``admits_prerelease`` is set when the user wrote a prerelease on this comparator's
    version: only then may prereleases of the same triple match (see the module docstring).
    """

    op: str
    version: Version
    admits_prerelease: bool = False

    def test(self, v: Version) -> bool:
        """Whether ``v`` satisfies this comparator by precedence alone."""
        w = self.version
        if self.op == "=":
            return v == w
        if self.op == ">":
            return v > w
        if self.op == ">=":
            return v >= w
        if self.op == "<":
            return v < w
        return v <= w


@dataclass(frozen=True)
class Range:
    """A parsed version range: alternatives (``||``) of comparator sets (all must hold)."""

    text: str
    alternatives: tuple[tuple[Comparator, ...], ...]

    def matches(self, v: Version, *, prerelease: bool = False) -> bool:
        """Whether ``v`` is in the range (prereleases only when asked, see module doc)."""
        for comparators in self.alternatives:
            if not all(c.test(v) for c in comparators):
                continue
            if not v.is_prerelease or prerelease:
                return True
            if any(c.admits_prerelease and c.version.core == v.core for c in comparators):
                return True
        return False

    def best(self, versions: Iterable[Version], *, prerelease: bool = False
             ) -> Version | None:
        """The highest of ``versions`` in the range, or None."""
        return max((v for v in versions if self.matches(v, prerelease=prerelease)),
                   default=None)


def _lowest(major: int, minor: int, patch: int) -> Version:
    # "-0" is the lowest possible prerelease of a triple: "< X.Y.Z-0" excludes X.Y.Z's
    # prereleases too, so "^1.2" never admits 2.0.0-rc.1 even with prerelease=True.
    return Version(major, minor, patch, ("0",))


def _number(text: str | None) -> int | None:
    if text is None or text in ("x", "X", "*"):
        return None
    if len(text) > 1 and text.startswith("0"):
        raise InvalidVersion(f"invalid number {text!r} in version range: leading zeros")
    return int(text)


def _comparators(op: str, body: str, spec: str) -> list[Comparator]:
    m = _PARTIAL_RE.fullmatch(body)
    if m is None:
        raise InvalidVersion(f"invalid version range {spec!r}: cannot read {op + body!r}")
    major, minor, patch = (_number(m[k]) for k in ("major", "minor", "patch"))
    if (major is None and (minor is not None or patch is not None)) or \
            (minor is None and patch is not None):
        raise InvalidVersion(f"invalid version range {spec!r}: a wildcard can only be "
                             f"followed by wildcards in {body!r}")
    pre = _check_prerelease(spec, m["pre"])
    if major is None:  # '*', 'x', '^*', '>=*', ...
        if op in (">", "<"):
            raise InvalidVersion(f"invalid version range {spec!r}: {op + body!r} matches "
                                 "nothing")
        return []
    if minor is None:
        lo, hi = Version(major, 0, 0), _lowest(major + 1, 0, 0)
    elif patch is None:
        lo = Version(major, minor, 0)
        hi = _lowest(major, minor + 1, 0) if op != "^" or major == 0 \
            else _lowest(major + 1, 0, 0)
    else:
        v = Version(major, minor, patch, pre)
        ge = Comparator(">=", v, bool(pre))
        if op in ("", "="):
            return [Comparator("=", v, bool(pre))]
        if op == "^":
            if major:
                return [ge, Comparator("<", _lowest(major + 1, 0, 0))]
            if minor:
                return [ge, Comparator("<", _lowest(0, minor + 1, 0))]
            return [ge, Comparator("<", _lowest(0, 0, patch + 1))]
        if op == "~":
            return [ge, Comparator("<", _lowest(major, minor + 1, 0))]
        return [Comparator(op, v, bool(pre))]
    # A partial version X or X.Y stands for the whole span [lo, hi).
    if op in ("", "=", "^", "~"):
        if op == "~" and minor is None:
            hi = _lowest(major + 1, 0, 0)
        return [Comparator(">=", lo), Comparator("<", hi)]
    if op == ">=":
        return [Comparator(">=", lo)]
    if op == ">":
        return [Comparator(">=", Version(hi.major, hi.minor, hi.patch))]
    if op == "<":
        return [Comparator("<", _lowest(lo.major, lo.minor, lo.patch))]
    return [Comparator("<", hi)]  # "<="


def parse_range(spec: str) -> Range:
    """Parse a version range (see the module docstring); raise :class:`InvalidVersion`."""
    if not isinstance(spec, str):
        raise InvalidVersion(f"version range must be a string, not {type(spec).__name__}")
    if not spec.strip():
        raise InvalidVersion("empty version range")
    if len(spec) > MAX_RANGE_CHARS:
        raise InvalidVersion(f"version range longer than {MAX_RANGE_CHARS} characters")
    if "+" in spec:
        raise InvalidVersion(f"invalid version range {spec!r}: build metadata ('+') is not "
                             "supported")
    alternatives: list[tuple[Comparator, ...]] = []
    for alternative in spec.split("||"):
        # Glue an operator to its version ("> = 1.2" is not accepted, ">= 1.2" is).
        tokens = re.sub(r"(\^|~|>=|<=|>|<|=)\s+", r"\1", alternative.strip())
        parts = [p for p in re.split(r"[\s,]+", tokens) if p]
        if not parts:
            raise InvalidVersion(f"invalid version range {spec!r}: empty alternative")
        comparators: list[Comparator] = []
        for part in parts:
            op = next((o for o in _OPS if part.startswith(o)), "")
            comparators.extend(_comparators(op, part[len(op):], spec))
        alternatives.append(tuple(comparators))
    return Range(spec, tuple(alternatives))
