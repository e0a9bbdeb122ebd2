"""ONNX models (``.onnx``): opsets, producer, graph inputs/outputs, parameter count, op types.

Files up to :data:`FULL_LOAD_MAX_BYTES` are parsed by ``onnx`` itself and validated with
``onnx.checker``. Larger files (and all files when ``onnx`` is not installed) are walked in the
protobuf wire format with range reads: the graph's structure is read, initializer payloads
(``raw_data``, typed data) are skipped by offset, so a multi-GiB model costs a few MiB of reads.
The checker needs the whole model in memory, so it is skipped there and the facts say so.

External data is never touched. A tensor stored "elsewhere" (``data_location: EXTERNAL``)
names a file, and ``onnx.checker`` stats that name relative to the process's working
directory: run on a stored model, the verdict would tell whether a file the model names
exists on the machine extracting it (an existence oracle), and the facts would depend on
where the extracting process happens to run. So every tensor of the model is inspected
first (initializers, sparse initializers, ``Constant``-style tensor attributes, and all of
these inside subgraphs of ``If``/``Loop``/``Scan``, in functions and training info), and if
any uses external data the checker does not run; the locations are recorded as a fact
(``details.external_data``), never opened or resolved.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from blacklake_ml.extract._protowire import (
    LEN,
    VARINT,
    Span,
    WireReader,
    packed_varints,
    signed64,
    text,
)
from blacklake_ml.extract._util import FormatError, clip, one_line, product, stem
from blacklake_ml.extract.base import FileExtractor, Source

#: files up to this size are loaded whole with ``onnx`` and checked; larger ones are wire-parsed
FULL_LOAD_MAX_BYTES = 64 * 1024 * 1024
#: most inputs/outputs listed
MAX_IO = 256
#: most external-data locations listed (each clipped to 256 characters)
MAX_EXTERNAL_LOCATIONS = 32
#: nesting of subgraphs the wire path follows (the protobuf library refuses deeper anyway)
MAX_WIRE_DEPTH = 64

DTYPES = {
    0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
    7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32",
    13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn",
    18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz", 21: "uint4", 22: "int4",
    23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2", 27: "float6e2m3",
    28: "float6e3m2",
}
_MISSING_EXTRA = "onnx is not installed (pip install 'blacklake-ml[models]')"


def _dtype(code: int) -> str:
    return DTYPES.get(code, f"type{code}")


def _op_key(domain: str, op_type: str) -> str:
    return op_type if domain in ("", "ai.onnx") else f"{domain}.{op_type}"


class _Model:
    """The facts of one model, filled by either parser."""

    def __init__(self) -> None:
        self.ir_version: int | None = None
        self.producer_name = ""
        self.producer_version = ""
        self.domain = ""
        self.model_version: int | None = None
        self.doc = ""
        self.opsets: dict[str, int] = {}
        self.metadata: dict[str, str] = {}
        self.graph_name = ""
        self.has_graph = False
        self.ops: Counter[str] = Counter()
        self.nodes = 0
        self.initializers: set[str] = set()
        self.external = 0  # top-level initializers whose data lives in another file
        #: tensors anywhere in the model (subgraphs too) whose data lives in another file
        self.external_tensors = 0
        self.external_locations: set[str] = set()
        self.parameters = 0
        self.inputs: list[dict[str, Any]] = []
        self.outputs: list[dict[str, Any]] = []

    def add_external(self, locations: list[str]) -> None:
        """Record one tensor whose data lives in the files ``locations`` (never opened)."""
        self.external_tensors += 1
        for loc in locations:
            if len(self.external_locations) < 4 * MAX_EXTERNAL_LOCATIONS:
                self.external_locations.add(clip(loc, 256))

    def facts(self, src: Source, how: str, checker: dict[str, Any]) -> dict[str, Any]:
        if not self.has_graph:
            raise ValueError("not an ONNX model (no graph), or the file is truncated")
        if (self.ir_version or 0) >= 3 and not self.opsets:
            raise ValueError("invalid or truncated ONNX model: no opset_import")
        inputs = [i for i in self.inputs if i["name"] not in self.initializers]
        details: dict[str, Any] = {
            "ir_version": self.ir_version,
            "opset": dict(sorted(self.opsets.items())),
            "producer": {"name": self.producer_name, "version": self.producer_version},
            "graph_name": self.graph_name,
            "inputs": inputs[:MAX_IO],
            "outputs": self.outputs[:MAX_IO],
            "op_types": dict(sorted(self.ops.items(), key=lambda kv: (-kv[1], kv[0]))),
            "node_count": self.nodes,
            "initializer_count": len(self.initializers),
            "parsed_with": how,
            "checker": checker,
        }
        if self.domain:
            details["domain"] = self.domain
        if self.model_version:
            details["model_version"] = self.model_version
        if self.doc:
            details["doc_string"] = clip(self.doc, 4000)
        if self.metadata:
            details["metadata"] = self.metadata
        if self.external:
            details["external_data_initializers"] = self.external
        if self.external_tensors:
            details["external_data_tensors"] = self.external_tensors
            details["external_data"] = sorted(self.external_locations)[:MAX_EXTERNAL_LOCATIONS]
        return {"kind": "model", "format": "onnx", "framework": "onnx", "name": stem(src.name),
                "parameters": self.parameters, "details": details}


# -- onnx library path --------------------------------------------------------------------------
def _value_info_lib(vi: Any) -> dict[str, Any]:
    t = vi.type
    which = t.WhichOneof("value")
    out: dict[str, Any] = {"name": clip(vi.name, 256)}
    if which in ("tensor_type", "sparse_tensor_type"):
        tt = getattr(t, which)
        out["dtype"] = _dtype(tt.elem_type)
        if tt.HasField("shape"):
            dims: list[int | str | None] = []
            for d in tt.shape.dim:
                w = d.WhichOneof("value")
                dims.append(d.dim_value if w == "dim_value" else
                            clip(d.dim_param, 128) if w == "dim_param" else None)
            out["shape"] = dims
        else:
            out["shape"] = None
    else:
        out["dtype"] = (which or "unknown").replace("_type", "")
        out["shape"] = None
    return out


def _external_tensors_lib(proto: Any) -> list[Any]:
    """Every TensorProto anywhere in ``proto`` that keeps its data in another file.

    A walk over the protobuf itself (every message-typed field, iteratively) rather than a
    list of the places ONNX puts tensors today: initializers, sparse initializers and tensor
    attributes, inside subgraphs of If/Loop/Scan, functions and training info are all found,
    and so would be a tensor in a field added later.
    """
    from google.protobuf.descriptor import FieldDescriptor

    found: list[Any] = []
    stack = [proto]
    while stack:
        msg = stack.pop()
        if msg.DESCRIPTOR.full_name == "onnx.TensorProto":
            if msg.data_location == 1 or len(msg.external_data):  # 1: EXTERNAL
                found.append(msg)
            continue  # no tensor nests inside a tensor's payload
        for field, value in msg.ListFields():
            if field.type != FieldDescriptor.TYPE_MESSAGE:
                continue
            repeated = field.is_repeated if hasattr(field, "is_repeated") else \
                field.label == FieldDescriptor.LABEL_REPEATED  # protobuf < 5.28
            if repeated:
                stack.extend(value)
            else:
                stack.append(value)
    return found


def _from_library(data: bytes) -> tuple[_Model, dict[str, Any]]:
    import onnx
    from google.protobuf.message import DecodeError

    try:
        proto = onnx.load_model_from_string(data)
    except DecodeError as e:
        raise ValueError(f"not a valid ONNX protobuf ({e})") from None
    m = _Model()
    m.ir_version = proto.ir_version if proto.HasField("ir_version") else None
    m.producer_name = clip(proto.producer_name, 256)
    m.producer_version = clip(proto.producer_version, 256)
    m.domain = clip(proto.domain, 256)
    m.model_version = proto.model_version or None
    m.doc = proto.doc_string
    m.opsets = {(o.domain or "ai.onnx"): int(o.version) for o in proto.opset_import}
    m.metadata = {clip(p.key, 256): clip(p.value) for p in list(proto.metadata_props)[:200]}
    if proto.HasField("graph"):
        g = proto.graph
        m.has_graph = True
        m.graph_name = clip(g.name, 256)
        m.nodes = len(g.node)
        m.ops = Counter(_op_key(n.domain, n.op_type) for n in g.node)
        for init in g.initializer:
            m.initializers.add(init.name)
            m.parameters += product(init.dims)
            m.external += init.data_location == onnx.TensorProto.EXTERNAL
        for sp in g.sparse_initializer:
            m.initializers.add(sp.values.name)
            m.parameters += product(sp.values.dims)
        m.inputs = [_value_info_lib(v) for v in g.input]
        m.outputs = [_value_info_lib(v) for v in g.output]
    for tensor in _external_tensors_lib(proto):
        m.add_external([e.value for e in tensor.external_data if e.key == "location"])
    if m.external_tensors:
        # the checker would stat the external files relative to the working directory:
        # never let a stored file make us probe paths it names (see the module docstring)
        return m, {"ran": False, "reason": "tensors with external data (not opened)"}
    try:
        onnx.checker.check_model(proto)
        checker: dict[str, Any] = {"ran": True, "ok": True}
    except Exception as e:  # noqa: BLE001 - the checker's verdict is a fact, not a failure
        checker = {"ran": True, "ok": False, "error": one_line(e, 500)}
    return m, checker


# -- wire path ----------------------------------------------------------------------------------
def _dims_field(r: WireReader, wt: int, v: int | Span, dims: list[int]) -> None:
    if wt == VARINT and isinstance(v, int):
        dims.append(signed64(v))
    elif wt == LEN and isinstance(v, Span):
        dims.extend(packed_varints(r.bytes_of(v, 1024 * 1024)))


def _tensor_wire(r: WireReader, span: Span, m: _Model | None = None
                 ) -> tuple[str, int, bool]:
    """``(name, element count, external)`` of a TensorProto, skipping its payload; an
    external tensor is recorded in ``m`` with its locations."""
    dims: list[int] = []
    name = ""
    external = False
    locations: list[str] = []
    for f, wt, v in r.fields(span.offset, span.end):
        if f == 1:
            _dims_field(r, wt, v, dims)
        elif f == 8 and wt == LEN:
            name = text(r, v)
        elif f == 13 and isinstance(v, Span):  # external_data: StringStringEntryProto
            key = value = ""
            for ef, ewt, ev in r.fields(v.offset, v.end):
                if ef == 1 and ewt == LEN:
                    key = text(r, ev, 256)
                elif ef == 2 and ewt == LEN:
                    value = text(r, ev, 4096)
            external = True
            if key == "location":
                locations.append(value)
        elif f == 14 and wt == VARINT:
            external = external or v == 1  # TensorProto.DataLocation.EXTERNAL
    if any(d < 0 for d in dims):
        raise FormatError(f"initializer {name!r} has a negative dimension")
    if external and m is not None:
        m.add_external(locations)
    return name, product(dims), external


def _sparse_wire(r: WireReader, span: Span, m: _Model) -> tuple[str, int]:
    """``(name, element count)`` of a SparseTensorProto's values (external parts noted)."""
    name, n = "", 0
    for f, _wt, v in r.fields(span.offset, span.end):
        if f in (1, 2) and isinstance(v, Span):  # values, indices
            t_name, t_n, _ = _tensor_wire(r, v, m)
            if f == 1:
                name, n = t_name, t_n
    return name, n


