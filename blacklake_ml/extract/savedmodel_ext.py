"""TensorFlow SavedModel directories (``saved_model.pb`` + ``variables/``): signatures.

The facts come from ``SavedModel.meta_graphs[*].signature_def``: per signature its inputs and
outputs (tensor names, dtypes, shapes) and method name, plus each meta graph's tags and the
TensorFlow version that wrote it. With ``tensorflow`` importable (and a ``saved_model.pb`` below
:data:`FULL_LOAD_MAX_BYTES`) its generated protobuf classes parse the file; otherwise, and for
larger files, a minimal wire-format walk reads the same fields with range reads and skips the
GraphDef (the bulk of the file). Nothing is loaded into a TensorFlow runtime either way.
"""

from __future__ import annotations

from typing import Any

from blacklake_ml.extract._protowire import LEN, VARINT, Span, WireReader, signed64, text
from blacklake_ml.extract._util import clip
from blacklake_ml.extract.base import DirExtractor, DirView

FULL_LOAD_MAX_BYTES = 64 * 1024 * 1024
MAX_SIGNATURES = 200

# tensorflow/core/framework/types.proto
TF_DTYPES = {
    0: "invalid", 1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8",
    7: "string", 8: "complex64", 9: "int64", 10: "bool", 11: "qint8", 12: "quint8",
    13: "qint32", 14: "bfloat16", 15: "qint16", 16: "quint16", 17: "uint16", 18: "complex128",
    19: "float16", 20: "resource", 21: "variant", 22: "uint32", 23: "uint64",
    24: "float8_e5m2", 25: "float8_e4m3fn", 29: "int4", 30: "uint4",
}


def _dtype(code: int) -> str:
    if code > 100:  # reference types (DT_FLOAT_REF = 101, ...)
        return TF_DTYPES.get(code - 100, f"type{code - 100}") + "_ref"
    return TF_DTYPES.get(code, f"type{code}")


