"""Keras 3 ``.keras`` archives: model class, layers, input shapes, Keras version, parameters.

A ``.keras`` file is a zip with ``config.json`` (the architecture), ``metadata.json`` (Keras
version, save date) and ``model.weights.h5``. The JSON members are small and read whole (capped);
the parameter count comes from the HDF5 dataset *shapes* (read through h5py over range reads of
the stored member, no weight data is read), counting ``layers/`` and model-level ``vars/`` and
leaving out the optimizer's slots. Without h5py the count is omitted.
"""

from __future__ import annotations

from typing import Any

from blacklake_ml.extract._util import (
    MAX_SMALL_FILE,
    FormatError,
    bounded,
    clip,
    load_json,
    one_line,
    stem,
)
from blacklake_ml.extract._zip import member_source, open_zip, read_member
from blacklake_ml.extract.base import FileExtractor, Source
from blacklake_ml.extract.local import SourceReader

#: largest compressed weights member decompressed into memory (stored ones are read in place)
MAX_WEIGHTS_IN_MEMORY = 256 * 1024 * 1024
MAX_LAYERS_LISTED = 500
MAX_H5_OBJECTS = 200_000


def _shape(v: Any) -> list[int | None] | None:
    if isinstance(v, list) and len(v) <= 64 and all(
            d is None or isinstance(d, int) for d in v):
        return v
    return None


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _layers(config: dict[str, Any]) -> list[dict[str, Any]]:
    layers = _dict(config.get("config")).get("layers")
    out = []
    if isinstance(layers, list):
        for layer in layers:
            if not isinstance(layer, dict):
                continue
            cfg = _dict(layer.get("config"))
            out.append({"class_name": clip(str(layer.get("class_name", "?")), 128),
                        "name": clip(str(cfg.get("name", layer.get("name", ""))), 128)})
    return out


def _input_shapes(config: dict[str, Any]) -> list[list[int | None]]:
    shapes: list[list[int | None]] = []
    layers = _dict(config.get("config")).get("layers")
    for layer in layers if isinstance(layers, list) else []:
        if isinstance(layer, dict) and layer.get("class_name") == "InputLayer":
            cfg = _dict(layer.get("config"))
            s = _shape(cfg.get("batch_shape", cfg.get("batch_input_shape")))
            if s is not None:
                shapes.append(s)
    if not shapes:
        build = config.get("build_config")
        if isinstance(build, dict):
            s = _shape(build.get("input_shape"))
            if s is not None:
                shapes.append(s)
    return shapes


def h5_parameters(src: Source) -> int:
    """Elements of the weight datasets of a Keras weights HDF5 file (optimizer excluded)."""
    import h5py

    total = 0
    seen = 0
    with h5py.File(SourceReader(src), "r") as f:
        todo = [(k, f[k]) for k in f if k != "optimizer"]
        while todo:
            name, obj = todo.pop()
            seen += 1
            if seen > MAX_H5_OBJECTS:
                raise ValueError(f"weights file has more than {MAX_H5_OBJECTS} objects")
            if isinstance(obj, h5py.Dataset):
                total += int(obj.size or 0)
            elif isinstance(obj, h5py.Group):
                todo.extend((f"{name}/{k}", obj[k]) for k in obj)
    return total


class KerasExtractor(FileExtractor):
    """``.keras`` archives (Keras 3)."""

    name = "keras"
    version = 1
    priority = 10
    suffixes = (".keras",)

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.lower().endswith(".keras")

    def extract(self, src: Source) -> dict[str, Any]:
        zf = open_zip(src)
        names = set(zf.namelist())
        if "config.json" not in names:
            raise ValueError(".keras archive without config.json")
        config = load_json(read_member(zf, "config.json", MAX_SMALL_FILE), "config.json")
        if not isinstance(config, dict):
            raise FormatError("config.json is not a JSON object")
        details: dict[str, Any] = {}
        facts: dict[str, Any] = {"kind": "model", "format": "keras", "framework": "keras",
                                 "details": details}
        cls = config.get("class_name")
        if isinstance(cls, str):
            facts["architecture"] = clip(cls, 128)
        model_name = _dict(config.get("config")).get("name")
        facts["name"] = clip(model_name, 256) if isinstance(model_name, str) and model_name \
            else stem(src.name)
        layers = _layers(config)
        details["layer_count"] = len(layers)
        details["layers"] = layers[:MAX_LAYERS_LISTED]
        details["input_shapes"] = _input_shapes(config)
        module = config.get("module")
        if isinstance(module, str):
            details["module"] = clip(module, 256)
        compile_cfg = config.get("compile_config")
        if isinstance(compile_cfg, dict):
            opt = compile_cfg.get("optimizer")
            details["compile"] = {
                "optimizer": clip(str(opt.get("class_name")), 128) if isinstance(opt, dict)
                else bounded(opt),
                "loss": bounded(compile_cfg.get("loss"), depth=3),
            }
        if "metadata.json" in names:
            meta = load_json(read_member(zf, "metadata.json", MAX_SMALL_FILE), "metadata.json")
            if isinstance(meta, dict):
                details["keras_version"] = clip(str(meta.get("keras_version", "")), 64)
                if meta.get("date_saved"):
                    details["date_saved"] = clip(str(meta["date_saved"]), 64)
        if "model.weights.h5" in names:
            try:
                weights = member_source(src, zf, zf.getinfo("model.weights.h5"),
                                        MAX_WEIGHTS_IN_MEMORY)
                facts["parameters"] = h5_parameters(weights)
            except ImportError:
                details["parameters_note"] = "h5py not installed (pip install " \
                                             "'blacklake-ml[models]')"
            except (OSError, ValueError, KeyError) as e:
                details["parameters_note"] = f"weights unreadable: {one_line(e, 200)}"
        return facts
