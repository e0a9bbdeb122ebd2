"""Metadata extraction: read a model's or dataset's headers, never execute its contents.

Public entry points: :func:`extract_file` / :func:`extract_dir` (run the matching extractor
plugin, errors become ``Facts.error``), :func:`extractor_versions` (cache keys), the plugin
interface in :mod:`blacklake_ml.extract.base`, and local sources in
:mod:`blacklake_ml.extract.local`. Format modules (``onnx_ext``, ``pytorch_ext``, …) import
their optional libraries lazily, so importing this package needs none of them.
"""

from __future__ import annotations

from blacklake_ml.extract.base import (
    DirExtractor,
    DirView,
    ExtractionError,
    Facts,
    FileExtractor,
    NotApplicable,
    NotRecognised,
    Source,
)
from blacklake_ml.extract.local import LocalDirView, LocalFileSource, SourceReader
from blacklake_ml.extract.registry import (
    dir_extractor_for,
    extract_dir,
    extract_file,
    extractor_versions,
    file_extractor_for,
    file_extractors_matching,
)

__all__ = [
    "DirExtractor",
    "DirView",
    "ExtractionError",
    "Facts",
    "FileExtractor",
    "LocalDirView",
    "LocalFileSource",
    "NotApplicable",
    "NotRecognised",
    "Source",
    "SourceReader",
    "dir_extractor_for",
    "extract_dir",
    "extract_file",
    "extractor_versions",
    "file_extractor_for",
    "file_extractors_matching",
]