# -- wire path ----------------------------------------------------------------------------------
def _tensor_info(r: WireReader, span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {"name": "", "dtype": "invalid", "shape": None}
    for f, wt, v in r.fields(span.offset, span.end):
        if f == 1 and wt == LEN:
            out["name"] = clip(text(r, v), 256)
        elif f == 2 and wt == VARINT and isinstance(v, int):
            out["dtype"] = _dtype(v)
        elif f == 3 and isinstance(v, Span):
            dims: list[int | None] = []
            unknown_rank = False
            for sf, swt, sv in r.fields(v.offset, v.end):
                if sf == 2 and isinstance(sv, Span):
                    size = -1
                    for df, dwt, dv in r.fields(sv.offset, sv.end):
                        if df == 1 and dwt == VARINT and isinstance(dv, int):
                            size = signed64(dv)
                    dims.append(None if size < 0 else size)
                    if len(dims) > 64:
                        raise ValueError("tensor shape with more than 64 dimensions")
                elif sf == 3 and isinstance(sv, int):
                    unknown_rank = bool(sv)
            out["shape"] = None if unknown_rank else dims
        elif f == 4:
            out["encoding"] = "coo_sparse"
        elif f == 5:
            out["encoding"] = "composite"
    return out


def _tensor_map(r: WireReader, span: Span, into: dict[str, Any]) -> None:
    key, info = "", None
    for f, wt, v in r.fields(span.offset, span.end):
        if f == 1 and wt == LEN:
            key = clip(text(r, v), 256)
        elif f == 2 and isinstance(v, Span):
            info = _tensor_info(r, v)
    if info is not None and len(into) < 1000:
        into[key] = info


def _signature(r: WireReader, span: Span) -> dict[str, Any]:
    sig: dict[str, Any] = {"inputs": {}, "outputs": {}, "method_name": ""}
    for f, wt, v in r.fields(span.offset, span.end):
        if f == 1 and isinstance(v, Span):
            _tensor_map(r, v, sig["inputs"])
        elif f == 2 and isinstance(v, Span):
            _tensor_map(r, v, sig["outputs"])
        elif f == 3 and wt == LEN:
            sig["method_name"] = clip(text(r, v), 256)
    return sig


def _meta_graph(r: WireReader, span: Span) -> dict[str, Any]:
    mg: dict[str, Any] = {"tags": [], "tensorflow_version": "", "signatures": {}}
    for f, _wt, v in r.fields(span.offset, span.end):
        if not isinstance(v, Span):
            continue
        if f == 1:
            for mf, mwt, mv in r.fields(v.offset, v.end):
                if mf == 4 and mwt == LEN and len(mg["tags"]) < 100:
                    mg["tags"].append(clip(text(r, mv), 128))
                elif mf == 5 and mwt == LEN:
                    mg["tensorflow_version"] = clip(text(r, mv), 64)
        elif f == 5 and len(mg["signatures"]) < MAX_SIGNATURES:
            key, sig = "", None
            for ef, ewt, ev in r.fields(v.offset, v.end):
                if ef == 1 and ewt == LEN:
                    key = clip(text(r, ev), 256)
                elif ef == 2 and isinstance(ev, Span):
                    sig = _signature(r, ev)
            if sig is not None:
                mg["signatures"][key] = sig
    return mg


def parse_wire(r: WireReader, size: int) -> dict[str, Any]:
    """``{"schema_version", "meta_graphs": [...]}`` from the wire format."""
    out: dict[str, Any] = {"schema_version": None, "meta_graphs": []}
    for f, wt, v in r.fields(0, size):
        if f == 1 and wt == VARINT and isinstance(v, int):
            out["schema_version"] = signed64(v)
        elif f == 2 and isinstance(v, Span) and len(out["meta_graphs"]) < 100:
            out["meta_graphs"].append(_meta_graph(r, v))
    return out


# -- tensorflow path ----------------------------------------------------------------------------
def parse_with_tensorflow(data: bytes) -> dict[str, Any]:
    """The same structure as :func:`parse_wire`, through TensorFlow's generated classes."""
    from tensorflow.core.protobuf import saved_model_pb2  # only the proto classes, no runtime

    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString(data)

    def info(t: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"name": clip(t.name, 256), "dtype": _dtype(int(t.dtype)),
                               "shape": None if t.tensor_shape.unknown_rank else
                               [None if d.size < 0 else int(d.size)
                                for d in t.tensor_shape.dim]}
        which = t.WhichOneof("encoding")
        if which in ("coo_sparse", "composite_tensor"):
            out["encoding"] = "coo_sparse" if which == "coo_sparse" else "composite"
        return out

    mgs = []
    for mg in sm.meta_graphs:
        sigs = {}
        for key, sig in list(mg.signature_def.items())[:MAX_SIGNATURES]:
            sigs[clip(key, 256)] = {"inputs": {clip(k, 256): info(v)
                                               for k, v in sig.inputs.items()},
                                    "outputs": {clip(k, 256): info(v)
                                                for k, v in sig.outputs.items()},
                                    "method_name": clip(sig.method_name, 256)}
        mgs.append({"tags": [clip(t, 128) for t in mg.meta_info_def.tags],
                    "tensorflow_version": clip(mg.meta_info_def.tensorflow_version, 64),
                    "signatures": sigs})
    return {"schema_version": int(sm.saved_model_schema_version), "meta_graphs": mgs}


class SavedModelExtractor(DirExtractor):
    """Directories holding a TensorFlow ``saved_model.pb``."""

    name = "tf-savedmodel"
    version = 1
    priority = 20

    def matches(self, entries: list[tuple[str, str, int]]) -> bool:
        return any(n == "saved_model.pb" and k == "f" for n, k, _ in entries)

    def extract(self, d: DirView) -> dict[str, Any]:
        src = d.open("saved_model.pb")
        parsed: dict[str, Any] | None = None
        how = "wire"
        if src.size <= FULL_LOAD_MAX_BYTES:
            try:
                parsed = parse_with_tensorflow(src.read(0, src.size))
                how = "tensorflow"
            except ImportError:
                parsed = None
        if parsed is None:
            parsed = parse_wire(WireReader(src), src.size)
        if not parsed["meta_graphs"]:
            raise ValueError("saved_model.pb has no meta graph (not a SavedModel, or truncated)")
        entries = d.entries("")
        names = {n for n, _, _ in entries}
        details: dict[str, Any] = {"schema_version": parsed["schema_version"],
                                   "meta_graphs": parsed["meta_graphs"], "parsed_with": how,
                                   "saved_model_bytes": src.size}
        if "variables" in names:
            var_entries = d.entries("variables")
            details["variables_files"] = len(var_entries)
            details["variables_bytes"] = sum(s for _, k, s in var_entries if k == "f")
        if "assets" in names:
            details["assets"] = len(d.entries("assets"))
        for extra in ("fingerprint.pb", "keras_metadata.pb"):
            if extra in names:
                details.setdefault("files", []).append(extra)
        versions = [m["tensorflow_version"] for m in parsed["meta_graphs"]
                    if m["tensorflow_version"]]
        if versions:
            details["tensorflow_version"] = versions[0]
        return {"kind": "model", "format": "tf-savedmodel", "framework": "tensorflow",
                "name": d.name or "saved_model", "details": details}
