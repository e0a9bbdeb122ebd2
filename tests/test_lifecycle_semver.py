"""Semantic versions (``blacklake_ml.core.semver``): parsing, precedence and ranges.

Precedence is checked against the examples of the semver 2.0 specification and, with
hypothesis, against an independent comparator written straight from the specification's
rules; ranges against their definitions (``^``, ``~``, comparators, wildcards).
"""

from __future__ import annotations

import functools
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from blacklake_ml.core.semver import Version, is_version, parse, parse_range
from blacklake_ml.errors import InvalidInput, InvalidVersion


# -- parsing --------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ("1.2.3", Version(1, 2, 3)),
    ("v1.2.3", Version(1, 2, 3)),
    ("0.0.0", Version(0, 0, 0)),
    ("10.20.30", Version(10, 20, 30)),
    ("1.0.0-rc.1", Version(1, 0, 0, ("rc", "1"))),
    ("v2.0.0-alpha-beta.0.x-y", Version(2, 0, 0, ("alpha-beta", "0", "x-y"))),
    ("1.0.0-0A.is.legal", Version(1, 0, 0, ("0A", "is", "legal"))),
    ("99999999999999999999.0.0", Version(99999999999999999999, 0, 0)),
])
def test_parse_valid(text: str, expected: Version) -> None:
    assert parse(text) == expected
    assert is_version(text)


@pytest.mark.parametrize("text,why", [
    ("1.2", "MAJOR.MINOR.PATCH"),
    ("1", "MAJOR.MINOR.PATCH"),
    ("V1.2.3", "MAJOR.MINOR.PATCH"),
    ("vv1.2.3", "MAJOR.MINOR.PATCH"),
    ("1.2.3.4", "MAJOR.MINOR.PATCH"),
    ("01.2.3", "leading zeros"),
    ("1.02.3", "leading zeros"),
    ("1.2.03", "leading zeros"),
    ("1.2.3-01", "leading zeros"),
    ("1.2.3-", "prerelease"),
    ("1.2.3-a..b", "prerelease"),
    ("1.2.3-a_b", "prerelease"),
    ("1.2.3+build.5", "build metadata"),
    ("1.2.3-rc.1+b", "build metadata"),
    (" 1.2.3", "MAJOR.MINOR.PATCH"),
    ("", "MAJOR.MINOR.PATCH"),
    ("latest", "MAJOR.MINOR.PATCH"),
])
def test_parse_invalid(text: str, why: str) -> None:
    with pytest.raises(InvalidVersion, match=why) as info:
        parse(text)
    assert isinstance(info.value, InvalidInput) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)
    assert not is_version(text)


def test_parse_rejects_non_strings() -> None:
    with pytest.raises(InvalidVersion):
        parse(123)  # type: ignore[arg-type]


def test_str_is_canonical_without_prefix() -> None:
    assert str(parse("v1.2.3-rc.1")) == "1.2.3-rc.1"
    assert str(parse("1.2.3")) == "1.2.3"
    assert parse("v1.2.3") == parse("1.2.3")
    assert hash(parse("v1.2.3")) == hash(parse("1.2.3"))


# -- precedence -----------------------------------------------------------------------------
SPEC_ORDER = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
              "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.9.0", "1.10.0",
              "1.11.0", "2.0.0", "2.1.0", "2.1.1"]


def test_spec_examples_are_in_precedence_order() -> None:
    versions = [parse(v) for v in SPEC_ORDER]
    for a, b in itertools.pairwise(versions):
        assert a < b and b > a and a != b and a <= b and not b <= a
    shuffled = versions[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled) == versions


