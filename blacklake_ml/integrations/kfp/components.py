"""BlackLake's KFP components, built for a given container image.

A lightweight KFP component runs its function in ``base_image`` after pip-installing
``packages_to_install``; our functions import ``blacklake_ml``, so the image must provide
``blacklake-ml[kfp]`` (which brings ``kfp``). Two ways:

* an image with ``blacklake-ml[kfp]`` already installed (recommended: fast start, pinned
  versions, no index access from the cluster)::

      bl = build_components(ComponentOptions(base_image="registry.example.com/ml:1.4"))

* a stock Python image that installs it when each task starts::

      bl = build_components(ComponentOptions.installing())  # python:3.11 + blacklake-ml[kfp]

``install_kfp_package`` is False by default: KFP would otherwise prepend ``pip install
kfp==<compiler version>`` to every task. That guarantees the executor matches the SDK that
compiled the pipeline, but needs an index at run time, which local runs here (and air-gapped
clusters) do not have, and ``blacklake-ml[kfp]`` installs kfp anyway. Set it to True if your
image's kfp may be older than the one compiling the pipeline.

The module-level components (``pull_dataset``, ``push_model``, ...) use the default options
(``python:3.11``, nothing installed at run time): right for ``kfp.local.SubprocessRunner`` (the
task runs in this Python) and for images that carry ``blacklake-ml[kfp]``; rebuild with
:func:`build_components` for anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kfp import dsl
from kfp.dsl.python_component import PythonComponent

from blacklake_ml.integrations.kfp import functions

#: the image tasks run in unless told otherwise (KFP's own default, pinned so compiled
#: pipelines do not change when KFP moves its default)
DEFAULT_BASE_IMAGE = "python:3.11"
#: what a stock image must install for the components to run
RUNTIME_PACKAGES = ("blacklake-ml[kfp]",)


@dataclass(frozen=True)
class ComponentOptions:
    """How components are packaged: image, run-time installs, package index."""

    base_image: str = DEFAULT_BASE_IMAGE
    packages_to_install: tuple[str, ...] = ()
    pip_index_urls: tuple[str, ...] = ()
    install_kfp_package: bool = False

    @classmethod
    def installing(cls, base_image: str = DEFAULT_BASE_IMAGE, *,
                   extra: Sequence[str] = (), pip_index_urls: Sequence[str] = ()
                   ) -> ComponentOptions:
        """Options for a stock Python image: each task pip-installs ``blacklake-ml[kfp]``
        (plus ``extra``) before running."""
        return cls(base_image=base_image,
                   packages_to_install=RUNTIME_PACKAGES + tuple(extra),
                   pip_index_urls=tuple(pip_index_urls))

    def component(self, func: Callable[..., Any], *, packages: Sequence[str] = ()
                  ) -> PythonComponent:
        """Make ``func`` a lightweight component with these options (``packages``: what this
        one function needs on top, e.g. ``scikit-learn``; installed only when the options
        install packages at all, i.e. when the image is not prebuilt)."""
        install = list(self.packages_to_install)
        if install:
            install += [p for p in packages if p not in install]
        comp = dsl.component(func, base_image=self.base_image,
                             packages_to_install=install or None,
                             pip_index_urls=list(self.pip_index_urls) or None,
                             install_kfp_package=self.install_kfp_package)
        return comp  # type: ignore[no-any-return]


@dataclass(frozen=True)
class BlackLakeComponents:
    """The components, built with one set of :class:`ComponentOptions`."""

    options: ComponentOptions
    pull_dataset: PythonComponent = field(repr=False)
    pull_model: PythonComponent = field(repr=False)
    push_dataset: PythonComponent = field(repr=False)
    push_model: PythonComponent = field(repr=False)
    record_lineage: PythonComponent = field(repr=False)
    search: PythonComponent = field(repr=False)


def build_components(options: ComponentOptions | None = None) -> BlackLakeComponents:
    """All BlackLake components built with ``options`` (default: :class:`ComponentOptions`)."""
    opts = options or ComponentOptions()
    return BlackLakeComponents(
        options=opts,
        pull_dataset=opts.component(functions.pull_dataset),
        pull_model=opts.component(functions.pull_model),
        push_dataset=opts.component(functions.push_dataset),
        push_model=opts.component(functions.push_model),
        record_lineage=opts.component(functions.record_lineage),
        search=opts.component(functions.search_store),
    )


_DEFAULT = build_components()
pull_dataset = _DEFAULT.pull_dataset
pull_model = _DEFAULT.pull_model
push_dataset = _DEFAULT.push_dataset
push_model = _DEFAULT.push_model
record_lineage = _DEFAULT.record_lineage
search = _DEFAULT.search
