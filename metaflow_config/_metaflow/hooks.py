"""The import hook that patches Metaflow's launchers when Metaflow imports them.

Metaflow has no extension point where a task's environment is built: each launcher module is
patched as it is imported (a finder on ``sys.meta_path``, installed once per process), by the
function :data:`LAUNCHERS` names for it (:mod:`.batch`, :mod:`.kubernetes`; and Metaflow's tar
backend, :mod:`.packaging`).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["LAUNCHERS", "install_launch_hooks"]

#: Metaflow's launcher modules and what is hooked in each when it is imported: the function
#: (module of this package, name), imported with it (a task that launches nothing imports none).
LAUNCHERS: dict[str, tuple[str, str]] = {
    "metaflow.plugins.aws.batch.batch": ("batch", "patch_batch"),
    "metaflow.plugins.aws.step_functions.step_functions": ("batch", "patch_step_functions"),
    "metaflow.plugins.kubernetes.kubernetes": ("kubernetes", "patch_kubernetes"),
    "metaflow.plugins.kubernetes.kubernetes_jobsets": ("kubernetes", "patch_argo_jobsets"),
    "metaflow.plugins.argo.argo_workflows": ("kubernetes", "patch_argo"),
    "metaflow.plugins.airflow.airflow": ("kubernetes", "patch_airflow"),
    "metaflow.packaging_sys.tar_backend": ("packaging", "patch_tar_backend"),  # see .packaging
}


def _patch(name: str) -> Callable[[ModuleType], None]:
    """The function that patches the launcher module ``name``."""
    module, function = LAUNCHERS[name]
    patch: Callable[[ModuleType], None] = getattr(
        importlib.import_module(f"{__package__}.{module}"), function
    )
    return patch


_LOCK = threading.Lock()
_installed: set[str] = set()


class _PatchingLoader(importlib.abc.Loader):
    """Runs a module as its own loader does, then applies the patch to it."""

    def __init__(self, loader: importlib.abc.Loader, patch: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._patch = patch

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._patch(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... of the real loader
        return getattr(self._loader, name)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds the launcher modules as the other finders would, with a patching loader."""

    def __init__(self) -> None:
        self._busy: set[str] = set()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LAUNCHERS or fullname in self._busy or fullname in _installed:
            return None
        self._busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None:
            return spec
        _installed.add(fullname)
        spec.loader = _PatchingLoader(spec.loader, _patch(fullname))
        return spec


def install_launch_hooks() -> None:
    """Patch the launchers imported already; patch the others when they are imported."""
    with _LOCK:
        if any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
            return
        for name in LAUNCHERS:
            module = sys.modules.get(name)
            if module is not None and name not in _installed:
                _installed.add(name)
                _patch(name)(module)
        sys.meta_path.insert(0, _PatchOnImport())
