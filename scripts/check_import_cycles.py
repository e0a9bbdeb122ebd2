"""Fail on import cycles between the modules of ``blacklake_ml`` (project issue 13).

Every import counts: module-level ones, those under ``if TYPE_CHECKING:`` and those inside
functions. A cycle hidden by a lazy import is still a cycle in the design (two modules that
each need the other), it just fails later and only on some code paths. The graph comes from
grimp (the library under ``lint-imports``), built with ``exclude_type_checking_imports=False``;
grimp records function-local imports too. The cycles are the strongly connected components of
that graph with more than one module (or a module importing itself)::

    python scripts/check_import_cycles.py                 # every cycle, exit 1 if any
    python scripts/check_import_cycles.py --json          # the same as JSON
    python scripts/check_import_cycles.py --allow scripts/import_cycles_allowed.txt

``--allow FILE`` lists the known cycles still being removed, one line per component: its
modules sorted and comma-joined (``#`` comments and blank lines ignored). Then the exit status
is 1 only for a cycle not listed *or* a listed cycle that no longer exists exactly as listed
(removed, shrunk or grown), so the list can only shrink and never goes stale. Each cycle is
printed with the import statements between its modules (file:line, and whether the import is
at module level, under TYPE_CHECKING or inside a function): removing enough of them breaks it.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "blacklake_ml"


@dataclass(frozen=True)
class ImportLine:
    importer: str
    imported: str
    path: str  # the importer's file, relative to the repository root
    line_number: int
    line_contents: str
    kind: str  # "module", "type-checking" or "function"


@dataclass(frozen=True)
class Cycle:
    modules: tuple[str, ...]  # sorted
    imports: tuple[ImportLine, ...] = field(default=())

    @property
    def key(self) -> str:
        """The allowlist line for this cycle."""
        return ",".join(self.modules)


@dataclass(frozen=True)
class Report:
    cycles: tuple[Cycle, ...]
    new: tuple[str, ...]  # keys of cycles not in the allowlist
    stale: tuple[str, ...]  # allowlist keys that are no longer a cycle exactly

    @property
    def ok(self) -> bool:
        return not self.new and not self.stale


def strongly_connected_components(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit on deep import chains)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    succ = {v: sorted(ws) for v, ws in graph.items()}
    for root in sorted(succ):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on_stack.add(v)
            children = succ.get(v, [])
            if i < len(children):
                work.append((v, i + 1))
                w = children[i]
                if w not in index:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            if low[v] == index[v]:
                component: list[str] = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                components.append(sorted(component))
            if work:  # back in the parent: fold the child's low-link into it
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return components


def _module_path(package_dir: Path, package: str, module: str) -> Path:
    rel = Path(*module.split(".")[1:]) if module != package else Path()
    candidate = package_dir / rel
    return candidate / "__init__.py" if candidate.is_dir() else candidate.with_suffix(".py")


def _import_kinds(path: Path) -> dict[int, str]:
    """Line number of each import statement in ``path`` -> where it sits."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, SyntaxError):
        return {}
    kinds: dict[int, str] = {}

    def is_type_checking(test: ast.expr) -> bool:
        return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")

    def visit(node: ast.AST, kind: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                kinds[child.lineno] = kind
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, "function")
            elif isinstance(child, ast.If) and kind == "module" and is_type_checking(child.test):
                for stmt in child.body:
                    visit(ast.Module(body=[stmt], type_ignores=[]), "type-checking")
                for stmt in child.orelse:
                    visit(ast.Module(body=[stmt], type_ignores=[]), kind)
            else:
                visit(child, kind)

    visit(tree, "module")
    return kinds


