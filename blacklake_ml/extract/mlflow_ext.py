"""MLflow model directories (an ``MLmodel`` YAML file): flavors, signature, run lineage.

Reported: the flavors and their versions, the framework (the first flavor other than
``python_function``), the signature's inputs/outputs/params (stored as JSON strings inside the
YAML), ``run_id``, ``model_uuid``, ``utc_time_created``, ``mlflow_version``, and the Python
version from the ``python_function`` flavor. When the sklearn flavor points at a pickled or
skops model file, that file is scanned too (without loading it) so ``unsafe`` reaches the
directory's facts.
"""

from __future__ import annotations

from typing import Any

from blacklake_ml.extract._util import MAX_SMALL_FILE, bounded, clip, load_json, one_line
from blacklake_ml.extract.base import DirExtractor, DirView, ExtractionError, NotApplicable

_FRAMEWORKS = {"sklearn": "sklearn", "pytorch": "pytorch", "tensorflow": "tensorflow",
               "keras": "keras", "transformers": "transformers", "onnx": "onnx",
               "xgboost": "xgboost", "lightgbm": "lightgbm", "catboost": "catboost",
               "spark": "spark", "statsmodels": "statsmodels", "prophet": "prophet",
               "sentence_transformers": "sentence-transformers", "langchain": "langchain",
               "openai": "openai", "h2o": "h2o", "paddle": "paddle", "spacy": "spacy",
               "fastai": "fastai", "mxnet": "mxnet", "pmdarima": "pmdarima",
               "diviner": "diviner", "johnsnowlabs": "johnsnowlabs"}


def _signature_part(value: Any) -> Any:
    """MLflow stores each signature part as a JSON string: decode it (bounded)."""
    if isinstance(value, str):
        if len(value) > MAX_SMALL_FILE:
            return None
        try:
            return bounded(load_json(value.encode(), "MLmodel signature"))
        except ValueError:
            return clip(value)
    return bounded(value)


def _model_file_facts(d: DirView, path: str) -> dict[str, Any]:
    """Scan a flavor's model file without loading it (pickle or skops)."""
    from blacklake_ml.extract.sklearn_ext import scan_pickle_file, scan_skops_file

    src = d.open(path)
    if path.endswith(".skops"):
        return scan_skops_file(src)
    return scan_pickle_file(src)


class MLflowExtractor(DirExtractor):
    """Directories with an ``MLmodel`` file."""

    name = "mlflow"
    version = 1
    priority = 20

    def matches(self, entries: list[tuple[str, str, int]]) -> bool:
        return any(n == "MLmodel" and k == "f" for n, k, _ in entries)

    def extract(self, d: DirView) -> dict[str, Any]:
        src = d.open("MLmodel")
        if src.size > MAX_SMALL_FILE:
            raise ValueError(f"MLmodel is {src.size} bytes (limit {MAX_SMALL_FILE})")
        try:
            import yaml
        except ImportError:
            raise ValueError("pyyaml is not installed: cannot read MLmodel") from None
        try:
            doc = yaml.safe_load(src.read(0, src.size).decode("utf-8", "replace"))
        except yaml.YAMLError as e:
            raise ValueError(f"MLmodel is not valid YAML: {one_line(e, 200)}") from None
        if not isinstance(doc, dict):
            raise NotApplicable
        doc = bounded(doc)
        flavors = doc.get("flavors") if isinstance(doc.get("flavors"), dict) else {}
        details: dict[str, Any] = {"flavors": sorted(flavors)}
        facts: dict[str, Any] = {"kind": "model", "format": "mlflow",
                                 "name": d.name or "model", "details": details}
        framework = next((_FRAMEWORKS.get(f, f) for f in flavors if f != "python_function"),
                         None)
        facts["framework"] = framework or "mlflow"
        versions = {}
        for fname, fl in flavors.items():
            if isinstance(fl, dict):
                for key, value in fl.items():
                    if key.endswith("_version") and isinstance(value, (str, int, float)):
                        versions[f"{fname}.{key}"] = clip(str(value), 64)
        if versions:
            details["flavor_versions"] = versions
        pyfunc = flavors.get("python_function")
        if isinstance(pyfunc, dict):
            if pyfunc.get("python_version"):
                details["python_version"] = clip(str(pyfunc["python_version"]), 32)
            if isinstance(pyfunc.get("loader_module"), str):
                details["loader_module"] = clip(pyfunc["loader_module"], 128)
        for key in ("run_id", "model_uuid", "utc_time_created", "mlflow_version",
                    "artifact_path", "model_id", "model_size_bytes"):
            if doc.get(key) is not None:
                v = doc[key]
                details[key] = v if isinstance(v, int) else clip(str(v), 256)
        sig = doc.get("signature")
        if isinstance(sig, dict):
            details["signature"] = {part: _signature_part(sig.get(part))
                                    for part in ("inputs", "outputs", "params")
                                    if sig.get(part) is not None}
        sk = flavors.get("sklearn")
        if isinstance(sk, dict) and isinstance(sk.get("pickled_model"), str):
            path = sk["pickled_model"]
            details["model_file"] = clip(path, 256)
            inner: dict[str, Any] = {}
            try:
                inner = _model_file_facts(d, path)
            except ExtractionError as e:  # malformed, but what was learnt (unsafe) counts
                inner = e.partial
                details["model_file_error"] = one_line(e, 300)
            except Exception as e:  # noqa: BLE001 - the MLmodel facts stand on their own
                details["model_file_error"] = one_line(e, 300)
            if inner.get("architecture"):
                facts["architecture"] = inner["architecture"]
            if inner.get("unsafe"):
                facts["unsafe"] = inner["unsafe"]
            if inner:
                details["model_file_classes"] = inner.get("details", {}).get("classes", [])
        return facts
