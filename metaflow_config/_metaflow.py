"""What the Metaflow extension does: Metaflow's names from this resolution, settings in every task.

Metaflow loads ``metaflow_extensions/metaflow_config/config/mfextinit_metaflow_config.py`` at the
end of ``metaflow/metaflow_config.py`` and copies that module's names over its own. That module
asks :func:`metaflow_names` for them, so ``metaflow.metaflow_config.X == compat.X`` for every
name: one resolution, the one ``metaflow-config show`` and ``explain`` describe.

:func:`metaflow_names` also

- reports a broken configuration as the :class:`ConfigError` message alone: the error propagates
  out of ``import metaflow`` (a program may catch it), and an uncaught one prints without a
  traceback, with the ways out (``metaflow-config check``, ``METAFLOW_CONFIG_EXTENSION=0``), and
  exits with status 1 (``sys.excepthook``, only for ``ConfigError``);
- lets ``metaflow configure`` (Metaflow's repair command) run on a broken configuration, on
  Metaflow's own reading of it (:func:`_repairing`);
- shows each ``ConfigWarning`` once per process tree, as one ``Warning: <message>`` line: the
  launching process shows it and records a digest in ``METAFLOW_CONFIG_WARNED``, which the tasks
  it starts inherit;
- hooks Metaflow's launchers so that every AWS Batch job (``--with batch``, ``@batch``) and every
  task of a Step Functions state machine gets ``settings.to_env("batch")`` /
  ``to_env("sfn")`` in its container environment. The hook is applied when Metaflow imports the
  launcher module (an import hook on ``sys.meta_path``, installed once), and only adds the names
  Metaflow did not set: the names Metaflow sets for the task (run id, code package, the user of
  a production run, ...) and a step's own ``@environment(vars=...)`` keep their values;
- puts its own value of every setting in Metaflow's registry of what ``from_conf`` read
  (``metaflow_config_funcs.config_values()``), which Metaflow's launchers copy into tasks
  (``METAFLOW_CONDA_*``, ``METAFLOW_DEBUG_*``) before the hook adds anything.

``METAFLOW_CONFIG_EXTENSION=0`` switches all of it off (:func:`enabled`).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import os
import sys
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

from ._display import mask_url_password, printable
from ._model.values import thaw
from ._sources.environ import own_flag
from .errors import ConfigError, ConfigWarning, Problem

if TYPE_CHECKING:
    from ._snapshot.settings import Settings

__all__ = ["check_early", "metaflow_names"]

#: The environment variable that switches the extension off (``0``, ``false``, ``no``, ``off``).
SWITCH = "METAFLOW_CONFIG_EXTENSION"
#: Digests of the ConfigWarnings already shown in this process tree (comma-separated).
WARNED = "METAFLOW_CONFIG_WARNED"

_LOCK = threading.Lock()
_installed: set[str] = set()


def enabled(env: Mapping[str, str] | None = None) -> bool:
    """Whether the extension applies (``$METAFLOW_CONFIG_EXTENSION`` unset, empty or true).

    Raises:
        ConfigError: the variable holds something that is not a boolean.

    """
    fix = f"set {SWITCH}=0 to leave Metaflow's own configuration untouched, or unset it"
    on, problem = own_flag(os.environ if env is None else env, SWITCH, fix)
    if problem is not None:
        raise ConfigError([problem])
    return on is not False


def check_early() -> None:
    """Resolve before Metaflow reads its own configuration (the extension's ``toplevel`` module).

    Metaflow imports ``toplevel`` extension modules before ``metaflow.metaflow_config``, and
    swallows their exceptions: a problem found here is kept, not raised. Where Metaflow's own
    reading then fails on the same configuration (malformed JSON in a profile, a missing named
    profile), the uncaught error is reported as this ``ConfigError`` rather than Metaflow's
    traceback; otherwise the ``config`` module raises it again (:func:`metaflow_names`).
    """
    try:
        on = enabled()
    except ConfigError:
        _report_config_errors_plainly()
        return  # metaflow_names raises it
    if not on:
        return
    _report_config_errors_plainly()
    try:
        snapshot = _resolve()
    except ConfigError as exc:
        _PENDING[:] = [exc]
        return
    trips = _what_metaflow_trips_on(snapshot)
    if trips:  # valid here, but Metaflow's own reading raises on it: said as ours
        _PENDING[:] = [ConfigError(trips)]


def _what_metaflow_trips_on(snapshot: Settings) -> list[Problem]:
    """Problems of a configuration this package takes and Metaflow's own reading does not.

    Metaflow's module raises on them at import (with or without the extension): reported as a
    ConfigError if it does, and nothing if a Metaflow version takes them. The sandbox without a
    region: Metaflow sets ``AWS_DEFAULT_REGION`` from ``AWS_SANDBOX_REGION`` (a ``TypeError``
    when it is unset).
    """
    if not snapshot.sandbox.enabled or snapshot.sandbox.region:
        return []
    info = snapshot.explain("METAFLOW_AWS_SANDBOX_ENABLED")
    return [
        Problem.missing(
            "METAFLOW_AWS_SANDBOX_REGION",
            "the sandbox's AWS region, which Metaflow needs when METAFLOW_AWS_SANDBOX_ENABLED is "
            f"true (set by {info.source}: {info.location})",
            "set METAFLOW_AWS_SANDBOX_REGION (e.g. us-west-2), or METAFLOW_AWS_SANDBOX_ENABLED=0",
        )
    ]


def metaflow_names(debug_options: Sequence[str] = ()) -> dict[str, Any]:
    """The names Metaflow's module takes from the extension, resolved once, in load order.

    ``debug_options`` is Metaflow's own ``DEBUG_OPTIONS``: Metaflow *extends* its list with an
    extension's, so only options it lacks are given (first, so that Metaflow's own reading of
    their ``DEBUG_*`` flags is replaced by the resolved values that follow).

    Nothing (and no hook) when :func:`enabled` says the extension is switched off.

    Raises:
        ConfigError: the configuration is invalid (every problem, as ``load()`` reports them),
            or so is the switch.

    """
    from . import compat

    try:
        on = enabled()
    except ConfigError:
        _report_config_errors_plainly()
        raise
    if not on:
        return {}
    _report_config_errors_plainly()
    _PENDING.clear()  # raised below if still there: the caller gets it as a ConfigError
    try:
        snapshot = _resolve()
    except ConfigError as exc:
        if _repairing():
            sys.stderr.write(_STANDING_ASIDE.format(problems=_count(exc)))
            return {}
        _AT_IMPORT[:] = [exc]
        raise
    _install_launch_hooks()
    _pin_metaflows_registry(snapshot)
    values = compat.module_values(snapshot)
    extra = [o for o in values.pop("DEBUG_OPTIONS") if o not in debug_options]
    return {"DEBUG_OPTIONS": extra, **values} if extra else values


#: Metaflow's console script (``metaflow``, ``metaflow.exe``, ``metaflow-script.py``).
_METAFLOW_SCRIPT = ("metaflow", "metaflow.exe", "metaflow-script.py", "metaflow-script.pyw")
_STANDING_ASIDE = (
    "metaflow-config: this configuration is invalid ({problems}; `metaflow-config check` lists "
    "them): `metaflow configure` runs on Metaflow's own reading of it\n"
)


def _repairing(argv: Sequence[str] | None = None) -> bool:
    """Whether this process is Metaflow's ``metaflow configure`` command.

    It is how a configuration is repaired (``reset``, ``import``, ``aws``, ...), and it only
    reads and writes Metaflow's profile files: on an invalid configuration it runs on
    Metaflow's own reading, as with ``METAFLOW_CONFIG_EXTENSION=0``, rather than not at all.
    Metaflow's ``start`` group takes no options, so the command is always the first argument.
    """
    args = list(getattr(sys, "argv", ()) if argv is None else argv)
    if len(args) < 2 or args[1] != "configure":
        return False
    script = args[0].replace(os.sep, "/")
    return script.rsplit("/", 1)[-1] in _METAFLOW_SCRIPT or script.endswith(
        "metaflow/cmd/main_cli.py"
    )


def _count(exc: ConfigError) -> str:
    count = len(exc.problems)
    return "1 problem" if count == 1 else f"{count} problems"


def _resolve() -> Settings:
    """The process-wide snapshot (resolved on the first call), its warnings shown once."""
    from ._scope import current

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return current()
    finally:
        _show_once(caught)  # after the catch: re-issued, they reach the filters in force


# -- Metaflow's registry of the values it read ------------------------------------------------


def _metaflow_text(value: Any) -> str:
    """A value as Metaflow's ``from_conf`` serializes it (JSON for lists and dicts)."""
    import json

    return json.dumps(value) if isinstance(value, (list, dict)) else str(value)


