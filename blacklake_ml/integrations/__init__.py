"""Bridges to the tools ML teams already run: MLflow, Weights & Biases, DVC, Kubeflow Pipelines.

Each bridge is a subpackage imported only when used, and its library is an optional extra
(``pip install 'blacklake-ml[mlflow]'`` …). Bridges record what they see in the store's
lineage graph (:attr:`blacklake_ml.service.store.Store.lineage`).
"""