def find_cycles(package: str = PACKAGE) -> list[Cycle]:
    """Every import cycle between the modules of ``package``, lazy and TYPE_CHECKING included."""
    import grimp

    if str(ROOT) not in sys.path:  # run as a script: find this checkout's package
        sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(package, include_external_packages=False,
                              exclude_type_checking_imports=False, cache_dir=None)
    succ = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    spec = importlib.util.find_spec(package)  # top-level: finds, imports nothing
    assert spec is not None and spec.submodule_search_locations is not None
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    kinds_cache: dict[str, dict[int, str]] = {}
    cycles: list[Cycle] = []
    for component in strongly_connected_components(succ):
        if len(component) == 1 and component[0] not in succ[component[0]]:
            continue
        members = set(component)
        lines: list[ImportLine] = []
        for importer in component:
            path = _module_path(package_dir, package, importer)
            if importer not in kinds_cache:
                kinds_cache[importer] = _import_kinds(path)
            try:
                shown = str(path.relative_to(ROOT))
            except ValueError:
                shown = str(path)
            for imported in sorted(succ[importer] & members):
                for detail in graph.get_import_details(importer=importer, imported=imported):
                    line_number = int(detail["line_number"])
                    lines.append(ImportLine(
                        importer=importer, imported=imported, path=shown,
                        line_number=line_number, line_contents=str(detail["line_contents"]),
                        kind=kinds_cache[importer].get(line_number, "module")))
        lines.sort(key=lambda x: (x.importer, x.line_number, x.imported))
        cycles.append(Cycle(modules=tuple(component), imports=tuple(lines)))
    cycles.sort(key=lambda c: c.key)
    return cycles


def read_allowlist(path: Path) -> list[str]:
    keys = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            keys.append(",".join(sorted(m.strip() for m in line.split(",") if m.strip())))
    return keys


def check(cycles: Sequence[Cycle], allowed: Iterable[str] = ()) -> Report:
    allowed_keys = set(allowed)
    found = {c.key for c in cycles}
    return Report(cycles=tuple(cycles),
                  new=tuple(sorted(found - allowed_keys)),
                  stale=tuple(sorted(allowed_keys - found)))


def format_report(report: Report, allow_file: str | None = None) -> str:
    out: list[str] = []
    for cycle in report.cycles:
        status = "NEW " if cycle.key in report.new else ("allowed " if allow_file else "")
        out.append(f"{status}import cycle of {len(cycle.modules)} modules:")
        out.extend(f"    {m}" for m in cycle.modules)
        out.append("  closed by:")
        for imp in cycle.imports:
            out.append(f"    {imp.path}:{imp.line_number} [{imp.kind}] {imp.importer} -> "
                       f"{imp.imported}: {imp.line_contents}")
        out.append("")
    for key in report.stale:
        modules = set(key.split(","))
        now = [c.key for c in report.cycles if set(c.modules) & modules]
        hint = f" (now: {'; '.join(now)})" if now else " (no longer a cycle: remove the line)"
        out.append(f"STALE allowlist entry in {allow_file}: {key}{hint}")
    if report.ok:
        n_allowed = len(report.cycles)
        out.append("no import cycles" if not n_allowed
                   else f"ok: {n_allowed} known import cycle(s), all listed in {allow_file}")
    else:
        entries = "entry" if len(report.stale) == 1 else "entries"
        out.append(f"FAILED: {len(report.new)} new import cycle(s), "
                   f"{len(report.stale)} stale allowlist {entries}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--allow", metavar="FILE",
                        help="known cycles, one per line: modules sorted and comma-joined")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--package", default=PACKAGE, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    allowed = read_allowlist(Path(args.allow)) if args.allow else []
    report = check(find_cycles(args.package), allowed)
    if args.json:
        print(json.dumps({
            "ok": report.ok,
            "cycles": [{"modules": list(c.modules), "key": c.key, "new": c.key in report.new,
                        "imports": [asdict(i) for i in c.imports]} for c in report.cycles],
            "new": list(report.new),
            "stale": list(report.stale),
        }, indent=2))
    else:
        print(format_report(report, args.allow))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
