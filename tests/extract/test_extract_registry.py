"""The registry: entry-point discovery, plugin failures, the error fence, fact bounding."""

from __future__ import annotations

import json
import logging
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest

from blacklake_ml.extract import registry
from blacklake_ml.extract.base import (
    DirExtractor,
    DirView,
    Facts,
    FileExtractor,
    NotApplicable,
    Source,
)
from blacklake_ml.extract.local import BytesSource, LocalDirView

BUILTIN_NAMES = set(registry.BUILTINS)


class Boom(FileExtractor):
    """Matches ``.boom`` files and raises what the file says."""

    name = "boom"
    priority = 100

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.endswith(".boom")

    def extract(self, src: Source) -> dict[str, Any]:
        kind = src.read(0, src.size).decode()
        if kind == "recursion":
            def down(n: int) -> int:
                return down(n + 1)
            down(0)
        if kind == "memory":
            raise MemoryError
        if kind == "notapplicable":
            raise NotApplicable
        if kind == "multiline":
            raise ValueError("first line\nsecond line\n" + "x" * 1000)
        if kind == "huge":
            return {"kind": "model", "big_int": 2**80, "nan": float("nan"),
                    "details": {"blob": "y" * (2 * registry.MAX_FACTS_JSON), "small": 1}}
        return {"kind": "model", "said": kind}


class Fallback(FileExtractor):
    """Lower-priority extractor for ``.boom`` files: runs when Boom is not applicable."""

    name = "fallback"
    priority = 1

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.endswith(".boom")

    def extract(self, src: Source) -> dict[str, Any]:
        return {"kind": "dataset", "by": "fallback"}


class BadMatcher(FileExtractor):
    """A plugin whose matches() is buggy: treated as no match, never an exception."""

    name = "badmatcher"
    priority = 50

    def matches(self, filename: str, head: bytes) -> bool:
        raise RuntimeError("bug in plugin")

    def extract(self, src: Source) -> dict[str, Any]:  # pragma: no cover - never matched
        raise AssertionError


class Folder(DirExtractor):
    """Directories with a ``marker`` file."""

    name = "folder"

    def matches(self, entries: list[tuple[str, str, int]]) -> bool:
        return any(n == "marker" for n, _, _ in entries)

    def extract(self, d: DirView) -> dict[str, Any]:
        return {"kind": "dataset", "files": len(d.entries(""))}


def _ep(name: str, target: str) -> EntryPoint:
    return EntryPoint(name=name, value=target, group=registry.GROUP)


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the installed entry points by this module's plugins plus two broken ones."""
    mod = __name__
    eps = [_ep("boom", f"{mod}:Boom"), _ep("fallback", f"{mod}:Fallback"),
           _ep("badmatcher", f"{mod}:BadMatcher"), _ep("folder", f"{mod}:Folder"),
           _ep("missing", "no_such_module_xyz:Thing"), _ep("notone", f"{mod}:_ep")]
    monkeypatch.setattr(registry, "_group_entry_points", lambda group: eps)
    monkeypatch.setattr(registry, "BUILTINS", {})
    registry.reset_cache()


def test_builtins_are_registered_as_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group=registry.GROUP)}
    if not names >= BUILTIN_NAMES:
        pytest.skip("installed metadata predates the extractors: reinstall (pip install -e .)")
    for ep in entry_points(group=registry.GROUP):
        if ep.name in BUILTIN_NAMES:
            assert ep.value == registry.BUILTINS[ep.name]
    assert set(registry.extractor_versions()) >= BUILTIN_NAMES


def test_extractor_versions_are_ints_per_name() -> None:
    versions = registry.extractor_versions()
    assert set(versions) >= BUILTIN_NAMES
    assert all(isinstance(v, int) and v >= 1 for v in versions.values())


def test_broken_plugins_are_skipped_with_a_warning(plugins: None,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=registry.__name__):
        versions = registry.extractor_versions()
    assert set(versions) == {"boom", "fallback", "badmatcher", "folder"}
    text = caplog.text
    assert "missing" in text and "no_such_module_xyz" in text
    assert "notone" in text


def test_priority_and_bad_matchers(plugins: None) -> None:
    ext = registry.file_extractor_for("x.boom", b"")
    assert ext is not None and ext.name == "boom"
    assert registry.file_extractor_for("x.txt", b"") is None


def test_extract_returns_facts(plugins: None) -> None:
    f = registry.extract_file(BytesSource("a.boom", b"hello"))
    assert f == Facts(extractor="boom", facts={"kind": "model", "said": "hello"})
    assert registry.extract_file(BytesSource("a.unknown", b"hello")) is None


def test_not_applicable_falls_through(plugins: None) -> None:
    f = registry.extract_file(BytesSource("a.boom", b"notapplicable"))
    assert f is not None and f.extractor == "fallback" and f.facts["by"] == "fallback"


@pytest.mark.parametrize("kind, expect", [
    ("recursion", "nested too deeply"),
    ("memory", "out of memory"),
    ("multiline", "ValueError: first line second line"),
])
def test_every_failure_becomes_a_one_line_error(plugins: None, kind: str, expect: str) -> None:
    f = registry.extract_file(BytesSource("a.boom", kind.encode()))
    assert f is not None and f.extractor == "boom"
    assert f.error is not None and expect in f.error
    assert "\n" not in f.error and len(f.error) <= 300
    assert f.to_json()["error"] == f.error


def test_facts_are_bounded_plain_json(plugins: None) -> None:
    f = registry.extract_file(BytesSource("a.boom", b"huge"))
    assert f is not None and f.error is None
    text = json.dumps(f.to_json(), allow_nan=False)  # strict JSON: no NaN
    assert len(text) <= registry.MAX_FACTS_JSON
    assert f.facts["big_int"] == str(2**80) and f.facts["nan"] is None
    assert f.facts["details"]["small"] == 1
    assert f.facts["details"]["dropped_for_size"] == ["blob"]


def test_unreadable_source_is_an_error_not_an_exception(plugins: None) -> None:
    class Broken:
        name, size = "x.boom", 10

        def read(self, start: int, end: int) -> bytes:
            raise OSError("disk on fire")

    f = registry.extract_file(Broken())
    assert f is not None and f.error is not None and "disk on fire" in f.error


def test_dir_extraction(plugins: None, tmp_path: Path) -> None:
    (tmp_path / "marker").write_text("x")
    (tmp_path / "other").write_text("y")
    view = LocalDirView(tmp_path)
    assert registry.dir_extractor_for(view.entries()) is not None
    f = registry.extract_dir(view)
    assert f == Facts(extractor="folder", facts={"kind": "dataset", "files": 2})
    (tmp_path / "marker").unlink()
    assert registry.extract_dir(LocalDirView(tmp_path)) is None


def test_builtins_load_without_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stale install metadata (no entry points) still yields every built-in extractor."""
    monkeypatch.setattr(registry, "_group_entry_points", lambda group: [])
    registry.reset_cache()
    assert set(registry.extractor_versions()) == BUILTIN_NAMES


@pytest.mark.parametrize("group", ["blacklake_ml.extractors", "console_scripts",
                                   "fsspec.specs", "no.such.group"])
def test_group_entry_points_match_importlib_metadata(group: str) -> None:
    """The registry's light scan of installed metadata finds what importlib.metadata does."""
    from importlib.metadata import entry_points

    from blacklake_ml.extract.registry import _group_entry_points

    ours = sorted((e.name, e.value) for e in _group_entry_points(group))
    theirs = sorted((e.name, e.value) for e in entry_points(group=group))
    assert ours == theirs