def _attribute_wire(r: WireReader, span: Span, m: _Model, depth: int) -> None:
    """External tensors in one AttributeProto: its tensors and its subgraphs' tensors."""
    for f, _wt, v in r.fields(span.offset, span.end):
        if not isinstance(v, Span):
            continue
        if f in (5, 10):  # t, tensors
            _tensor_wire(r, v, m)
        elif f in (22, 23):  # sparse_tensor, sparse_tensors
            _sparse_wire(r, v, m)
        elif f in (6, 11):  # g, graphs (If/Loop/Scan bodies)
            _subgraph_wire(r, v, m, depth + 1)


def _subgraph_wire(r: WireReader, span: Span, m: _Model, depth: int) -> None:
    """External tensors of a nested GraphProto (its structure is not counted)."""
    if depth > MAX_WIRE_DEPTH:
        raise FormatError(f"subgraphs nested deeper than {MAX_WIRE_DEPTH}")
    for f, _wt, v in r.fields(span.offset, span.end):
        if not isinstance(v, Span):
            continue
        if f == 5:
            _tensor_wire(r, v, m)
        elif f == 15:
            _sparse_wire(r, v, m)
        elif f == 1:
            for nf, _nwt, nv in r.fields(v.offset, v.end):
                if nf == 5 and isinstance(nv, Span):
                    _attribute_wire(r, nv, m, depth)