def _exported(text: str) -> Callable[[Any], str]:
    return lambda _value: text


class _PinnedRegistry(dict[str, Any]):
    """Metaflow's ``_all_configs`` with the extension's entries kept.

    ``from_conf`` records every value it reads here, and ``config_values()`` yields from here:
    a name the extension resolves keeps the extension's entry, whatever Metaflow reads of it
    later (the ``DEBUG_*`` flags of options only the extension has, another extension's
    ``from_conf`` of the same name).
    """

    def __init__(self, entries: Mapping[str, Any], pinned: dict[str, Any]) -> None:
        super().__init__(entries)
        self.pinned = pinned
        self.update(pinned)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, self.pinned.get(key, value))


def _pin_metaflows_registry(snapshot: Settings) -> None:
    """Make ``metaflow_config_funcs.config_values()`` yield this resolution, for every setting.

    Metaflow's launchers copy the ``METAFLOW_CONDA_*`` and ``METAFLOW_DEBUG_*`` entries of
    ``config_values()`` into a task's environment (AWS Batch, hence Step Functions; Kubernetes,
    Argo Workflows, Airflow) before anything else: left as Metaflow read them ("off" is true
    there), they would override ``to_env``. Each setting's entry is its value here, non-default
    exactly when ``to_env`` exports it, serialized as ``to_env`` does.
    """
    from ._model.table import FIELDS
    from ._snapshot.export import export_text
    from ._snapshot.settings import resolution_of

    funcs = sys.modules.get("metaflow.metaflow_config_funcs")
    registry = getattr(funcs, "_all_configs", None)
    entry = getattr(funcs, "ConfigValue", None)
    if not isinstance(registry, dict) or entry is None:
        return  # not a Metaflow whose registry this knows: nothing to keep in line
    resolution = resolution_of(snapshot)
    values, origins = resolution.values, resolution.origins
    pinned: dict[str, Any] = {}
    for field in FIELDS:
        value = thaw(values[field.name])
        origin = origins.get(field.name)
        text = None
        if origin is not None and (
            origin[0] != "derived" or (field.derive is not None and field.derive.machine)
        ):
            text = export_text(field, values[field.name])
        if text is None:  # a default, or derived here: Metaflow's registry calls it a default
            pinned[field.env] = entry(value=value, serializer=_metaflow_text, is_default=True)
        else:
            pinned[field.env] = entry(value=value, serializer=_exported(text), is_default=False)
    if isinstance(registry, _PinnedRegistry):
        registry.pinned = pinned
        dict.update(registry, pinned)
    else:
        funcs._all_configs = _PinnedRegistry(registry, pinned)  # type: ignore[union-attr]


