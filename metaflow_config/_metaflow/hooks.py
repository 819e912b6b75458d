"""The import hook that hooks Metaflow's launchers when Metaflow imports them.

Metaflow has no extension point where a task's environment is built: the methods that build one
are wrapped as their module is imported (a finder on ``sys.meta_path``, installed once per
process). :data:`LAUNCHERS` lists them, each with its handler in this package (:mod:`.batch`,
:mod:`.kubernetes`; Metaflow's tar backend, :mod:`.packaging`; the local runtime, whose
``execute`` says its launches' warnings once, :func:`.launch.run_execute`; and the Runner and
Deployer APIs, whose processes are given an ``override()`` in force, :func:`.launch.in_scope`).

Metaflow imports most launcher modules at every ``import metaflow``, a task's included, though
a task launches nothing: so wrapping a method imports nothing, and the handler's module (with
what it imports: :mod:`.launch`, the task environment's rules) is imported at the method's
first call.
A handler is called as ``handler(original, self, *args, **kwargs)`` and calls ``original``.
"""

from __future__ import annotations

import functools
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

#: Metaflow's launcher modules and the methods hooked in each: (class, method, handler), the
#: handler as ``module.function`` of this package. A method this Metaflow lacks is left alone
#: (``tests/test_metaflow_extension.py`` checks that the installed Metaflow has every one).
LAUNCHERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "metaflow.plugins.aws.batch.batch": (("Batch", "create_job", "batch.create_job"),),
    "metaflow.plugins.aws.step_functions.step_functions": (
        ("StepFunctions", "_batch", "batch.state_machine_task"),
        ("StepFunctions", "_compile", "batch.state_machine"),
    ),
    "metaflow.plugins.kubernetes.kubernetes": (
        ("Kubernetes", "create_job_object", "kubernetes.job_object"),
        ("Kubernetes", "create_jobset", "kubernetes.jobset"),
    ),
    "metaflow.plugins.kubernetes.kubernetes_jobsets": (
        ("KubernetesArgoJobSet", "dump", "kubernetes.argo_jobset"),
    ),
    "metaflow.plugins.argo.argo_workflows": (
        ("ArgoWorkflows", "_compile_workflow_template", "kubernetes.workflow_template"),
    ),
    "metaflow.plugins.airflow.airflow": (
        ("Airflow", "_to_job", "kubernetes.airflow_task"),
        ("Airflow", "_to_airflow_dag_file", "kubernetes.airflow_dag_file"),
        # compiled as made: refused before `airflow create` opens the DAG file (see .kubernetes)
        ("Airflow", "__init__", "kubernetes.airflow_made"),
        ("Airflow", "compile", "kubernetes.airflow_compile"),
    ),
    "metaflow.packaging_sys.tar_backend": (  # see .packaging
        ("TarPackagingBackend", "create", "packaging.create"),
    ),
    "metaflow.runtime": (("NativeRuntime", "execute", "launch.run_execute"),),
    # a flow run or deployment started inside an ``override()``: its processes resolve the scope
    "metaflow.runner.metaflow_runner": (("Runner", "__init__", "launch.in_scope"),),
    "metaflow.runner.deployer_impl": (("DeployerImpl", "__init__", "launch.in_scope"),),
}


def _hooked(original: Callable[..., Any], handler: str) -> Callable[..., Any]:
    """``original`` calling through ``handler`` (``module.function``), imported on first call."""
    found: list[Callable[..., Any]] = []

    @functools.wraps(original)
    def hooked(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not found:
            module, function = handler.split(".")
            found.append(getattr(importlib.import_module(f"{__package__}.{module}"), function))
        return found[0](original, self, *args, **kwargs)

    return hooked


def _hook(module: ModuleType) -> None:
    """Wrap the methods :data:`LAUNCHERS` lists for the launcher ``module``."""
    for owner_name, method, handler in LAUNCHERS[module.__name__]:
        owner = getattr(module, owner_name, None)
        original = getattr(owner, method, None)
        if original is not None:
            setattr(owner, method, _hooked(original, handler))


_LOCK = threading.Lock()
_installed: set[str] = set()


class _HookingLoader(importlib.abc.Loader):
    """Runs a module as its own loader does, then hooks its methods."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _hook(module)

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ... of the real loader
        return getattr(self._loader, name)


class _HookOnImport(importlib.abc.MetaPathFinder):
    """Finds the launcher modules as the other finders would, with a hooking loader."""

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
        spec.loader = _HookingLoader(spec.loader)
        return spec


def install_launch_hooks() -> None:
    """Hook the launchers imported already; hook the others when they are imported."""
    with _LOCK:
        if any(isinstance(f, _HookOnImport) for f in sys.meta_path):
            return
        for name in LAUNCHERS:
            module = sys.modules.get(name)
            if module is not None and name not in _installed:
                _installed.add(name)
                _hook(module)
        sys.meta_path.insert(0, _HookOnImport())
