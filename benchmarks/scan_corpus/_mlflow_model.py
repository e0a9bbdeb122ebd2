"""A trivial MLflow pyfunc model (pickled by value with cloudpickle into the corpus)."""

from __future__ import annotations

import mlflow.pyfunc


class Echo(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
    """Returns its input."""

    def predict(self, context, model_input, params=None):
        return model_input
