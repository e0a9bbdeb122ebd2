"""What the bridge asks the MLflow tracking store, and MLflow errors turned into ours.

The artifact repository is called with paths only; the run's name, experiment and logged
datasets come from the tracking store. In a client process that is the tracking URI MLflow
passed to the repository; in ``mlflow server`` (which proxies artifacts and has no active run)
it is the server's own backend store, which the server hands its workers in
``_MLFLOW_SERVER_FILE_STORE``. Lookups are best effort: a write never fails because a lookup
did (the artifact is already committed; lineage then has less detail).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from blacklake_ml.core.uri import SCHEME
from blacklake_ml.errors import BlacklakeError, InvalidInput, NotFound

_log = logging.getLogger(__name__)
#: set by ``mlflow server`` for its workers (mlflow.server.constants.BACKEND_STORE_URI_ENV_VAR)
SERVER_BACKEND_ENV = "_MLFLOW_SERVER_FILE_STORE"
#: set by ``mlflow server`` when it proxies artifacts (ARTIFACTS_DESTINATION_ENV_VAR)
SERVER_DESTINATION_ENV = "_MLFLOW_SERVER_ARTIFACT_DESTINATION"


class MlflowBridgeError(BlacklakeError):
    """MLflow (the tracking server or registry) failed for a reason that is not bad input."""


def in_tracking_server() -> bool:
    """True inside an ``mlflow server`` process that serves artifacts."""
    return bool(os.environ.get(SERVER_DESTINATION_ENV))


def effective_tracking_uri(tracking_uri: str | None = None) -> str | None:
    """``tracking_uri``, else the server's backend store inside ``mlflow server``, else None
    (MLflow's default: ``MLFLOW_TRACKING_URI`` / ``mlflow.set_tracking_uri``)."""
    return tracking_uri or os.environ.get(SERVER_BACKEND_ENV) or None


def client(tracking_uri: str | None = None) -> Any:
    """An ``MlflowClient`` for ``tracking_uri`` (registry on the same URI)."""
    from mlflow import MlflowClient

    uri = effective_tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Turn an ``MlflowException`` raised inside into the matching BlackLake error."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        code = getattr(exc, "error_code", "")
        msg = f"{what}: {exc.message if hasattr(exc, 'message') else exc}"
        if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise NotFound(msg) from None
        if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE"):
            raise InvalidInput(msg) from None
        raise MlflowBridgeError(msg) from None


def active_run_id() -> str | None:
    """The id of this thread's active MLflow run, if any."""
    import mlflow

    run = mlflow.active_run()
    return run.info.run_id if run is not None else None


@dataclass
class RunFacts:
    """What the tracking store says about a run (for lineage facets and inputs)."""

    run_id: str
    name: str | None = None
    experiment_id: str | None = None
    experiment_name: str | None = None
    status: str | None = None
    start_time: int | None = None
    #: pinned ``blacklake://`` URIs of the run's logged datasets (``mlflow.log_input``)
    dataset_uris: list[str] = field(default_factory=list)
    #: ``blacklake.inputs`` tag (what the run read through BlackLake)
    tagged_inputs: list[str] = field(default_factory=list)

    def facets(self) -> dict[str, Any]:
        """Lineage facets of the run node."""
        out: dict[str, Any] = {"run_id": self.run_id}
        for k in ("experiment_id", "status", "start_time"):
            v = getattr(self, k)
            if v is not None:
                out[k] = v
        if self.experiment_name:
            out["experiment"] = self.experiment_name
        return out


def run_facts(run_id: str, tracking_uri: str | None = None) -> RunFacts:
    """Look the run up; on any failure, just the id (best effort, see module docstring)."""
    facts = RunFacts(run_id)
    try:
        c = client(tracking_uri)
        run = c.get_run(run_id)
        facts.name = run.info.run_name
        facts.experiment_id = run.info.experiment_id
        facts.status = run.info.status
        facts.start_time = run.info.start_time
        try:
            facts.experiment_name = c.get_experiment(run.info.experiment_id).name
        except Exception as exc:  # noqa: BLE001 - a facet, not worth failing for
            _log.debug("cannot look up MLflow experiment of run %s: %s", run_id, exc)
        for di in (run.inputs.dataset_inputs if run.inputs else []):
            uri = blacklake_source_uri(di.dataset.source_type, di.dataset.source)
            if uri:
                facts.dataset_uris.append(uri)
        raw = run.data.tags.get(INPUTS_TAG)
        if raw:
            facts.tagged_inputs = parse_inputs_tag(raw)
    except Exception as exc:  # noqa: BLE001 - best effort: the write already landed
        _log.debug("cannot look up MLflow run %s: %s", run_id, exc)
    return facts


def logged_model_run(model_id: str, tracking_uri: str | None = None
                     ) -> tuple[str | None, str | None, str | None]:
    """``(source run id, experiment id, model name)`` of a logged model (Nones if unknown)."""
    try:
        m = client(tracking_uri).get_logged_model(model_id)
        return m.source_run_id, m.experiment_id, m.name
    except Exception as exc:  # noqa: BLE001 - best effort
        _log.debug("cannot look up MLflow logged model %s: %s", model_id, exc)
        return None, None, None


# -- the blacklake.inputs run tag -------------------------------------------------------------
INPUTS_TAG = "blacklake.inputs"
#: MLflow's limit on a tag value (mlflow.utils.validation.MAX_TAG_VAL_LENGTH)
MAX_TAG_VALUE = 8000


def inputs_tag(uris: list[str]) -> dict[str, str]:
    """The run tags listing ``uris``: ``blacklake.inputs`` (a JSON list, as many as fit in a
    tag) and ``blacklake.inputs.count`` (how many there are in all)."""
    kept: list[str] = []
    for uri in uris:
        if len(json.dumps([*kept, uri])) > MAX_TAG_VALUE:
            break
        kept.append(uri)
    return {INPUTS_TAG: json.dumps(kept), f"{INPUTS_TAG}.count": str(len(uris))}


def parse_inputs_tag(value: str) -> list[str]:
    """The URIs in a ``blacklake.inputs`` tag value (empty if it is not ours)."""
    try:
        doc = json.loads(value)
    except ValueError:
        return []
    return [u for u in doc if isinstance(u, str) and u.startswith(SCHEME)] \
        if isinstance(doc, list) else []


def blacklake_source_uri(source_type: str, source: str) -> str | None:
    """The pinned URI of a logged dataset whose source is a BlackLake one, else None."""
    if source_type != "blacklake":
        return None
    try:
        doc = json.loads(source)
    except ValueError:
        return None
    uri = doc.get("uri") if isinstance(doc, dict) else None
    return uri if isinstance(uri, str) and uri.startswith(SCHEME) else None
