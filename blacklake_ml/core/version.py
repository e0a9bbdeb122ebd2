"""The package version (here so every layer can read it without importing the package root,
which re-exports the public Store)."""

__version__ = "0.1.0"
