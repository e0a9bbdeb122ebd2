"""The panel's "Insert into notebook" snippets, checked by Python's own parser.

Runs the real ``loadSnippet`` of extension/src/format.ts under Node (transpiled on the fly
by the extension's TypeScript), with hostile names: a newline, CR, quotes, backslashes,
``\"\"\"``, Unicode line separators... ``ast.parse`` must accept every snippet, its statements
must be those a harmless name gives (same AST once string values are blanked), and every
hostile value must come back exactly as a string constant. Skipped when Node or the
extension's npm packages (``jlpm install`` in extension/) are missing.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "extension"
TYPESCRIPT = EXTENSION / "node_modules" / "typescript"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not TYPESCRIPT.is_dir(),
    reason="needs Node.js and extension/node_modules (jlpm install in extension/)")

#: transpile format.ts to CommonJS, load it, run loadSnippet on every target from stdin
RUNNER = r"""
const fs = require('fs');
// with `node -e`, process.argv[1] is the first argument after the script
const ts = require(process.argv[1]);
const src = fs.readFileSync(process.argv[2], 'utf8');
const js = ts.transpileModule(src, {
  compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 }
}).outputText;
const mod = { exports: {} };
new Function('module', 'exports', 'require', js)(mod, mod.exports, require);
const targets = JSON.parse(fs.readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(targets.map(t => mod.exports.loadSnippet(t))));
"""

MARK = "PWNED"
HOSTILE = [
    f'x\nimport os; os.system("echo {MARK}")',
    f"x\rimport os  # {MARK}",
    f"x\r\n{MARK}()",
    f'a"b {MARK}', f"a'b {MARK}", f"backslash {MARK}\\", f'x\\"; {MARK}() #',
    f'"""{MARK}"""', f"'''{MARK}'''",
    f"x\u2028{MARK}()", f"x\u2029{MARK}()", f"x\x85{MARK}()",
    f"\u202e{MARK}\u2066\u2069", f"nul\x00 del\x7f esc\x1b[31m {MARK}",
    f"form\x0cfeed vtab\x0b fs\x1c {MARK}", f"emoji \U0001f600 {MARK}",
    f"zero\u200bwidth bom\ufeff {MARK}",
]
FORMATS = [None, "huggingface", "mlflow", "tf-savedmodel", "safetensors", "onnx", "csv",
           "tsv", "parquet"]


def targets_for(value: str) -> list[dict[str, Any]]:
    base = {"repo": "demo", "ref": "main", "path": "models/bert", "home": "/data/store"}
    out = []
    for kind in ("file", "dir"):
        for fmt in FORMATS:
            for change in ({"path": f"models/{value}/x"}, {"path": value}, {"home": value},
                           {"repo": value, "ref": value}, {"home": None, "path": value}):
                out.append({**base, "kind": kind, "format": fmt, **change})
    return out


def harmless(target: dict[str, Any]) -> dict[str, Any]:
    return {**target, "repo": "r", "ref": "main", "path": "p",
            "home": "/h" if target["home"] else None}


def run_snippets(targets: list[dict[str, Any]]) -> list[str]:
    done = subprocess.run(["node", "-e", RUNNER, str(TYPESCRIPT), str(EXTENSION / "src" /
                                                                       "format.ts")],
                          input=json.dumps(targets), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert isinstance(out, list) and len(out) == len(targets)
    return out


class _BlankStrings(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.Constant("<str>") if isinstance(node.value, str) else node


def shape(code: str) -> str:
    """The AST with every string value blanked: the statements and calls only."""
    return ast.dump(_BlankStrings().visit(ast.parse(code)))


def string_constants(tree: ast.Module) -> set[str]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)
            and isinstance(n.value, str)}


def uri(t: dict[str, Any]) -> str:
    base = f"blacklake://{t['repo']}/{t['ref']}"
    return f"{base}/{t['path']}" if t["path"] else base


def test_hostile_names_stay_string_constants() -> None:
    targets = [t for value in HOSTILE for t in targets_for(value)]
    snippets = run_snippets(targets + [harmless(t) for t in targets])
    hostile, plain = snippets[:len(targets)], snippets[len(targets):]
    for target, code, reference in zip(targets, hostile, plain, strict=True):
        tree = ast.parse(code)  # a SyntaxError here is an injection or an escaping bug
        assert shape(code) == shape(reference), (target, code)
        consts = string_constants(tree)
        assert uri(target) in consts, (target, code)
        if target["kind"] == "dir":
            assert {target["repo"], target["ref"], target["path"]} <= consts
        if target["home"]:
            assert target["home"] in consts
        # outside string literals, nothing of the name is left
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not any(MARK in name for name in names)
        assert all(MARK not in line or '"' in line for line in code.split("\n"))
    assert len(targets) == len(HOSTILE) * 2 * len(FORMATS) * 5


def test_the_snippet_statements_are_the_expected_ones() -> None:
    """A checkout snippet: the import, the store, the URI and directory as strings, the
    checkout call and the loader; nothing else."""
    (code,) = run_snippets([{"repo": "r", "ref": "main", "path": "evil\nimport os",
                             "kind": "dir", "format": "huggingface", "home": None}])
    tree = ast.parse(code)
    kinds = [type(stmt).__name__ for stmt in tree.body]
    assert kinds == ["Import", "Assign", "Assign", "Assign", "Expr", "ImportFrom", "Assign"]
    assigned = [stmt.targets[0].id for stmt in tree.body  # type: ignore[attr-defined]
                if isinstance(stmt, ast.Assign)]
    assert assigned == ["store", "uri", "local_dir", "model"]
    assert "#" not in code.split("uri = ", 1)[1].split("\n", 1)[0].split('"  #')[0]
