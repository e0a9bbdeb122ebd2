"""Example Kubeflow pipelines using BlackLake (see README.md here and each module)."""
