"""Walking what :mod:`._pickle_scan` built: tensor names (PyTorch) and scalar state (sklearn)."""

from __future__ import annotations

import math
from typing import Any

from blacklake_ml.extract._pickle_scan import Node, Tensor
from blacklake_ml.extract._util import clip

_MODULE_SEGMENTS = frozenset({"_parameters", "_buffers", "_modules", "__dict__"})


def iter_tensors(root: Any, max_nodes: int = 2_000_000) -> list[tuple[str, Tensor]]:
    """``(dotted name, tensor)`` for every tensor reachable from ``root``.

    Names follow dict keys, list indices and object state; the ``_parameters`` / ``_buffers`` /
    ``_modules`` segments of pickled ``nn.Module`` objects are dropped so a whole-model pickle
    yields the same names as its ``state_dict()``. A container reachable twice is walked once;
    the walk is iterative (no recursion limit) and visits at most ``max_nodes`` values.
    """
    out: list[tuple[str, Tensor]] = []
    seen: set[int] = set()
    budget = max_nodes
    todo: list[tuple[str, Any, int]] = [("", root, 0)]
    while todo:
        path, v, depth = todo.pop()
        budget -= 1
        if budget < 0 or depth > 100:
            break
        if isinstance(v, Tensor):
            out.append((path, v))
            continue
        children: list[tuple[str, Any]] = []
        if isinstance(v, Node):
            if id(v) in seen:
                continue
            seen.add(id(v))
            children += [(_seg(k), val) for k, val in v.items]
            children += [(str(i), val) for i, val in enumerate(v.elems)]
            st = v.state
            if isinstance(st, tuple):
                children += [("", s) for s in st]
            elif st is not None:
                children.append(("", st))
        elif isinstance(v, tuple):
            children += [(str(i), val) for i, val in enumerate(v)]
        else:
            continue
        for seg, child in reversed(children):
            if seg in _MODULE_SEGMENTS:
                seg = ""
            todo.append((f"{path}.{seg}" if path and seg else path or seg, child, depth + 1))
    return out


def _seg(k: Any) -> str:
    if isinstance(k, str):
        return clip(k, 512)
    if isinstance(k, int) and not isinstance(k, bool):
        return str(k)
    return "?"


def scalars(node: Node, limit: int = 60) -> dict[str, Any]:
    """Plain scalar entries (str/int/float/bool/None) of an object's state: hyper-parameters."""
    out: dict[str, Any] = {}
    st = node.state
    if isinstance(st, tuple) and st and isinstance(st[0], Node):
        st = st[0]
    if not isinstance(st, Node):
        return out
    for k, v in st.items:
        if len(out) >= limit:
            break
        if isinstance(k, str) and (v is None or isinstance(v, (bool, int, float, str))):
            if isinstance(v, float) and math.isnan(v):  # NaN is not JSON
                v = None
            out[clip(k, 128)] = clip(v, 256) if isinstance(v, str) else v
    return out