def _shape_wire(r: WireReader, span: Span) -> list[int | str | None]:
    dims: list[int | str | None] = []
    for f, wt, v in r.fields(span.offset, span.end):
        if f == 1 and isinstance(v, Span):
            dim: int | str | None = None
            for df, dwt, dv in r.fields(v.offset, v.end):
                if df == 1 and dwt == VARINT and isinstance(dv, int):
                    dim = signed64(dv)
                elif df == 2 and dwt == LEN:
                    dim = clip(text(r, dv), 128)
            dims.append(dim)
            if len(dims) > 64:
                raise ValueError("tensor shape with more than 64 dimensions")
    return dims


def _value_info_wire(r: WireReader, span: Span) -> dict[str, Any]:
    out: dict[str, Any] = {"name": "", "dtype": "unknown", "shape": None}
    for f, wt, v in r.fields(span.offset, span.end):
        if f == 1 and wt == LEN:
            out["name"] = clip(text(r, v), 256)
        elif f == 2 and isinstance(v, Span):
            for tf, twt, tv in r.fields(v.offset, v.end):
                kind = {1: "tensor", 8: "sparse_tensor", 4: "sequence", 5: "map",
                        9: "optional", 6: "opaque"}.get(tf)
                if kind is None or not isinstance(tv, Span):
                    continue
                if kind in ("tensor", "sparse_tensor"):
                    out["dtype"] = "undefined"
                    for ef, ewt, ev in r.fields(tv.offset, tv.end):
                        if ef == 1 and ewt == VARINT and isinstance(ev, int):
                            out["dtype"] = _dtype(ev)
                        elif ef == 2 and isinstance(ev, Span):
                            out["shape"] = _shape_wire(r, ev)
                else:
                    out["dtype"] = kind
    return out