def _spec_compare(a: Version, b: Version) -> int:
    """Precedence as semver 2.0 section 11 words it (independent of Version._key)."""
    for x, y in ((a.major, b.major), (a.minor, b.minor), (a.patch, b.patch)):
        if x != y:
            return -1 if x < y else 1
    if not a.prerelease or not b.prerelease:
        if a.prerelease == b.prerelease:
            return 0
        return -1 if a.prerelease else 1  # a prerelease has lower precedence
    for x, y in zip(a.prerelease, b.prerelease):
        if x == y:
            continue
        xn, yn = x.isdigit(), y.isdigit()
        if xn and yn:
            return -1 if int(x) < int(y) else 1
        if xn != yn:
            return -1 if xn else 1  # numeric identifiers have lower precedence
        return -1 if x < y else 1  # ASCII order
    if len(a.prerelease) == len(b.prerelease):
        return 0
    return -1 if len(a.prerelease) < len(b.prerelease) else 1


_numeric_id = st.integers(0, 30).map(str)
_alnum_id = st.text("abrcz-0", min_size=1, max_size=4).filter(
    lambda s: not (s.isdigit() and len(s) > 1 and s.startswith("0")))
versions = st.builds(
    Version, st.integers(0, 3), st.integers(0, 3), st.integers(0, 3),
    st.lists(st.one_of(_numeric_id, _alnum_id), max_size=3).map(tuple))
releases = st.builds(Version, st.integers(0, 4), st.integers(0, 4), st.integers(0, 4))


@settings(max_examples=400, deadline=None)
@given(versions, versions)
def test_ordering_matches_the_spec_rules(a: Version, b: Version) -> None:
    expected = _spec_compare(a, b)
    assert (a < b) == (expected < 0)
    assert (a > b) == (expected > 0)
    assert (a == b) == (expected == 0)
    assert (a <= b) == (expected <= 0)


@settings(max_examples=200, deadline=None)
@given(versions, versions, versions)
def test_ordering_is_transitive_and_antisymmetric(a: Version, b: Version, c: Version) -> None:
    if a <= b <= c:
        assert a <= c
    if a <= b <= a:
        assert a == b
    assert (a < b) + (a == b) + (a > b) == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(versions, max_size=12), st.randoms(use_true_random=False))
def test_sorting_is_independent_of_input_order(vs: list[Version], rnd: random.Random) -> None:
    shuffled = vs[:]
    rnd.shuffle(shuffled)
    assert sorted(shuffled) == sorted(vs) == sorted(vs, key=functools.cmp_to_key(_spec_compare))


@settings(max_examples=200, deadline=None)
@given(versions, st.booleans())
def test_text_round_trip(v: Version, prefix: bool) -> None:
    text = ("v" if prefix else "") + str(v)
    assert parse(text) == v
    assert str(parse(text)) == str(v)


@settings(max_examples=200, deadline=None)
@given(versions)
def test_a_prerelease_sorts_below_its_release(v: Version) -> None:
    release = Version(v.major, v.minor, v.patch)
    if v.prerelease:
        assert v < release
    assert not release.is_prerelease


# -- ranges ---------------------------------------------------------------------------------
def _names(spec: str, candidates: list[str], prerelease: bool = False) -> list[str]:
    r = parse_range(spec)
    return [c for c in candidates if r.matches(parse(c), prerelease=prerelease)]


CANDIDATES = ["0.1.0", "0.1.5", "0.2.0", "1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0",
              "1.9.9", "2.0.0-rc.1", "2.0.0", "2.1.0", "3.0.0"]


