"""``blacklake://`` datasets in MLflow: a dataset source plus ``dataset()`` / ``log_input()``.

``BlackLakeDatasetSource`` is registered under the ``mlflow.dataset_source`` entry point, so
``mlflow.data.from_pandas(df, source="blacklake://data/main/train.csv")`` resolves the URI
to the commit it names *now* and records the source as that pinned URI with the file's
SHA-256, size and content id (``to_dict``); a run's dataset inputs then say exactly which
bytes it trained on even after ``main`` moves.

MLflow has no hook when ``mlflow.log_input`` logs a dataset, so:

* resolving a ``blacklake://`` source counts as a read (:mod:`.inputs`): inside a run it is
  tagged on the run and recorded as ``dataset --consumed--> run`` at once; before a run it
  is tagged on the next run and recorded when that run next touches BlackLake;
* :func:`log_input` does both in one call: builds the dataset (loading a CSV/Parquet file
  into pandas, or a metadata-only dataset for anything else), calls ``mlflow.log_input``
  and records the lineage.

MLflow also derives a plain URI source for every artifact-repository scheme
(``BlackLakeArtifactDatasetSource``); it would resolve the same URIs without pinning, so it
is taken out of the registry when this module loads.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mlflow.data.dataset_source import DatasetSource

from blacklake_ml.core.uri import SCHEME
from blacklake_ml.errors import InvalidInput
from blacklake_ml.integrations.mlflow import inputs, tracking

if TYPE_CHECKING:
    from blacklake_ml.api import Store

SOURCE_TYPE = "blacklake"
_FIELDS = ("requested_uri", "repo", "commit", "path", "kind", "object_id", "size", "sha256")
#: MLflow stores a dataset digest in at most 36 characters
_DIGEST_CHARS = 32
_TABULAR = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


class BlackLakeDatasetSource(DatasetSource):
    """A dataset stored in BlackLake, pinned to a commit."""

    def __init__(self, uri: str, **details: Any) -> None:
        if not isinstance(uri, str) or not uri.startswith(SCHEME):
            raise InvalidInput(f"not a blacklake URI: {uri!r}")
        self._uri = uri
        self._details = {k: details.get(k) for k in _FIELDS}

    @classmethod
    def of(cls, inp: inputs.PinnedInput) -> BlackLakeDatasetSource:
        """The source for a pinned input."""
        doc = inp.to_json()
        return cls(doc.pop("uri"), **doc)

    @property
    def uri(self) -> str:
        """The pinned ``blacklake://repo/<commit>/<path>`` URI."""
        return self._uri

    @property
    def sha256(self) -> str | None:
        """SHA-256 of the file (None for a directory)."""
        return self._details.get("sha256")

    @property
    def commit(self) -> str | None:
        """Commit the source is pinned to."""
        return self._details.get("commit")

    @staticmethod
    def _get_source_type() -> str:
        return SOURCE_TYPE

    def load(self, dst_path: str | None = None) -> str:
        """Download the file or directory (at the pinned commit) and return its local path."""
        from blacklake_ml.integrations.mlflow.session import get_store

        store = get_store()
        inp = inputs.pin(store, self._uri)
        inputs.notice(inp, tracking.active_run_id())
        repo = store.repo(inp.repo)
        out_dir = dst_path or tempfile.mkdtemp(prefix="blacklake-dataset-")
        os.makedirs(out_dir, exist_ok=True)
        name = os.path.basename(inp.path) or inp.repo
        out = os.path.join(out_dir, name)
        repo.get(inp.commit, inp.path, out)
        return out

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return isinstance(raw_source, str) and raw_source.startswith(SCHEME)

    @classmethod
    def _resolve(cls, raw_source: Any) -> BlackLakeDatasetSource:
        from blacklake_ml.integrations.mlflow.session import get_store

        return cls.of(_read(get_store(), str(raw_source)))

    def to_dict(self) -> dict[str, Any]:
        """``{"uri": pinned URI, "requested_uri", "repo", "commit", "path", "kind",
        "object_id", "size", "sha256"}`` (unknown fields left out)."""
        return {"uri": self._uri, **{k: v for k, v in self._details.items() if v is not None}}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> BlackLakeDatasetSource:
        uri = source_dict.get("uri")
        if not isinstance(uri, str):
            raise InvalidInput("a blacklake dataset source needs a 'uri'")
        return cls(uri, **{k: source_dict.get(k) for k in _FIELDS})