def _from_wire(src: Source) -> _Model:
    r = WireReader(src)
    m = _Model()
    graph: Span | None = None
    for f, wt, v in r.fields(0, src.size):
        if f == 1 and wt == VARINT and isinstance(v, int):
            m.ir_version = signed64(v)
        elif f == 2 and wt == LEN:
            m.producer_name = clip(text(r, v), 256)
        elif f == 3 and wt == LEN:
            m.producer_version = clip(text(r, v), 256)
        elif f == 4 and wt == LEN:
            m.domain = clip(text(r, v), 256)
        elif f == 5 and wt == VARINT and isinstance(v, int):
            m.model_version = signed64(v) or None
        elif f == 6 and wt == LEN:
            m.doc = text(r, v, 1024 * 1024)
        elif f == 7 and isinstance(v, Span):
            graph = v
        elif f == 8 and isinstance(v, Span):
            domain, version = "", 0
            for of, owt, ov in r.fields(v.offset, v.end):
                if of == 1 and owt == LEN:
                    domain = clip(text(r, ov), 256)
                elif of == 2 and isinstance(ov, int):
                    version = signed64(ov)
            m.opsets[domain or "ai.onnx"] = version
        elif f == 20 and isinstance(v, Span):  # training_info: initialization, algorithm
            for tf, _twt, tv in r.fields(v.offset, v.end):
                if tf in (1, 2) and isinstance(tv, Span):
                    _subgraph_wire(r, tv, m, 1)
        elif f == 25 and isinstance(v, Span):  # functions: their nodes and default attributes
            for ff, _fwt, fv in r.fields(v.offset, v.end):
                if ff == 7 and isinstance(fv, Span):
                    for nf, _nwt, nv in r.fields(fv.offset, fv.end):
                        if nf == 5 and isinstance(nv, Span):
                            _attribute_wire(r, nv, m, 1)
                elif ff == 11 and isinstance(fv, Span):
                    _attribute_wire(r, fv, m, 1)
        elif f == 14 and isinstance(v, Span) and len(m.metadata) < 200:
            key = val = ""
            for pf, pwt, pv in r.fields(v.offset, v.end):
                if pf == 1 and pwt == LEN:
                    key = clip(text(r, pv), 256)
                elif pf == 2 and pwt == LEN:
                    val = clip(text(r, pv, 1024 * 1024))
            m.metadata[key] = val
    if graph is None:
        return m
    m.has_graph = True
    for f, wt, v in r.fields(graph.offset, graph.end):
        if not isinstance(v, Span):
            continue
        if f == 1:
            domain = op_type = ""
            for nf, nwt, nv in r.fields(v.offset, v.end):
                if nf == 4 and nwt == LEN:
                    op_type = clip(text(r, nv), 128)
                elif nf == 7 and nwt == LEN:
                    domain = clip(text(r, nv), 128)
                elif nf == 5 and isinstance(nv, Span):
                    _attribute_wire(r, nv, m, 0)
            m.ops[_op_key(domain, op_type)] += 1
            m.nodes += 1
        elif f == 2:
            m.graph_name = clip(text(r, v), 256)
        elif f == 5:
            name, n, external = _tensor_wire(r, v, m)
            m.initializers.add(name)
            m.parameters += n
            m.external += external
        elif f == 15:
            name, n = _sparse_wire(r, v, m)
            m.initializers.add(name)
            m.parameters += n
        elif f == 11 and len(m.inputs) < 100_000:
            m.inputs.append(_value_info_wire(r, v))
        elif f == 12 and len(m.outputs) < 100_000:
            m.outputs.append(_value_info_wire(r, v))
    return m


class OnnxExtractor(FileExtractor):
    """``.onnx`` files (see the module docstring)."""

    name = "onnx"
    version = 2  # 2: external data anywhere in the model is a fact; the checker skips it
    priority = 10
    suffixes = (".onnx",)

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.lower().endswith(".onnx")

    def extract(self, src: Source) -> dict[str, Any]:
        if src.size <= FULL_LOAD_MAX_BYTES:
            try:
                import onnx  # noqa: F401
            except ImportError:
                pass
            else:
                model, checker = _from_library(src.read(0, src.size))
                return model.facts(src, "onnx", checker)
            reason = _MISSING_EXTRA
        else:
            reason = (f"file larger than {FULL_LOAD_MAX_BYTES} bytes: structure read from the "
                      "protobuf wire format, payloads skipped")
        model = _from_wire(src)
        return model.facts(src, "wire", {"ran": False, "reason": reason})
