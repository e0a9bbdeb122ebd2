"""Generate ``extension/src/types.ts`` from the response shapes in ``blacklake_ml/shapes.py``.

The JupyterLab panel's TypeScript interfaces are the ``TypedDict`` classes of
:mod:`blacklake_ml.shapes`, translated (project issue 13)::

    python scripts/gen_types_ts.py            # rewrite extension/src/types.ts
    python scripts/gen_types_ts.py --check    # exit 1 if it differs (tests/test_types_ts.py)
    python scripts/gen_types_ts.py --stdout   # print it

The shapes module is read as source (``ast``), not imported, so alias names (``Meta``,
``RefKind``) and ``#:`` field comments survive. Rules: class ``FooDoc`` -> ``interface IFoo``
(bases -> ``extends``; ``Generic[T]`` -> a type parameter); ``NotRequired[X]`` -> optional;
``str`` -> ``string``, ``int``/``float`` -> ``number``, ``bool`` -> ``boolean``, ``None`` ->
``null``, ``list[X]`` -> ``X[]``, ``dict[str, X]`` -> ``{ [key: string]: X }``,
``tuple[A, B]`` -> ``[A, B]``, ``Literal['a', 'b']`` -> ``'a' | 'b'``; ``Any``/``JSONValue``
-> ``JSONValue``; classes named in ``TS_INDEX_SIGNATURE`` get
``[key: string]: JSONValue | undefined``. Module-level ``X = Literal[...]`` become
``export type X``. ``JSONScalar``/``JSONValue``/``Meta`` are the fixed prelude.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHAPES = ROOT / "blacklake_ml" / "shapes.py"
TARGET = ROOT / "extension" / "src" / "types.ts"

HEADER = """\
/**
 * GENERATED FILE — do not edit. Made by scripts/gen_types_ts.py from the response shapes in
 * blacklake_ml/shapes.py (the TypedDicts the CLI's --json, the REST API and the widgets
 * share); tests/test_types_ts.py fails when the two differ. Change a shape there and run
 * `python scripts/gen_types_ts.py`.
 *
 * Shapes of the BlackLake server extension's REST API (docs/rest-api.md).
 *
 * Every string in these documents comes from users or the store (names, messages, model
 * cards, metadata): the UI renders them as text, never as HTML.
 */

