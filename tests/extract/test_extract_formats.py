"""safetensors, GGUF, Keras, CSV/TSV, Parquet and image folders against their libraries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from extract_helpers import CountingSource, dir_facts_of, facts_of, ok

from blacklake_ml.extract import registry, tabular_ext


def test_safetensors(safetensors_file: dict[str, Any]) -> None:
    from safetensors import safe_open

    path = safetensors_file["path"]
    f = facts_of(path)
    assert f.extractor == "safetensors"
    facts = ok(f)
    with safe_open(str(path), "pt") as st:
        expected = {k: list(st.get_slice(k).get_shape()) for k in st.keys()}  # noqa: SIM118
        metadata = st.metadata()
        dtypes = {k: st.get_slice(k).get_dtype() for k in st.keys()}  # noqa: SIM118
    tensors = {t["name"]: t["shape"] for t in facts["details"]["tensors"]}
    assert tensors == expected
    assert {t["name"]: t["dtype"] for t in facts["details"]["tensors"]} == dtypes
    assert facts["parameters"] == sum(t.numel() for t in safetensors_file["tensors"].values())
    assert facts["details"]["metadata"] == metadata
    assert facts["framework"] == "pytorch"


def test_safetensors_reads_only_the_header(safetensors_file: dict[str, Any]) -> None:
    src = CountingSource(safetensors_file["path"])
    f = registry.extract_file(src)
    assert f is not None and f.error is None
    header_len = int.from_bytes(safetensors_file["path"].read_bytes()[:8], "little")
    assert src.bytes_read <= 64 + 8 + header_len


def test_gguf(gguf_file: dict[str, Any]) -> None:
    import gguf

    path = gguf_file["path"]
    f = facts_of(path)
    assert f.extractor == "gguf"
    facts = ok(f)
    reader = gguf.GGUFReader(str(path))
    d = facts["details"]
    assert facts["architecture"] == "llama" and facts["name"] == "Tiny Llama"
    assert facts["framework"] == "llama.cpp" and facts["license"] == "mit"
    assert facts["parameters"] == sum(int(t.n_elements) for t in reader.tensors)
    assert d["tensor_count"] == len(reader.tensors)
    assert d["quantization"] == gguf.LlamaFileType.MOSTLY_Q8_0.name.removeprefix("MOSTLY_")
    assert (d["context_length"], d["embedding_length"], d["block_count"], d["head_count"]) == (
        512, 32, 2, 4)
    assert d["vocab_size"] == 300
    assert d["tensor_types"] == {"F32": 2, "F16": 1}


def test_keras(keras_file: dict[str, Any]) -> None:
    f = facts_of(keras_file["path"])
    assert f.extractor == "keras"
    facts = ok(f)
    d = facts["details"]
    assert facts["parameters"] == keras_file["count_params"]
    assert (facts["architecture"], facts["name"]) == ("Functional", "tiny_classifier")
    assert d["keras_version"] == keras_file["keras_version"]
    assert d["input_shapes"] == [[None, 6]]
    assert [layer["name"] for layer in d["layers"]] == ["features", "hidden", "bn", "head"]
    assert d["compile"]["optimizer"] == "Adam"


@pytest.mark.parametrize("name, fmt, delimiter", [("data.csv", "csv", ","),
                                                  ("data.tsv", "tsv", "\t")])
def test_csv(tables: dict[str, Any], name: str, fmt: str, delimiter: str) -> None:
    frame = tables["frame"]
    f = facts_of(tables["dir"] / name)
    assert f.extractor == "csv"
    facts = ok(f)
    d = facts["details"]
    assert (facts["kind"], facts["format"], facts["rows"]) == ("dataset", fmt, len(frame))
    assert d["delimiter"] == delimiter and d["rows_estimated"] is False
    assert [c["name"] for c in d["columns"]] == list(frame.columns)
    types = {c["name"]: (c["dtype"], c["nullable"]) for c in d["columns"]}
    assert types == {"id": ("int", False), "score": ("float", False),
                     "label": ("string", False), "ok": ("bool", False),
                     "day": ("date", False), "maybe": ("float", True)}


def test_csv_estimate_beyond_the_cap(tables: dict[str, Any],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular_ext, "MAX_COUNT_BYTES", 1000)
    facts = ok(facts_of(tables["dir"] / "data.csv"))
    n = len(tables["frame"])
    assert facts["details"]["rows_estimated"] is True
    assert abs(facts["rows"] - n) < n * 0.1


def test_parquet_footer_only(tables: dict[str, Any]) -> None:
    import pyarrow.parquet as pq

    path = tables["dir"] / "data.parquet"
    src = CountingSource(path)
    f = registry.extract_file(src)
    assert f is not None and f.extractor == "parquet"
    facts = ok(f)
    meta = pq.ParquetFile(path).metadata
    d = facts["details"]
    assert facts["rows"] == meta.num_rows == len(tables["frame"])
    assert d["row_groups"] == meta.num_row_groups == 5
    assert [(c["name"], c["dtype"]) for c in d["columns"]] == [
        (fld.name, str(fld.type)) for fld in tables["table"].schema]
    assert d["compression"] == {"ZSTD": 6}
    assert src.bytes_read < path.stat().st_size / 2, (src.bytes_read, path.stat().st_size)


def test_parquet_without_pyarrow_names_the_extra(tables: dict[str, Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError("no pyarrow")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    f = facts_of(tables["dir"] / "data.parquet")
    assert f.error is not None and "blacklake-ml[models]" in f.error


def test_image_folder(image_folder: dict[str, Any]) -> None:
    f = dir_facts_of(image_folder["path"])
    assert f.extractor == "imagefolder"
    facts = ok(f)
    counts = image_folder["counts"]
    d = facts["details"]
    assert facts["rows"] == sum(sum(c.values()) for c in counts.values())
    assert d["classes"] == {"bird": 1, "cat": 4, "dog": 3}
    assert d["splits"] == {s: {"images": sum(c.values()), "classes": len(c)}
                           for s, c in counts.items()}
    assert d["extensions"] == {".png": facts["rows"]} and d["non_image_files"] == 5


def test_plain_project_folders_are_not_image_folders(tmp_path: Path) -> None:
    for sub in ("models", "data"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "x.png").write_bytes(b"")
    entries = [("data", "d", 0), ("models", "d", 0)]
    assert registry.dir_extractor_for(entries) is None
    # class-like folders without images: claimed by the name check, then not applicable
    (tmp_path / "q").mkdir()
    (tmp_path / "r").mkdir()
    view_dir = tmp_path / "classes"
    (view_dir / "a").mkdir(parents=True)
    (view_dir / "b").mkdir()
    (view_dir / "a" / "notes.txt").write_text("x")
    from blacklake_ml.extract.local import LocalDirView

    assert registry.extract_dir(LocalDirView(view_dir)) is None


def test_enum_tables_match_the_libraries() -> None:
    """The hand-kept GGUF / ONNX enum tables agree with gguf-py and onnx."""
    import gguf
    import onnx

    from blacklake_ml.extract import gguf_ext, onnx_ext

    sizes = {t.value: tuple(v) for t, v in gguf.GGML_QUANT_SIZES.items()}
    assert {k: sizes[k] for k in gguf_ext.BLOCK_SIZES} == gguf_ext.BLOCK_SIZES
    names = {t.value: t.name for t in gguf.GGMLQuantizationType}
    assert all(names[k] == v for k, v in gguf_ext.TENSOR_TYPES.items())
    ftypes = {t.value: t.name.removeprefix("MOSTLY_").removeprefix("ALL_")
              for t in gguf.LlamaFileType}
    assert all(ftypes[k] == v for k, v in gguf_ext.FILE_TYPES.items())
    onnx_names = {v: k for k, v in onnx.TensorProto.DataType.items()}
    for code, name in onnx_ext.DTYPES.items():
        expected = onnx_names[code].lower().replace("float", "float32", 1) \
            if onnx_names[code] == "FLOAT" else onnx_names[code].lower()
        expected = {"double": "float64"}.get(expected, expected)
        assert name == expected, (code, name, expected)


def test_keras_without_h5py_omits_the_count(keras_file: dict[str, Any],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_h5py(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "h5py":
            raise ImportError("no h5py")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    facts = ok(facts_of(keras_file["path"]))
    assert "parameters" not in facts
    assert "h5py" in facts["details"]["parameters_note"]
    assert facts["architecture"] == "Functional"


def test_registry_imports_without_optional_libraries() -> None:
    """Every extractor module imports with the optional libraries missing (they are imported
    lazily, inside extract)."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "for m in ('onnx', 'pyarrow', 'skops', 'h5py', 'yaml', 'torch', 'numpy', 'joblib',"
        " 'sklearn', 'safetensors', 'gguf', 'keras', 'tensorflow', 'mlflow', 'transformers'):\n"
        "    sys.modules[m] = None\n"
        "from blacklake_ml.extract import registry\n"
        "names = set(registry.extractor_versions())\n"
        "assert names == set(registry.BUILTINS), names\n"
        "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_flat_class_folders_need_a_marker(tmp_path: Path) -> None:
    from PIL import Image

    from blacklake_ml.extract.local import LocalDirView

    for cls, n in (("ants", 2), ("bees", 3)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            Image.new("L", (2, 2)).save(tmp_path / cls / f"{i}.jpg")
    # a folder of folders is not claimed by name alone (model zoos look the same)
    assert registry.extract_dir(LocalDirView(tmp_path)) is None
    (tmp_path / "labels.txt").write_text("ants\nbees\n")
    facts = ok(dir_facts_of(tmp_path))
    assert facts["rows"] == 5 and facts["details"]["classes"] == {"ants": 2, "bees": 3}
    assert "splits" not in facts["details"]
