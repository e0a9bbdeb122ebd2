"""The extractor plugin interface: read a stored file's (or directory's) headers, return facts.

Extractors never execute or unpickle anything from the bytes they read, and read only what
they need (headers, small member files) through :class:`Source` range reads, so extraction
costs little next to storing a large file. Anything unexpected becomes ``Facts.error``;
an extractor must never crash the caller (the registry wraps every call as a second fence).

Normalised fact keys (what search facets and cards rely on; all optional):

``kind``         "model" | "dataset"
``format``       "onnx", "pytorch", "safetensors", "gguf", "keras", "tf-savedmodel",
                 "sklearn", "huggingface", "mlflow", "csv", "parquet", "imagefolder", ...
``framework``    "onnx", "pytorch", "tensorflow", "keras", "sklearn", "transformers",
                 "llama.cpp", "mlflow", "pyarrow", ...
``name``         human title (model-card title, HF model id, file stem)
``task``         e.g. "automatic-speech-recognition" (HF pipeline_tag)
``license``      SPDX-ish id from the model card, lowercase
``language``     list of language codes
``tags``         list of strings
``datasets``     list of dataset ids the model was trained on
``base_model``   list of model ids this one derives from
``architecture`` e.g. "BertForSequenceClassification", "llama"
``parameters``   int, total parameter (or tensor element) count
``rows``         int (datasets)
``description``  model-card body text (markdown, front matter removed), truncated
``unsafe``       list of strings: pickle globals outside the safe allow-list
``details``      dict of format-specific facts (opset, inputs/outputs, schema, quantization..)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Protocol


class Source(Protocol):
    """Random access to one file's bytes (a stored blob or a local file)."""

    name: str  # base name, e.g. "model.onnx"
    size: int

    def read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` (clamped to the file size)."""
        ...


class DirView(Protocol):
    """Read-only view of one directory (stored tree or local folder)."""

    name: str  # base name of the directory ("" for a repository root)

    def entries(self, relpath: str = "") -> list[tuple[str, str, int]]:
        """Direct children of ``relpath`` as ``(name, kind "f"|"d", size)``, sorted by name."""
        ...

    def open(self, relpath: str) -> Source:
        """A :class:`Source` for the file at ``relpath`` (``FileNotFoundError`` if none)."""
        ...


@dataclass
class Facts:
    """What one extractor learnt about one file or directory."""

    extractor: str
    facts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    #: False when the bytes are not the extractor's format at all (:class:`NotRecognised`):
    #: the failure is still a fact of the file, but the file is no asset (no search card)
    recognised: bool = True

    def to_json(self) -> dict[str, Any]:
        """JSON-serialisable form (stored in the catalog, returned by the API)."""
        out: dict[str, Any] = {"extractor": self.extractor, **self.facts}
        if self.error:
            out["error"] = self.error
        if not self.recognised:
            out["recognised"] = False
        return out


class NotApplicable(Exception):
    """Raised by ``extract`` when a closer look shows the input is not this extractor's format
    after all (``matches`` only sees names and a few bytes). The registry then tries the next
    matching extractor instead of recording an error."""


class NotRecognised(ValueError):
    """Raised by ``extract`` when the file's first bytes show it is not this format at all: no
    signature (a ``.pt`` that is neither a zip nor a pickle, a ``.pkl`` whose first byte is no
    pickle opcode, a ``.csv`` full of NUL bytes) -- decided before reading any structure,
    so a folder of random bytes named like models costs microseconds per file.

    Unlike :class:`NotApplicable` this is still reported: the registry records the message
    as the file's ``error`` with ``recognised: false`` (``ls`` shows it as the file's
    extraction error), and the search indexer gives such a file no card -- it is not an
    asset, just bytes with a model's name. The next matching extractor is tried first.
    A ``ValueError``, so code that reads a member file with an extractor's scan (a Hugging
    Face folder's ``pytorch_model.bin``) handles it as any malformed input."""


class ExtractionError(Exception):
    """Raised by ``extract`` when the input is malformed but some facts were learnt before the
    problem showed (e.g. a truncated pickle that already named ``os.system``): the registry
    records ``partial`` as the facts *and* the message as the error, so nothing learnt is lost."""

    def __init__(self, message: str, partial: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.partial: dict[str, Any] = partial or {}


class FileExtractor(ABC):
    """Facts about a single file, decided by its name and first bytes."""

    #: unique short name, e.g. "onnx"; bump ``version`` when output changes (cache key)
    name: str = ""
    version: int = 1
    #: higher runs first when several match
    priority: int = 0
    #: Optional promise about :meth:`matches`, letting the registry skip the call for most
    #: files of a big folder: it can only be true for a name ending with one of these
    #: lower-case ``suffixes`` or a ``head`` starting with one of ``magics``. None (the
    #: default) promises nothing: ``matches`` is asked about every file.
    suffixes: tuple[str, ...] | None = None
    magics: tuple[bytes, ...] = ()

    @abstractmethod
    def matches(self, filename: str, head: bytes) -> bool:
        """Whether this extractor handles a file called ``filename`` starting with ``head``
        (the first 64 bytes or fewer). Must be cheap and must not raise."""

    @abstractmethod
    def extract(self, src: Source) -> dict[str, Any]:
        """The normalised facts (see module doc). Raise any exception on malformed input:
        the registry records it as an extraction error."""


class DirExtractor(ABC):
    """Facts about a directory that is one asset (HF model dir, MLflow model, SavedModel,
    image-folder dataset), decided by the names it contains."""

    name: str = ""
    version: int = 1
    priority: int = 0

    @abstractmethod
    def matches(self, entries: list[tuple[str, str, int]]) -> bool:
        """Whether a directory with these direct children is this kind of asset. Cheap."""

    @abstractmethod
    def extract(self, d: DirView) -> dict[str, Any]:
        """The normalised facts of the directory as a whole (see module doc)."""
