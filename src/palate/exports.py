"""Lazy public names for a package (PEP 562), so ``import palate`` stays fast.

``palate.stats.truth(store, ...)`` is a function, but ``palate/stats/truth.py`` is also a
module, and Python's import system writes every submodule it loads onto its package under the
same name. A package that uses ``lazy_exports`` therefore keeps its public functions: loading a
submodule never replaces a name listed here (``from palate.stats.truth import infer_truth`` goes
through ``sys.modules`` and still works).
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


class _PackageWithExports(types.ModuleType):
    """A package module whose exported names win over same-named submodules."""

    _exports: dict[str, str]

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._exports and isinstance(value, types.ModuleType):
            return  # the import system announcing a submodule: the public name stays
        super().__setattr__(name, value)


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each public name to
    ``"module"`` (the name is that module) or ``"module:attribute"``; nothing is imported until
    the name is first used."""
    module = sys.modules[package]
    for name in exports:  # a submodule loaded while the package ran must not hide the export
        if isinstance(module.__dict__.get(name), types.ModuleType):
            del module.__dict__[name]
    module.__class__ = _PackageWithExports
    object.__setattr__(module, "_exports", exports)

    def __getattr__(name: str) -> Any:
        target = exports.get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, _, attribute = target.partition(":")
        value = importlib.import_module(module_name)
        if attribute:
            value = getattr(value, attribute)
        module.__dict__[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*module.__dict__, *exports})

    return __getattr__, __dir__