@pytest.mark.parametrize("spec,expected", [
    ("^1.2", ["1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
    ("^1.2.3", ["1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
    ("^1", ["1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
    ("^0.1.2", ["0.1.5"]),
    ("^0.1", ["0.1.0", "0.1.5"]),
    ("~1.2.3", ["1.2.3", "1.2.9"]),
    ("~1.2", ["1.2.0", "1.2.3", "1.2.9"]),
    ("~1", ["1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
    (">=1.2,<2", ["1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
    (">=1.2 <2", ["1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
    (">= 1.2, < 2", ["1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
    (">1.2", ["1.3.0", "1.9.9", "2.0.0", "2.1.0", "3.0.0"]),
    (">1.2.3", ["1.2.9", "1.3.0", "1.9.9", "2.0.0", "2.1.0", "3.0.0"]),
    ("<=1.2", ["0.1.0", "0.1.5", "0.2.0", "1.0.0", "1.2.0", "1.2.3", "1.2.9"]),
    ("<1.2", ["0.1.0", "0.1.5", "0.2.0", "1.0.0"]),
    ("1.x", ["1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.9"]),
    ("1.2.*", ["1.2.0", "1.2.3", "1.2.9"]),
    ("1.2", ["1.2.0", "1.2.3", "1.2.9"]),
    ("*", [c for c in CANDIDATES if "-" not in c]),
    ("1.2.3", ["1.2.3"]),
    ("=v1.2.3", ["1.2.3"]),
    ("<1 || >=3", ["0.1.0", "0.1.5", "0.2.0", "3.0.0"]),
    ("2.0.0-rc.1", ["2.0.0-rc.1"]),
    (">=2.0.0-rc.1", ["2.0.0-rc.1", "2.0.0", "2.1.0", "3.0.0"]),
    ("^4", []),
])
def test_range_examples(spec: str, expected: list[str]) -> None:
    assert _names(spec, CANDIDATES) == expected


def test_prereleases_only_match_when_asked() -> None:
    pres = ["1.2.3-rc.1", "1.2.4-rc.1", "2.0.0-rc.1"]
    assert _names("^1.2", pres) == []
    assert _names(">=1.2.3-rc.0", pres) == ["1.2.3-rc.1"]  # same triple only
    assert _names("^1.2", pres, prerelease=True) == ["1.2.3-rc.1", "1.2.4-rc.1"]
    # "^1.2" ends below 2.0.0's prereleases even when prereleases are allowed.
    assert _names("<2", pres, prerelease=True) == ["1.2.3-rc.1", "1.2.4-rc.1"]


def test_best_picks_the_highest_match() -> None:
    vs = [parse(v) for v in CANDIDATES]
    assert str(parse_range("^1").best(vs)) == "1.9.9"
    assert str(parse_range("*").best(vs)) == "3.0.0"
    assert str(parse_range("*").best(vs, prerelease=True)) == "3.0.0"
    assert parse_range("^7").best(vs) is None


@pytest.mark.parametrize("spec", ["", "   ", "foo", "^", ">=", ">*", "<x", "1.x.3", "x.1",
                                  "1.2.3 - 2.0.0", "^1.2.3+b", "01.2", "||", "1 ||",
                                  "~>1.2", "x" * 300])
def test_invalid_ranges(spec: str) -> None:
    with pytest.raises(InvalidVersion):
        parse_range(spec)


@settings(max_examples=300, deadline=None)
@given(releases, releases)
def test_caret_is_compatible_within_the_first_nonzero_number(base: Version, v: Version
                                                            ) -> None:
    if base.major:
        upper = Version(base.major + 1, 0, 0)
    elif base.minor:
        upper = Version(0, base.minor + 1, 0)
    else:
        upper = Version(0, 0, base.patch + 1)
    assert parse_range(f"^{base}").matches(v) == (base <= v < upper)


@settings(max_examples=300, deadline=None)
@given(releases, releases)
def test_tilde_allows_patch_updates(base: Version, v: Version) -> None:
    upper = Version(base.major, base.minor + 1, 0)
    assert parse_range(f"~{base}").matches(v) == (base <= v < upper)


@settings(max_examples=300, deadline=None)
@given(releases, releases, releases)
def test_comparators_are_anded(lo: Version, hi: Version, v: Version) -> None:
    assert parse_range(f">={lo},<{hi}").matches(v) == (lo <= v < hi)
    assert parse_range(f">{lo} <={hi}").matches(v) == (lo < v <= hi)
    assert parse_range(f"<{lo} || >{hi}").matches(v) == (v < lo or v > hi)


@settings(max_examples=300, deadline=None)
@given(versions, versions)
def test_a_prerelease_never_matches_a_release_only_range(base: Version, v: Version) -> None:
    release = Version(base.major, base.minor, base.patch)
    if v.prerelease:
        for spec in (f"^{release}", f"~{release}", f">={release}", "*", f"{release.major}.x"):
            assert not parse_range(spec).matches(v)
