"""``blacklake_importer``: a ``dsl.importer`` for a ``blacklake://`` URI.

An importer makes an existing artifact an input of the pipeline graph (it shows in the KFP UI
and in KFP's lineage) without running a task. The URI is resolved when the pipeline is
*defined* (i.e. compiled), so the compiled pipeline names the exact commit: re-running it
reads the same bytes even after the branch moved. KFP does not know the ``blacklake`` scheme,
so a downstream component gets ``artifact.uri`` (and ``artifact.path``, equal to it), not a
local file; read it with ``blacklake_ml.open(artifact.uri)`` or
:func:`blacklake_ml.integrations.kfp.runtime.pull`, or use the ``pull_*`` components instead
when the task needs files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kfp import dsl
from kfp.dsl import Dataset

from blacklake_ml.core.uri import BlacklakeURI
from blacklake_ml.integrations.kfp.artifacts import PREFIX
from blacklake_ml.integrations.kfp.runtime import open_store, resolve

if TYPE_CHECKING:
    from kfp.dsl.pipeline_task import PipelineTask

    from blacklake_ml.api import Store


def blacklake_importer(uri: str, artifact_class: type[Any] = Dataset, *,
                       store: Store | None = None, pin: bool = True,
                       reimport: bool = False) -> PipelineTask:
    """A ``dsl.importer`` task for ``uri`` (use inside a ``@dsl.pipeline``).

    With ``pin`` (default) the URI is resolved now, through ``store`` or the store the
    environment names: the artifact URI becomes ``blacklake://repo/<commit>/path`` and its
    metadata carries the commit, content id, digest and size (the ``blacklake_*`` keys of the
    pull components). ``pin=False`` keeps ``uri`` as given (resolved when read) and needs no
    store at definition time. Unknown repositories, refs or paths raise here, before anything
    is compiled or submitted.
    """
    BlacklakeURI.parse(uri)  # bad URIs fail the same way pinned or not
    if not pin:
        return dsl.importer(artifact_uri=uri, artifact_class=artifact_class,
                            reimport=reimport, metadata={f"{PREFIX}source_uri": uri})
    if store is None:
        with open_store() as own:
            ref = resolve(own, uri)
    else:
        ref = resolve(store, uri)
    return dsl.importer(artifact_uri=ref.pinned_uri, artifact_class=artifact_class,
                        reimport=reimport, metadata=ref.metadata())
