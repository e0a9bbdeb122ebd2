"""The ``blacklake`` command-line interface (click).

Entry point: :func:`blacklake_ml.cli.main.main`. Modules are kept small and import the service
layer only inside command bodies, so ``blacklake --help`` never loads SQLAlchemy or rich.
"""
