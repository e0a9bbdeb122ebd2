# Shared by .ci/run and .ci/test; sourced from the repository root, never executed.
# shellcheck shell=bash

#: pip extras the test suite needs (PostgreSQL and S3 tests run against real local services).
TEST_EXTRAS="test,s3,postgres,search,models,convert,test-extract,jupyter,notebook"
#: torch is installed first, pinned, on its own: an unpinned torch resolves to a multi-GB CUDA
#: build, and the pin must win before any extra (sentence-transformers) asks for torch.
TORCH_PIN="torch==2.13.0"
#: Records what .venv was installed from, so .ci/test reinstalls only when pyproject.toml changes.
INSTALL_STAMP=.venv/.blacklake-ml-test-install
#: Everything the test run imports up front; a missing one means "install first".
TEST_IMPORTS='import importlib.metadata as m, pytest, pytest_timeout, importlinter, mypy, moto, s3fs, psycopg, boto3, hypothesis, torch, faiss, sentence_transformers, nbclient, ipykernel, anywidget, jupyterlab, mlflow, wandb, dvc, kfp, openlineage.client, sklearn, skl2onnx; m.version("blacklake-ml")'

install_stamp() {
    printf '%s %s %s\n' "$TEST_EXTRAS" "$TORCH_PIN" "$(sha256sum pyproject.toml | cut -d' ' -f1)"
}

# Install this checkout (editable) with the test extras into .venv and record the stamp.
install_into_venv() {
    .venv/bin/python -m pip install "$TORCH_PIN"
    .venv/bin/python -m pip install -e ".[$TEST_EXTRAS]" "$TORCH_PIN"
    # An editable install compiles nothing, and with PYTHONDONTWRITEBYTECODE set (as on these
    # machines) every `blacklake` run would compile the package again: compile it once.
    .venv/bin/python -m compileall -q blacklake_ml >/dev/null
    install_stamp > "$INSTALL_STAMP"
}

venv_is_current() {
    [ -x .venv/bin/python ] \
        && [ "$(cat "$INSTALL_STAMP" 2>/dev/null)" = "$(install_stamp)" ] \
        && .venv/bin/python -c "$TEST_IMPORTS" >/dev/null 2>&1
}
