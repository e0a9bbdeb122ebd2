"""Convert scikit-learn models to ONNX (``pip install 'blacklake-ml[convert]'``).

Converting means *loading* the model, which for a pickle means running whatever code it names.
So every file is first judged by the scanner (:mod:`blacklake_ml.scan`), on the very bytes that
are then loaded (read once into memory, so the file cannot change in between), and anything
whose verdict is not ``safe`` is refused — even with ``trusted=True`` — unless the caller
passes ``accept_risks`` naming every reason the scanner gave (an explicit, reviewed override).
Beyond that, ``.skops`` files load through ``skops.io.load`` trusting only the types
``get_untrusted_types`` reports and only when they are scikit-learn / numpy types, and pickles
and joblib files load only with ``trusted=True`` (the caller vouches for the file).
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from blacklake_ml.errors import BlacklakeError, InvalidInput, MissingDependency

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".sav")
#: top-level modules whose types a .skops file may ask us to trust without ``trusted=True``
TRUSTABLE_MODULES = ("sklearn", "numpy")


class UntrustedModel(InvalidInput):
    """Loading the file would run or trust code nobody vouched for; nothing was loaded."""


class ConversionError(BlacklakeError):
    """skl2onnx could not convert the estimator (unsupported model or options)."""


def _checked_bytes(path: Path, accept_risks: Sequence[str]) -> bytes:
    """The file's bytes, after the scanner judged exactly these bytes ``safe`` (or the caller
    accepted every reason it gave); :class:`UntrustedModel` otherwise."""
    from blacklake_ml.extract.local import BytesSource
    from blacklake_ml.scan import SAFE, scan_source

    data = path.read_bytes()
    verdict = scan_source(BytesSource(path.name, data))
    if verdict.verdict == SAFE:
        return data
    missing = [r for r in verdict.reasons if r not in set(accept_risks)]
    if missing or not verdict.reasons:
        shown = "; ".join(missing[:5]) or "no reason given"
        raise UntrustedModel(
            f"refusing to load {path.name}: the scanner says {verdict.verdict} ({shown}). "
            "Loading it could run code; trusted=True does not override this. To load it "
            "anyway, pass accept_risks=[...] listing every reason (see `blacklake scan "
            f"{path} --json`).")
    return data


def _load_skops(path: Path, data: bytes, trusted: bool) -> tuple[Any, list[str]]:
    import skops.io

    types = list(skops.io.get_untrusted_types(data=data))
    foreign = [t for t in types if t.split(".", 1)[0] not in TRUSTABLE_MODULES]
    if foreign and not trusted:
        raise UntrustedModel(
            f"{path.name} needs types outside scikit-learn/numpy to load: "
            f"{', '.join(foreign[:10])}; loading them can run their code. Pass trusted=True "
            "only if you trust the file's author.")
    return skops.io.loads(data, trusted=types), types


def _load_pickle(path: Path, data: bytes, trusted: bool) -> Any:
    if not trusted:
        raise UntrustedModel(
            f"{path.name} is a pickle: loading it executes whatever code it references, so a "
            "malicious file takes over this process. Pass trusted=True only for files you "
            "created or fully trust, or save the model with skops (.skops) instead.")
    import joblib

    return joblib.load(io.BytesIO(data))


def sklearn_to_onnx(src_path: str | os.PathLike[str], dst_path: str | os.PathLike[str], *,
                    trusted: bool = False, target_opset: int | None = None,
                    accept_risks: Sequence[str] = ()) -> dict[str, Any]:
    """Convert a fitted scikit-learn estimator stored at ``src_path`` to ONNX at ``dst_path``.

    The input is one float tensor ``input`` of shape ``[None, n_features_in_]`` (taken from the
    estimator); classifiers output ``label`` and a ``probabilities`` tensor. The ONNX model is validated with ``onnx.checker`` before it is written (to a
    temporary name, then renamed). Returns a summary: estimator class, feature count, opsets,
    input and output names, destination path and size, and for ``.skops`` the trusted types.

    The file is refused unless the scanner judges it ``safe`` (see the module docstring);
    ``accept_risks`` overrides that only when it lists every reason the scanner gives.
    """
    try:
        import onnx
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType
    except ImportError:
        raise MissingDependency("converting scikit-learn models to ONNX", "convert") from None
    src, dst = Path(src_path), Path(dst_path)
    if not src.is_file():
        raise InvalidInput(f"no such file: {src}")
    suffix = src.suffix.lower()
    trusted_types: list[str] | None = None
    if suffix != ".skops" and suffix not in PICKLE_SUFFIXES:
        raise InvalidInput(f"unsupported model file {src.name!r}: expected .skops or a pickle "
                           f"({', '.join(PICKLE_SUFFIXES)})")
    data = _checked_bytes(src, accept_risks)
    if suffix == ".skops":
        estimator, trusted_types = _load_skops(src, data, trusted)
    else:
        estimator = _load_pickle(src, data, trusted)
    n_features = getattr(estimator, "n_features_in_", None)
    try:
        n_features = int(n_features) if n_features is not None else None
    except (TypeError, ValueError):
        n_features = None
    if not n_features or n_features < 1:
        raise InvalidInput(f"cannot tell the input width of {type(estimator).__name__}: it has "
                           "no n_features_in_ (is it fitted?)")
    from sklearn.base import is_classifier

    # classifiers output a plain probability tensor, not ZipMap's list of dicts, which many
    # runtimes (and onnx's reference evaluator) do not implement
    options = {"zipmap": False} if is_classifier(estimator) else None
    try:
        model = convert_sklearn(estimator,
                                initial_types=[("input", FloatTensorType([None, n_features]))],
                                target_opset=target_opset, options=options)
    except Exception as e:  # skl2onnx raises assorted RuntimeError/NameError subclasses
        raise ConversionError(f"skl2onnx cannot convert {type(estimator).__name__}: {e}") \
            from e
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    result: dict[str, Any] = {
        "estimator": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
        "n_features": n_features,
        "opset": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
        "inputs": [i.name for i in model.graph.input],
        "outputs": [o.name for o in model.graph.output],
        "path": str(dst),
        "bytes": len(data),
    }
    if trusted_types is not None:
        result["trusted_types"] = trusted_types
    return result
