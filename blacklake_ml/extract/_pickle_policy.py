"""Which pickle globals are safe to reference: the allow-list behind ``Facts.unsafe``.

A global is *safe* when loading code may import and call it without risk: tensor and array
reconstruction helpers, storages, dtypes and plain value types. Everything else is reported as
unsafe, and known code-execution or I/O primitives are additionally *dangerous*. An extractor
may trust the classes of the framework its files are loaded with (``trusted_prefixes``:
``sklearn.`` for scikit-learn pickles, ``torch.nn.modules.`` for whole torch models) — never a
dangerous one.
"""

from __future__ import annotations

# Globals any loader may import and call: reconstruction helpers and plain value types.
SAFE_GLOBALS = frozenset({
    # builtins and stdlib value types
    "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.complex",
    "builtins.bytearray", "builtins.bytes", "builtins.range", "builtins.dict", "builtins.list",
    "builtins.tuple", "builtins.int", "builtins.float", "builtins.bool", "builtins.str",
    "builtins.object", "builtins.Ellipsis", "builtins.NotImplemented",
    "collections.OrderedDict", "collections.defaultdict", "collections.Counter",
    "collections.deque", "copyreg._reconstructor", "copyreg.__newobj__",
    "copyreg.__newobj_ex__", "_codecs.encode", "datetime.datetime", "datetime.date",
    "datetime.time", "datetime.timedelta", "datetime.timezone", "decimal.Decimal",
    "fractions.Fraction", "uuid.UUID", "argparse.Namespace",
    # torch tensor reconstruction
    "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_device_tensor_from_numpy", "torch._tensor._rebuild_from_type_v2",
    "torch.nn.parameter.Parameter", "torch.Tensor", "torch.Size", "torch.device",
    "torch.storage.UntypedStorage", "torch.storage.TypedStorage", "torch.UntypedStorage",
    "torch.serialization._get_layout", "torch.torch_version.TorchVersion",
    "torch.strided", "torch.sparse_coo", "torch.sparse_csr", "torch.sparse_csc",
    "torch.sparse_bsr", "torch.sparse_bsc", "torch._mkldnn", "torch.contiguous_format",
    "torch.channels_last", "torch.channels_last_3d", "torch.preserve_format",
    "torch.per_tensor_affine", "torch.per_channel_affine", "torch.per_tensor_symmetric",
    "torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams",
    # numpy array / scalar / RNG reconstruction
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.ndarray",
    "numpy.dtype", "numpy.ma.core._mareconstruct", "numpy.core.numeric._frombuffer",
    "numpy._core.numeric._frombuffer", "numpy.random.__RandomState_ctor",
    "numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__generator_ctor",
    "numpy.random._pickle.__bit_generator_ctor", "numpy.random.mtrand.RandomState",
    "numpy.random._generator.Generator", "numpy.random._mt19937.MT19937",
    "numpy.random._pcg64.PCG64", "numpy.random._pcg64.PCG64DXSM",
    "numpy.random._philox.Philox", "numpy.random._sfc64.SFC64",
    "numpy.random.bit_generator.SeedSequence",
    # joblib's array placeholder (the array bytes follow it in the file)
    "joblib.numpy_pickle.NumpyArrayWrapper",
})

TORCH_DTYPES = frozenset({
    "float32", "float", "float64", "double", "float16", "half", "bfloat16", "complex32",
    "complex64", "complex128", "cfloat", "cdouble", "uint8", "int8", "int16", "short", "int32",
    "int", "int64", "long", "bool", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
    "float4_e2m1fn_x2", "uint16", "uint32", "uint64", "bits8", "bits16",
})

_NUMPY_SCALARS = frozenset({
    "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "longdouble", "complex64", "complex128", "str_", "bytes_",
    "datetime64", "timedelta64", "object_", "void", "intc", "intp", "uintp",
})

# Modules whose import or call is a classic code-execution or I/O primitive.
DANGEROUS_MODULES = frozenset({
    "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy", "pty",
    "webbrowser", "pickle", "_pickle", "marshal", "ctypes", "code", "codeop", "pdb", "commands",
    "multiprocessing", "asyncio", "urllib", "http", "ftplib", "smtplib", "telnetlib", "requests",
    "httpx", "platform", "signal", "tempfile", "glob", "pathlib", "io", "types", "dill",
    "cloudpickle", "joblib.numpy_pickle_compat", "torch.hub", "torch.jit", "torch.package",
})
DANGEROUS_NAMES = frozenset({
    "builtins.eval", "builtins.exec", "builtins.compile", "builtins.open", "builtins.__import__",
    "builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.globals",
    "builtins.locals", "builtins.vars", "builtins.input", "builtins.breakpoint",
    "builtins.execfile", "builtins.file", "builtins.reload", "builtins.help",
    "torch.load", "torch.save", "numpy.load", "numpy.save", "numpy.fromfile",
    "numpy.testing._private.utils.runstring", "operator.attrgetter", "_operator.attrgetter",
    "operator.methodcaller", "_operator.methodcaller", "functools.partial",
})


def is_dangerous(full: str) -> bool:
    """Whether ``module.name`` is a known code-execution / I/O primitive."""
    if full in DANGEROUS_NAMES:
        return True
    parts = full.split(".")
    return any(".".join(parts[:i]) in DANGEROUS_MODULES for i in range(1, len(parts)))


def is_safe(full: str, trusted_prefixes: tuple[str, ...] = ()) -> bool:
    """Whether loading code may import/call ``module.name`` without risk (allow-list), or it
    sits under one of ``trusted_prefixes`` (the framework the caller loads the file with)."""
    if is_dangerous(full):
        return False
    if full in SAFE_GLOBALS:
        return True
    module, _, name = full.rpartition(".")
    if module == "torch" and (name.endswith("Storage") or name in TORCH_DTYPES):
        return True
    if module == "numpy" and name in _NUMPY_SCALARS:
        return True
    if module == "numpy.dtypes" and name.endswith("DType"):
        return True
    return any(full.startswith(p) for p in trusted_prefixes)