# -- errors and warnings ---------------------------------------------------------------------


def _report_config_errors_plainly() -> None:
    """Print an uncaught ConfigError as its message alone (exit status 1); chain the rest.

    An error out of Metaflow's own configuration reading, after :func:`check_early` found the
    configuration invalid, is reported as that ConfigError too, with one line naming Metaflow's.
    """
    previous = sys.excepthook
    if getattr(previous, "_metaflow_config", False):
        return

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if isinstance(value, ConfigError):  # its text is escaped (Problem.__str__)
            at_import = any(value is e for e in _AT_IMPORT)
            sys.stderr.write(f"{value}\n{_ESCAPE_HATCH if at_import else ''}")
        elif _PENDING and _from_metaflows_reading(tb):
            # Metaflow's message quotes the value it tripped on: shown as a value is
            theirs = printable(mask_url_password(f"{kind.__name__}: {value}"))
            sys.stderr.write(
                f"{_PENDING[0]}\n(Metaflow's own reading of it failed: {theirs})\n"
                f"{_SEE_EVERY_PROBLEM}\n"
            )
        else:
            previous(kind, value, tb)
            return
        sys.stderr.flush()

    hook._metaflow_config = True  # type: ignore[attr-defined]
    sys.excepthook = hook


#: A ConfigError that check_early found, while Metaflow's own reading has not finished.
_PENDING: list[ConfigError] = []
_METAFLOW_READERS = ("metaflow_config.py", "metaflow_config_funcs.py")
#: The ConfigError metaflow_names raised out of ``import metaflow``.
_AT_IMPORT: list[ConfigError] = []
_SEE_EVERY_PROBLEM = (
    "To see every problem: `metaflow-config check` (or `metaflow-config show`: every setting, "
    "its value and where it comes from)."
)
_ESCAPE_HATCH = (
    f"{_SEE_EVERY_PROBLEM}\n`metaflow configure` still runs, to repair it; to run Metaflow on "
    f"its own reading of the configuration meanwhile, set {SWITCH}=0.\n"
)


def _from_metaflows_reading(tb: TracebackType | None) -> bool:
    """Whether the traceback passes through Metaflow's configuration modules."""
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename.replace(os.sep, "/")
        if path.endswith(tuple("metaflow/" + name for name in _METAFLOW_READERS)):
            return True
        tb = tb.tb_next
    return False


def _digest(text: str) -> str:
    import zlib  # not hashlib: loading OpenSSL would cost every task process milliseconds

    return f"{zlib.crc32(text.encode('utf-8', 'replace')):08x}"