def _read(store: Store, uri: str, tracking_uri: str | None = None) -> inputs.PinnedInput:
    """Pin ``uri``, notice the read and bring the active run (if any) up to date."""
    inp = inputs.pin(store, uri)
    run_id = tracking.active_run_id()
    inputs.notice(inp, run_id)
    if run_id is not None:
        inputs.sync_run(run_id, store=store, tracking_uri=tracking_uri)
    return inp


def dataset(uri: str, *, df: Any = None, name: str | None = None, targets: str | None = None,
            store: Store | None = None) -> Any:
    """An MLflow dataset whose source is ``uri`` pinned to its commit.

    With ``df`` (a pandas DataFrame derived from the file) it is a ``PandasDataset`` of it;
    otherwise a CSV/TSV/Parquet file is loaded into one (digest: the file's SHA-256), and
    anything else (a directory, model weights…) becomes a metadata-only ``MetaDataset``.
    """
    from mlflow.data.pandas_dataset import from_pandas

    from blacklake_ml.integrations.mlflow.session import get_store

    st = store or get_store()
    inp = _read(st, uri)
    source = BlackLakeDatasetSource.of(inp)
    label = name or os.path.basename(inp.path) or inp.repo
    digest = (inp.sha256 or inp.object_id)[:_DIGEST_CHARS]
    if df is not None:
        return from_pandas(df, source=source, name=label, targets=targets)
    fmt = _TABULAR.get(os.path.splitext(inp.path)[1].lower()) if inp.kind == "file" else None
    if fmt is not None:
        import pandas as pd

        with st.open_uri(inp.pinned) as raw:
            if fmt == "parquet":
                frame = pd.read_parquet(raw)
            else:
                frame = pd.read_csv(raw, sep="\t" if fmt == "tsv" else ",")
        return from_pandas(frame, source=source, name=label, targets=targets,
                                       digest=digest)
    from mlflow.data.meta_dataset import MetaDataset

    # MLflow's own class; mypy sees an abstract property it implements at runtime
    return MetaDataset(source, name=label, digest=digest)  # type: ignore[abstract]


def log_input(uri_or_dataset: Any, *, context: str | None = None,
              tags: Mapping[str, str] | None = None, df: Any = None, name: str | None = None,
              targets: str | None = None, store: Store | None = None) -> Any:
    """``mlflow.log_input`` for a ``blacklake://`` URI (or a dataset with a BlackLake
    source), plus ``dataset --consumed--> run`` lineage and the ``blacklake.inputs`` tag.
    Starts a run if none is active, as ``mlflow.log_input`` does. Returns the dataset."""
    import mlflow

    from blacklake_ml.integrations.mlflow.session import get_store

    st = store or get_store()
    if isinstance(uri_or_dataset, str):
        ds = dataset(uri_or_dataset, df=df, name=name, targets=targets, store=st)
    else:
        ds = uri_or_dataset
        if not isinstance(getattr(ds, "source", None), BlackLakeDatasetSource):
            raise InvalidInput("log_input takes a blacklake:// URI or a dataset whose source "
                               "is a BlackLakeDatasetSource")
    mlflow.log_input(ds, context=context, tags=dict(tags) if tags else None)
    run_id = tracking.active_run_id()
    assert run_id is not None  # mlflow.log_input started one if needed
    inputs.notice(inputs.pin(st, ds.source.uri), run_id)
    inputs.sync_run(run_id, store=st)
    return ds


def _drop_generic_source() -> None:
    """Remove MLflow's auto-derived ``blacklake`` artifact source (see module docstring)."""
    from mlflow.data import dataset_source_registry as reg

    registry = reg._dataset_source_registry
    registry.sources = [s for s in registry.sources
                        if s is BlackLakeDatasetSource or not (
                            s.__name__ == "BlackLakeArtifactDatasetSource"
                            and s._get_source_type() == SOURCE_TYPE)]


# Importing the registry here is safe in both orders: loaded through the entry point, the
# registry module is mid-import but its registry object already exists; imported directly,
# the registry's own import loads this (already defined) class through the entry point.
_drop_generic_source()
