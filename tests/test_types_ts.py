"""``extension/src/types.ts`` is generated from ``blacklake_ml/shapes.py`` (project issue 13).

Fails when the checked-in file differs from what ``scripts/gen_types_ts.py`` makes: change a
shape in ``blacklake_ml/shapes.py``, then run ``python scripts/gen_types_ts.py``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_types_ts", ROOT / "scripts" /
                                                  "gen_types_ts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_types_ts", module)
    spec.loader.exec_module(module)
    return module


def test_types_ts_is_generated_from_the_shapes() -> None:
    gen = _generator()
    current = (ROOT / "extension" / "src" / "types.ts").read_text("utf-8")
    assert current == gen.generate(), \
        "extension/src/types.ts is out of date: run python scripts/gen_types_ts.py"


def test_every_type_the_frontend_imports_is_generated() -> None:
    text = (ROOT / "extension" / "src" / "types.ts").read_text("utf-8")
    exported = set(re.findall(r"^export (?:interface|type) (\w+)", text, re.M))
    imported: set[str] = set()
    for src in (ROOT / "extension" / "src").rglob("*.ts*"):
        for names in re.findall(r"import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*['\"]\.\.?/types['\"]",
                                src.read_text("utf-8")):
            imported |= {n.strip() for n in names.split(",") if n.strip()}
    assert imported, "no imports of ./types found"
    assert imported <= exported, f"imported but not generated: {sorted(imported - exported)}"


def test_every_typed_dict_reaches_typescript() -> None:
    from typing import is_typeddict

    from blacklake_ml import shapes

    text = (ROOT / "extension" / "src" / "types.ts").read_text("utf-8")
    for name in shapes.__all__:
        obj = getattr(shapes, name)
        if isinstance(obj, type) and is_typeddict(obj):
            assert f"export interface I{name.removesuffix('Doc')}" in text, name