def _show_once(caught: list[warnings.WarningMessage]) -> None:
    """Re-issue what the resolution warned, each ConfigWarning once in this process tree.

    Re-issued, they reach the filters in force (``-W``, ``filterwarnings``, a test's record);
    shown, a ConfigWarning is one line, ``Warning: <message>``: the line of Metaflow's or the
    extension's code that happened to resolve first says nothing about the configuration.
    """
    shown = {d for d in os.environ.get(WARNED, "").split(",") if d}
    before = len(shown)
    previous = warnings.formatwarning
    warnings.formatwarning = _plain_format(previous)
    try:
        for w in caught:
            if issubclass(w.category, ConfigWarning):
                digest = _digest(str(w.message))
                if digest in shown:
                    continue
                shown.add(digest)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    finally:
        warnings.formatwarning = previous
    if len(shown) != before:
        os.environ[WARNED] = ",".join(sorted(shown))  # inherited by the tasks of this run


def _plain_format(previous: Callable[..., str]) -> Callable[..., str]:
    """``warnings.formatwarning`` showing a ConfigWarning as ``Warning: <message>``, alone."""

    def formatwarning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        line: str | None = None,
    ) -> str:
        if issubclass(category, ConfigWarning):
            return printable(f"Warning: {message}", lines=True) + "\n"
        return previous(message, category, filename, lineno, line)

    return formatwarning


# -- settings into every remote task -----------------------------------------------------------


def fill_environment(job: Any, target: str) -> None:
    """Add to an AWS Batch job builder the ``to_env(target)`` variables it does not set yet.

    ``job`` is Metaflow's ``BatchJob``: its container overrides' ``environment`` list already
    holds what Metaflow and the step's ``@environment`` set, and those keep their values.
    """
    from ._scope import current

    exported = current().to_env(target)
    present = {entry["name"] for entry in _environment(job)}
    for name, value in exported.items():
        if name not in present:
            job.environment_variable(name, value)


def _environment(job: Any) -> list[dict[str, str]]:
    overrides = job.payload["containerOverrides"]
    if "environment" not in overrides:
        return []
    entries: list[dict[str, str]] = overrides["environment"]
    return entries


def _check_state_machine_task(job: Any) -> None:
    """The whole container environment of a state machine's task, against the SFN limit."""
    from ._snapshot.export import check_sfn_size

    env = {e["name"]: e.get("value", e.get("value.$", "")) for e in _environment(job)}
    check_sfn_size(env)


def _as_metaflow_error(exc: ConfigError) -> Exception:
    """``exc`` as an exception Metaflow's command line prints as a message (no traceback)."""
    from metaflow.exception import MetaflowException

    error = MetaflowException(msg=str(exc))  # type: ignore[no-untyped-call]
    error.headline = "metaflow-config"
    return error


def _patch_batch(module: ModuleType) -> None:
    batch = module.Batch
    original: Callable[..., Any] = batch.create_job

    @functools.wraps(original)
    def create_job(self: Any, *args: Any, **kwargs: Any) -> Any:
        job = original(self, *args, **kwargs)
        try:
            fill_environment(job, "batch")
        except ConfigError as exc:
            raise _as_metaflow_error(exc) from exc
        return job

    batch.create_job = create_job


def _patch_step_functions(module: ModuleType) -> None:
    step_functions = module.StepFunctions
    original: Callable[..., Any] = step_functions._batch

    @functools.wraps(original)
    def _batch(self: Any, node: Any) -> Any:
        job = original(self, node)  # Batch.create_job has added to_env("batch") already
        try:
            fill_environment(job, "sfn")  # the same names; to_env("sfn") checks its own size
            _check_state_machine_task(job)
        except ConfigError as exc:
            raise _as_metaflow_error(exc) from exc
        return job

    step_functions._batch = _batch


#: Metaflow's launcher modules and what is hooked in each when it is imported.
LAUNCHERS: dict[str, Callable[[ModuleType], None]] = {
    "metaflow.plugins.aws.batch.batch": _patch_batch,
    "metaflow.plugins.aws.step_functions.step_functions": _patch_step_functions,
}


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
        patch = LAUNCHERS.get(fullname)
        if patch is None or fullname in self._busy or fullname in _installed:
            return None
        self._busy.add(fullname)
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy.discard(fullname)
        if spec is None or spec.loader is None:
            return spec
        _installed.add(fullname)
        spec.loader = _PatchingLoader(spec.loader, patch)
        return spec


def _install_launch_hooks() -> None:
    with _LOCK:
        if any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
            return
        for name, patch in LAUNCHERS.items():
            module = sys.modules.get(name)
            if module is not None and name not in _installed:
                _installed.add(name)
                patch(module)
        sys.meta_path.insert(0, _PatchOnImport())
