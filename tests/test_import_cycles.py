"""No import cycle between modules beyond the known ones (scripts/check_import_cycles.py).

Lazy (function-local) and ``TYPE_CHECKING`` imports count. The known cycles are listed in
``scripts/import_cycles_allowed.txt``; a new cycle fails here, and so does a listed one that
no longer exists as listed (the list only shrinks).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_import_cycles",
                                                  SCRIPTS / "check_import_cycles.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is made
    spec.loader.exec_module(mod)
    return mod


cic = _load()


def test_no_new_import_cycles_and_the_allowlist_is_current() -> None:
    allowed = cic.read_allowlist(SCRIPTS / "import_cycles_allowed.txt")
    report = cic.check(cic.find_cycles(), allowed)
    assert report.ok, cic.format_report(report, "scripts/import_cycles_allowed.txt")


def _write_pkg(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_type_checking_and_function_local_imports_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_pkg(tmp_path, {
        "cyc_pkg/__init__.py": "",
        "cyc_pkg/a.py": ("from typing import TYPE_CHECKING\n"
                         "if TYPE_CHECKING:\n"
                         "    from cyc_pkg.b import B\n"),
        "cyc_pkg/b.py": "class B:\n    def f(self):\n        from cyc_pkg import c\n",
        "cyc_pkg/c.py": "import cyc_pkg.a\n",
        "cyc_pkg/d.py": "import cyc_pkg.a\n",  # imports into the cycle, not part of it
    })
    monkeypatch.syspath_prepend(str(tmp_path))
    cycles = cic.find_cycles("cyc_pkg")
    assert [c.key for c in cycles] == ["cyc_pkg.a,cyc_pkg.b,cyc_pkg.c"]
    kinds = {(i.importer, i.imported): i.kind for i in cycles[0].imports}
    assert kinds == {("cyc_pkg.a", "cyc_pkg.b"): "type-checking",
                     ("cyc_pkg.b", "cyc_pkg.c"): "function",
                     ("cyc_pkg.c", "cyc_pkg.a"): "module"}

    assert cic.check(cycles, [cycles[0].key]).ok
    new = cic.check(cycles, [])
    assert new.new == ("cyc_pkg.a,cyc_pkg.b,cyc_pkg.c",) and not new.stale
    stale = cic.check(cycles, [cycles[0].key, "cyc_pkg.c,cyc_pkg.d"])
    assert stale.stale == ("cyc_pkg.c,cyc_pkg.d",) and not stale.ok
    shrunk = cic.check(cycles, ["cyc_pkg.a,cyc_pkg.b,cyc_pkg.c,cyc_pkg.d"])
    assert shrunk.new and shrunk.stale


def test_strongly_connected_components() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"a"},
             "g": set()}
    comps = sorted(cic.strongly_connected_components(graph))
    assert comps == [["a", "b", "c"], ["d", "e"], ["f"], ["g"]]
    # a long chain: no recursion limit
    chain = {str(i): {str(i + 1)} for i in range(5000)}
    chain["5000"] = {"0"}
    assert len(cic.strongly_connected_components(chain)) == 1


def test_allowlist_lines_are_normalised(tmp_path: Path) -> None:
    f = tmp_path / "allowed.txt"
    f.write_text("# comment\n\n b.y , a.x  # why\n")
    assert cic.read_allowlist(f) == ["a.x,b.y"]
