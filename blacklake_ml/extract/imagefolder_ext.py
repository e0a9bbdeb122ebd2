"""Image-folder datasets: one subdirectory per class (optionally under train/val/test splits).

Recognised by name (see ``matches``): ``train/`` next to ``val/``/``test/``, or two or more
class folders next to a dataset marker file such as ``labels.txt`` or ``metadata.csv``.

Only listings are read, never an image: classes are the subdirectories, counts are the image
files (by extension) directly inside each. A directory that turns out to hold no images is
``NotApplicable``, so other extractors (or none) get it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from blacklake_ml.extract._util import clip
from blacklake_ml.extract.base import DirExtractor, DirView, NotApplicable

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff",
                    ".ppm", ".pgm")
SPLITS = ("train", "training", "val", "valid", "validation", "test", "testing", "dev")
#: files that mark a flat folder of class folders as a dataset
DATASET_MARKERS = frozenset({"labels.txt", "classes.txt", "class_names.txt", "synsets.txt",
                             "metadata.csv", "metadata.jsonl", "dataset_info.json",
                             "dataset_infos.json", "dataset.json"})
#: most class directories listed (all are counted up to MAX_CLASSES)
MAX_CLASSES = 20_000
MAX_LISTED = 1000


#: folder names of code/model repositories: a directory holding one is not a class folder
_PROJECT_DIRS = frozenset({
    "src", "lib", "models", "model", "data", "datasets", "notebooks", "scripts", "docs",
    "tests", "test_data", "configs", "config", "checkpoints", "weights", "outputs", "output",
    "logs", "runs", "mlruns", "assets", "utils", "pipelines", "benchmarks", "examples",
    "variables", "artifacts", "build", "dist", "node_modules", "venv",
})
_METADATA_SUFFIXES = (".md", ".txt", ".json", ".csv", ".tsv", ".yaml", ".yml", ".cff")


def _is_metadata_file(name: str) -> bool:
    low = name.lower()
    return low.endswith(_METADATA_SUFFIXES) or low.startswith(("license", "readme", ".git"))


def _subdirs(entries: list[tuple[str, str, int]]) -> list[str]:
    return [n for n, k, _ in entries if k == "d" and not n.startswith((".", "_"))]


def _classes(d: DirView, base: str, exts: Counter[str]) -> tuple[dict[str, int], int]:
    """``({class: image count}, non-image files)`` for the class folders under ``base``."""
    classes: dict[str, int] = {}
    other = 0
    for cls in _subdirs(d.entries(base))[:MAX_CLASSES]:
        n = 0
        for name, kind, _ in d.entries(f"{base}/{cls}" if base else cls):
            if kind != "f":
                continue
            ext = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if ext in IMAGE_EXTENSIONS:
                n += 1
                exts[ext] += 1
            else:
                other += 1
        classes[cls] = n
    return classes, other


class ImageFolderExtractor(DirExtractor):
    """Directories laid out as ``<class>/<image>`` or ``<split>/<class>/<image>``."""

    name = "imagefolder"
    version = 1
    priority = 0

    def matches(self, entries: list[tuple[str, str, int]]) -> bool:
        # Only names are visible here, and a match makes the whole directory one asset for
        # the search indexer; a folder of model folders looks exactly like class folders by
        # name. So: a train split next to another split, or class folders next to a dataset
        # marker file (labels.txt, metadata.csv, ...), with only metadata files beside them.
        dirs = _subdirs(entries)
        lowered = {n.lower() for n in dirs}
        files = [n for n, k, _ in entries if k == "f"]
        if not all(_is_metadata_file(n) for n in files):
            return False
        if lowered & {"train", "training"} and lowered & set(SPLITS) - {"train", "training"}:
            return True
        return (len(dirs) >= 2 and not lowered & _PROJECT_DIRS
                and any(n.lower() in DATASET_MARKERS for n in files))

    def extract(self, d: DirView) -> dict[str, Any]:
        top = _subdirs(d.entries(""))
        splits = [s for s in top if s.lower() in SPLITS]
        exts: Counter[str] = Counter()
        details: dict[str, Any] = {}
        if splits:
            per_split: dict[str, Any] = {}
            merged: Counter[str] = Counter()
            other = 0
            for split in splits:
                classes, o = _classes(d, split, exts)
                other += o
                merged.update(classes)
                per_split[clip(split, 128)] = {"images": sum(classes.values()),
                                               "classes": len(classes)}
            details["splits"] = per_split
            counts = dict(merged)
        else:
            counts, other = _classes(d, "", exts)
        counts = {k: v for k, v in counts.items() if v}
        total = sum(counts.values())
        if not total:
            raise NotApplicable
        ordered = sorted(counts.items())
        details["class_count"] = len(ordered)
        details["classes"] = {clip(k, 128): v for k, v in ordered[:MAX_LISTED]}
        details["extensions"] = dict(exts.most_common())
        if other:
            details["non_image_files"] = other
        return {"kind": "dataset", "format": "imagefolder", "name": d.name or "images",
                "rows": total, "details": details}