export type JSONScalar = string | number | boolean | null;
export type JSONValue = JSONScalar | JSONValue[] | { [key: string]: JSONValue };
export type Meta = { [key: string]: JSONValue };
"""

SCALARS = {"str": "string", "int": "number", "float": "number", "bool": "boolean",
           "None": "null", "Any": "JSONValue", "JSONValue": "JSONValue", "Meta": "Meta",
           "object": "JSONValue"}
PRELUDE = {"JSONValue", "Meta", "JSONScalar"}


class Generator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = source.splitlines()
        self.tree = ast.parse(source)
        self.shapes: set[str] = set()
        self.aliases: set[str] = set()
        self.index_signature: set[str] = set()
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef) and self._is_shape(node):
                self.shapes.add(node.name)
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if _call_name(node.value) == "TypedDict":
                    self.shapes.add(name)
                elif _is_literal(node.value):
                    self.aliases.add(name)
                elif name == "TS_INDEX_SIGNATURE":
                    self.index_signature = set(ast.literal_eval(node.value))

    def _is_shape(self, node: ast.ClassDef) -> bool:
        for b in node.bases:
            base = b.value if isinstance(b, ast.Subscript) else b
            if isinstance(base, ast.Name) and (base.id == "TypedDict" or base.id in self.shapes):
                return True
        return False

    # -- names and types ---------------------------------------------------------------------
    def ts_name(self, name: str) -> str:
        if name in self.shapes:
            return "I" + name.removesuffix("Doc")
        return name

    def ts_type(self, node: ast.expr) -> str:
        if isinstance(node, ast.Constant):
            if node.value is None:
                return "null"
            if isinstance(node.value, str):  # a quoted annotation
                return self.ts_type(ast.parse(node.value, mode="eval").body)
            raise ValueError(f"unsupported constant in a shape: {node.value!r}")
        if isinstance(node, ast.Name):
            if node.id in SCALARS:
                return SCALARS[node.id]
            if node.id in self.shapes or node.id in self.aliases or len(node.id) == 1:
                return self.ts_name(node.id)
            raise ValueError(f"unsupported name in a shape: {node.id}")
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return f"{self.ts_type(node.left)} | {self.ts_type(node.right)}"
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            head, args = node.value.id, _args(node.slice)
            if head == "list":
                inner = self.ts_type(args[0])
                return f"({inner})[]" if " | " in inner else f"{inner}[]"
            if head == "dict":
                return f"{{ [key: string]: {self.ts_type(args[1])} }}"
            if head == "tuple":
                return "[" + ", ".join(self.ts_type(a) for a in args) + "]"
            if head == "Literal":
                return " | ".join(_ts_literal(a) for a in args)
            if head in self.shapes:
                return f"{self.ts_name(head)}<{', '.join(self.ts_type(a) for a in args)}>"
        raise ValueError(f"unsupported annotation in a shape: {ast.unparse(node)}")

    # -- documents -----------------------------------------------------------------------------
    def comment_above(self, lineno: int, indent: str) -> list[str]:
        """The ``#:`` comment lines right above source line ``lineno`` (1-based)."""
        out: list[str] = []
        i = lineno - 2
        while i >= 0 and self.lines[i].strip().startswith("#:"):
            out.insert(0, self.lines[i].strip()[2:].strip())
            i -= 1
        return _jsdoc(out, indent)

    def field(self, name: str, annotation: ast.expr, lineno: int | None) -> list[str]:
        optional = False
        if isinstance(annotation, ast.Subscript) and isinstance(annotation.value, ast.Name) \
                and annotation.value.id == "NotRequired":
            optional, annotation = True, annotation.slice
        doc = self.comment_above(lineno, "  ") if lineno is not None else []
        return doc + [f"  {name}{'?' if optional else ''}: {self.ts_type(annotation)};"]

    def interface(self, name: str, bases: list[ast.expr], fields: list[list[str]],
                  doc: str | None, params: list[str]) -> list[str]:
        extends = []
        for b in bases:
            base = b.value if isinstance(b, ast.Subscript) else b
            if isinstance(base, ast.Name) and base.id in self.shapes:
                extends.append(self.ts_type(b) if isinstance(b, ast.Subscript)
                               else self.ts_name(base.id))
        head = f"export interface {self.ts_name(name)}"
        if params:
            head += f"<{', '.join(params)}>"
        if extends:
            head += " extends " + ", ".join(extends)
        body = [line for f in fields for line in f]
        if name in self.index_signature:
            body.append("  [key: string]: JSONValue | undefined;")
        lines = _jsdoc(_doc_lines(doc), "") + [head + " {"] + body + ["}"]
        return lines

    def generate(self) -> str:
        blocks: list[list[str]] = []
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef) and node.name in self.shapes:
                params = [a.id for b in node.bases if isinstance(b, ast.Subscript)
                          and isinstance(b.value, ast.Name) and b.value.id == "Generic"
                          for a in _args(b.slice) if isinstance(a, ast.Name)]
                fields = [self.field(s.target.id, s.annotation, s.lineno) for s in node.body
                          if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
                blocks.append(self.interface(node.name, node.bases, fields,
                                             ast.get_docstring(node), params))
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                name = node.targets[0].id
                if name in self.shapes:
                    call = node.value
                    assert isinstance(call, ast.Call) and isinstance(call.args[1], ast.Dict)
                    fields = []
                    for k, v in zip(call.args[1].keys, call.args[1].values):
                        assert isinstance(k, ast.Constant)
                        fields.append(self.field(str(k.value), v, None))
                    blocks.append(self.interface(name, [], fields, None, []))
                elif name in self.aliases and name not in PRELUDE:
                    doc = self.comment_above(node.lineno, "")
                    blocks.append(doc + [f"export type {name} = "
                                         f"{self.ts_type(node.value)};"])
        return HEADER + "".join("\n" + "\n".join(b) + "\n" for b in blocks)


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id
    return None


def _is_literal(node: ast.expr) -> bool:
    return isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and \
        node.value.id == "Literal"


def _args(node: ast.expr) -> list[ast.expr]:
    return list(node.elts) if isinstance(node, ast.Tuple) else [node]


def _ts_literal(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return "'" + node.value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise ValueError(f"unsupported literal: {ast.unparse(node)}")


def _doc_lines(doc: str | None) -> list[str]:
    if not doc:
        return []
    return [line.replace("``", "`") for line in doc.splitlines()]


def _jsdoc(lines: list[str], indent: str) -> list[str]:
    lines = [line.replace("``", "`").rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        return []
    if len(lines) == 1:
        return [f"{indent}/** {lines[0]} */"]
    return [f"{indent}/**"] + [f"{indent} * {line}".rstrip() for line in lines] + \
        [f"{indent} */"]


def generate() -> str:
    """The text ``extension/src/types.ts`` must have."""
    return Generator(SHAPES.read_text("utf-8")).generate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if extension/src/types.ts is not what would be generated")
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    args = parser.parse_args(argv)
    text = generate()
    if args.stdout:
        sys.stdout.write(text)
        return 0
    if args.check:
        current = TARGET.read_text("utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run "
                  "python scripts/gen_types_ts.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
