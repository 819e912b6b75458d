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
- hooks Metaflow's launchers so that every remote task gets the launcher's
  ``settings.to_env(target)`` in its environment: AWS Batch jobs, Step Functions tasks
  (:mod:`.batch`), Kubernetes jobs and JobSets, Argo Workflows templates, Airflow tasks
  (:mod:`.kubernetes`), by the rules of ``_snapshot.taskenv``: only the names Metaflow did not
  set are added; the names Metaflow sets for the task (run id, code package, the user of a
  production run, ...), what Kubernetes fills from the pod, and a step's own
  ``@environment(vars=...)`` keep their values. The hooks are applied when Metaflow imports the
  launcher modules (an import hook on ``sys.meta_path``, installed once: :mod:`.hooks`);
- puts its own value of every setting in Metaflow's registry of what ``from_conf`` read
  (``metaflow_config_funcs.config_values()``), which Metaflow's launchers copy into tasks
  (``METAFLOW_CONDA_*``, ``METAFLOW_DEBUG_*``) before the hook adds anything (:mod:`.registry`);
- re-resolves on every call after the first: ``importlib.reload(metaflow.metaflow_config)``
  runs the ``config`` module again (:func:`_rerun_on_reload`), so a reload after a change of
  ``os.environ``, ``METAFLOW_HOME`` or ``METAFLOW_PROFILE`` gives this package's resolution of
  the new inputs, through the same snapshot logic as at import.

:func:`check_early` also makes Metaflow's own reading take what this package takes (an empty
variable, a JSON ``0`` for a boolean: :mod:`.parsing`).

``METAFLOW_CONFIG_EXTENSION=0`` switches all of it off (:func:`enabled`).
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, cast

from .._display import mask_url_password, printable, redact, texts_of, url_passwords
from .._scope import current, settings
from .._sources.environ import own_flag
from ..errors import ConfigError, ConfigWarning, Problem
from .hooks import install_launch_hooks
from .parsing import take_over_files, take_over_parsing
from .registry import pin_metaflows_registry

if TYPE_CHECKING:
    from .._snapshot.settings import Settings

__all__ = ["check_early", "mark_said", "metaflow_names", "show_once", "was_said"]

#: The environment variable that switches the extension off (``0``, ``false``, ``no``, ``off``).
SWITCH = "METAFLOW_CONFIG_EXTENSION"
#: Digests of the ConfigWarnings already shown in this process tree (comma-separated).
WARNED = "METAFLOW_CONFIG_WARNED"

#: Whether Metaflow's module has asked for the names once in this process (then: reloads).
_ASKED: list[bool] = []


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
        if _repairing():  # `metaflow configure` runs on Metaflow's own reading of the profile
            take_over_files(profile=False)
            return
        take_over_files()
        take_over_parsing(current, _pending)
        return
    take_over_files()  # Metaflow's own reading of the files: this package's reader
    take_over_parsing(current, _pending)  # and of the values
    trips = _what_metaflow_trips_on(snapshot)
    if trips:  # valid here, but Metaflow's own reading raises on it: said as ours
        _PENDING[:] = [ConfigError(trips)]


def _pending() -> ConfigError | None:
    """The ConfigError :func:`check_early` found, while Metaflow's own reading runs.

    None for ``metaflow configure``, which runs on Metaflow's own reading (:func:`_repairing`).
    """
    return _PENDING[0] if _PENDING and not _repairing() else None


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
    from .. import compat

    try:
        on = enabled()
    except ConfigError:
        _report_config_errors_plainly()
        raise
    if not on:
        return {}
    _report_config_errors_plainly()
    _PENDING.clear()  # raised below if still there: the caller gets it as a ConfigError
    again = bool(_ASKED)
    _ASKED[:] = [True]
    try:
        snapshot = _resolve(again=again)
        # reads every value, so a secret reference is fetched here: an answer AWS does not
        # give is an invalid configuration as well (its ways out said, or `configure` runs)
        values = compat.module_values(snapshot)
    except ConfigError as exc:
        if _repairing():
            sys.stderr.write(_STANDING_ASIDE.format(problems=_count(exc)))
            return {}
        _AT_IMPORT[:] = [exc]
        raise
    install_launch_hooks()
    pin_metaflows_registry(snapshot)
    _rerun_on_reload()
    if again:
        _forget_metaflows_files()
    for name in _set_by_earlier_config_extensions():  # theirs replace ours (README)
        values.pop(name, None)
    extra = [o for o in values.pop("DEBUG_OPTIONS") if o not in debug_options]
    return {"DEBUG_OPTIONS": extra, **values} if extra else values


def _set_by_earlier_config_extensions() -> set[str]:
    """The names the config extensions Metaflow applies before ours set (an organisation's).

    Metaflow copies each config extension's names over its module in its extensions' order, so
    a later one replaces what an earlier one set. An organisation's ``config`` extension sets
    names on purpose (its defaults, its own reading): whichever comes first, its names replace
    this package's, as README says. Those applied after ours replace them anyway; those before
    it are imported already, and their names are left out of ours.
    """
    support = sys.modules.get("metaflow.extension_support")
    packages = getattr(support, "_pkgs_per_extension_point", {}).get("config", [])
    names: set[str] = set()
    for package in packages:
        module_name = getattr(package, "config_module", None) or ".".join(
            ("metaflow_extensions", getattr(package, "tl_package", ""), "config")
        )
        if module_name == CONFIG_MODULE:
            break
        module = sys.modules.get(module_name)
        if module is None:
            continue
        names.update(
            name
            for name, value in vars(module).items()
            if not name.startswith("__") and not isinstance(value, ModuleType)
        )
    names.discard("DEBUG_OPTIONS")  # Metaflow extends its list with each extension's
    return names


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


def _resolve(*, again: bool = False) -> Settings:
    """The process-wide snapshot, its warnings shown once; ``again``: re-read the world first.

    The first call takes the snapshot :func:`check_early` resolved (or resolves it); a later one
    (Metaflow's module reloaded) re-reads the environment and the files, as ``settings.reload()``.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return settings.reload() if again else current()
    finally:
        _show_once(caught)  # after the catch: re-issued, they reach the filters in force


#: The extension's ``config`` module: what Metaflow's module takes its names from.
CONFIG_MODULE = "metaflow_extensions.metaflow_config.config.mfextinit_metaflow_config"


def _rerun_on_reload() -> None:
    """Have Metaflow's loader run the ``config`` module again each time it asks for it.

    Metaflow's module asks for its configuration extensions with
    ``metaflow.extension_support.get_modules("config")`` each time it runs, which imports them:
    a module still in ``sys.modules`` would not run again, and its names of the first import
    would replace those Metaflow's reload just read. The wrapper takes it out first.
    """
    import metaflow.extension_support as support

    real: Callable[..., Any] = support.get_modules
    if getattr(real, "_metaflow_config", False):
        return

    def get_modules(extension_point: str) -> Any:
        if extension_point == "config":
            sys.modules.pop(CONFIG_MODULE, None)
        return real(extension_point)

    get_modules._metaflow_config = True  # type: ignore[attr-defined]
    support.get_modules = get_modules


def _forget_metaflows_files() -> None:
    """Make Metaflow's own ``from_conf`` read the profile and project files again.

    Metaflow keeps the files it read once per process; after a reload (a new ``METAFLOW_PROFILE``)
    what Metaflow's plugins read with ``from_conf`` follows the files this resolution read.
    """
    funcs = sys.modules.get("metaflow.metaflow_config_funcs")
    for name in ("METAFLOW_CONFIG", "METAFLOW_LOCAL_CONFIG"):
        if getattr(funcs, name, None) is not None:
            setattr(funcs, name, None)


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
            # raised by the resolution, or out of Metaflow's own reading (a secret reference
            # its configuration module reads, fetched then): the ways out are said
            at_import = any(value is e for e in (*_AT_IMPORT, *_PENDING))
            at_import = at_import or _from_metaflows_reading(tb)
            sys.stderr.write(f"{value}\n{_escape_hatch(value) if at_import else ''}")
        elif _PENDING and _from_metaflows_reading(tb):
            # Metaflow's message quotes the value it tripped on: shown as a value is, and
            # without any secret this configuration holds (a secret's malformed JSON, say)
            said = redact(f"{kind.__name__}: {value}", _secrets_held())
            theirs = printable(mask_url_password(said))
            cannot = _configure_cannot() if _repairing() else ""
            sys.stderr.write(
                f"{_PENDING[0]}\n(Metaflow's own reading of it failed: {theirs})\n"
                f"{_SEE_EVERY_PROBLEM}\n{cannot}"
            )
        else:
            previous(kind, value, tb)
            return
        sys.stderr.flush()

    hook._metaflow_config = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def _secrets_held() -> list[str]:
    """What no message may show of the configuration as the layers hold it, valid or not.

    Each secret setting's value (its strings, for a JSON value; and the strings of the JSON it
    holds as text) and the password of every URL any value holds, in every layer, a project
    file's withheld keys included (Metaflow's own reading applies them): a message of
    Metaflow's about a value quotes it as it was given, or as it parsed it.
    """
    from .._model.jsontext import secret_texts
    from .._model.table import BY_ENV, BY_NAME
    from .._sources.inputs import Inputs
    from .._sources.layers import LAYERS

    try:
        inputs = Inputs.from_world()
        layers = [layer.read(inputs) for layer in LAYERS]
    except ConfigError:  # the working directory is gone: no file holds anything to hide
        layers = []
    secrets: list[Any] = []
    given: list[Any] = []
    for data in layers:
        raws = [(BY_NAME[name].secret, raw) for name, raw in data.values.items()]
        raws += [
            (key not in BY_ENV or BY_ENV[key].secret, raw) for key, raw in data.untrusted.items()
        ]
        for secret, raw in raws:
            (secrets if secret else given).append(raw.value)
    found = secret_texts(secrets)
    return [*found, *url_passwords([*found, *texts_of(given)])]


#: A ConfigError that check_early found, while Metaflow's own reading has not finished.
_PENDING: list[ConfigError] = []
_METAFLOW_READERS = ("metaflow_config.py", "metaflow_config_funcs.py")
#: The ConfigError metaflow_names raised out of ``import metaflow``.
_AT_IMPORT: list[ConfigError] = []
_SEE_EVERY_PROBLEM = (
    "To see every problem: `metaflow-config check` (or `metaflow-config show`: every setting, "
    "its value and where it comes from)."
)
_SEE_FETCHES = (
    "To fetch every secret reference as a task would: `metaflow-config check --aws` (`check` "
    "alone reads no secret)."
)
_NOT_EVEN_CONFIGURE = (
    "`metaflow configure` cannot run on it either (Metaflow's own reading fails on it too): "
    "fix it as said above"
)
#: ... where the profile file is there (not a ``METAFLOW_PROFILE`` with no file)
_OR_START_AGAIN = (
    ", or start the profile again with `metaflow-config reset` and `metaflow-config configure aws`"
)
_NOT_EVEN_METAFLOW = (
    "Metaflow's own reading fails on it too (Metaflow alone, and `metaflow configure`): fix it "
    "as said above.\n"
)
_WAYS_OUT = (
    f"`metaflow configure` still runs, to repair it; to run Metaflow on its own reading of the "
    f"configuration meanwhile, set {SWITCH}=0 (a flow that reads metaflow_config's settings "
    "itself still needs a valid configuration).\n"
)


def _escape_hatch(error: ConfigError) -> str:
    """The ways out of the invalid configuration ``error`` is of.

    Where a project file's keys are withheld (``error.also``), switching the extension off is
    said with what it means: Metaflow's own reading applies them as they are, trusted or not.
    """
    from .._snapshot.fetch import FetchError  # the error path only

    # a fetch: `check` alone fetches nothing
    see = _SEE_FETCHES if isinstance(error, FetchError) else _SEE_EVERY_PROBLEM
    if _repairing():  # `metaflow configure` itself, whose own reading failed on it too
        return f"{see}\n{_configure_cannot()}"
    if not _metaflow_reads_files():  # a way out that fails would send the user on to another
        return f"{see}\n{_NOT_EVEN_METAFLOW}"
    hatch = f"{see}\n{_WAYS_OUT}"
    if not error.also:
        return hatch
    return hatch + (
        f"Mind that with {SWITCH}=0 Metaflow's own reading applies the project file's keys "
        "that metaflow-config withholds (Also: above) as they are: remove them from the file "
        "first, or run elsewhere.\n"
    )


def _configure_cannot() -> str:
    """What ``metaflow configure`` says where Metaflow's own reading fails too."""
    again = _OR_START_AGAIN if os.path.exists(_metaflows_profile()) else ""
    return f"{_NOT_EVEN_CONFIGURE}{again}.\n"


#: The largest file the prediction of Metaflow's own reading reads (the error path only): past
#: this package's cap (a 1.5 MB profile Metaflow alone reads), bounded for a hostile one.
_METAFLOWS_MOST = 8 << 20
#: What ``int()`` takes of a text: blanks around, a sign, digits with single underscores.
_INT_TEXT = r"\s*[+-]?\d(?:_?\d)*\s*"


def _metaflows_profile() -> str:
    """The profile file Metaflow's own reading reads (``init_config``)."""
    home = os.environ.get("METAFLOW_HOME", "~/.metaflowconfig")
    profile = os.environ.get("METAFLOW_PROFILE")
    name = f"config_{profile}.json" if profile else "config.json"
    return os.path.expanduser(os.path.join(home, name))


def _metaflow_reads_files() -> bool:
    """Whether Metaflow's own reading (the extension off) reads the profile and project files.

    As ``metaflow_config_funcs`` reads them (``init_config``, ``init_local_config``): the
    profile ``METAFLOW_PROFILE`` names must exist, each file found must be a JSON object
    (``json.load``, then ``.get`` of each name), and a whole number Metaflow converts with
    ``int()`` must convert (``from_conf``: ``"abc"``, or an empty variable, raises). The error
    path only.
    """
    import json

    from .._sources.jsonfile import read_regular
    from .._sources.profiles import find_local_config

    paths = [_metaflows_profile()]
    if os.environ.get("METAFLOW_PROFILE") and not os.path.exists(paths[0]):
        return False  # "Unable to locate METAFLOW_PROFILE"
    try:  # the nearest .metaflow folder up from the working directory, as Metaflow looks
        local = find_local_config(os.getcwd())
    except OSError:
        local = None
    if local is not None:
        paths.append(local)
    docs: list[dict[str, Any]] = []
    for path in paths:
        if not os.path.exists(path):
            continue
        # read as every file anyone may have put in the way (a FIFO would hang Metaflow: said
        # as failing, never opened); Metaflow reads a file of any size (one over this package's
        # cap too), this reading one of at most _METAFLOWS_MOST
        data = read_regular(path, _METAFLOWS_MOST)[0]
        try:
            doc = None if data is None else json.loads(data.decode("utf-8"))
        except (ValueError, RecursionError):  # UnicodeDecodeError too; nesting past the limit
            return False
        if not isinstance(doc, dict):
            return False
        docs.insert(0, doc)  # the project file before the profile, as from_conf looks
    return _metaflow_converts(docs)


def _metaflow_converts(docs: list[dict[str, Any]]) -> bool:
    """Whether ``from_conf`` converts every whole number it reads (environment, then ``docs``).

    A setting whose default is an ``int`` is one Metaflow's module reads with an ``int``
    default: a value of another type goes through ``int()``, which refuses ``"abc"``,
    ``"5.7"`` and an empty variable.
    """
    from .._model.table import FIELDS

    for field in FIELDS:
        if not isinstance(field.default, int) or isinstance(field.default, bool):
            continue
        value: Any = os.environ.get(field.env)
        for doc in docs:
            if value is None:
                value = doc.get(field.env)
        if value is None or isinstance(value, (int, float)):
            continue
        # the text's form, not int() itself: a hostile value of a million digits costs
        # int() seconds on Python 3.9 and 3.10
        if not isinstance(value, str) or re.fullmatch(_INT_TEXT, value) is None:
            return False
        # int() refuses more digits than its limit (3.11, and 3.9's and 3.10's security releases)
        most = getattr(sys, "get_int_max_str_digits", lambda: 0)()
        if most and sum(c.isdigit() for c in value) > most:
            return False
    return True


def _from_metaflows_reading(tb: TracebackType | None) -> bool:
    """Whether the traceback passes through Metaflow's configuration modules."""
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename.replace(os.sep, "/")
        if path.endswith(tuple("metaflow/" + name for name in _METAFLOW_READERS)):
            return True
        tb = tb.tb_next
    return False


def mark_said(what: str) -> None:
    """Record ``what`` (a topic, not a message) as said in this process tree.

    As :func:`show_once` records what it shows: :func:`was_said` tells it, here and in children.
    """
    shown = {d for d in os.environ.get(WARNED, "").split(",") if d}
    shown.add(_digest("topic:" + what))
    os.environ[WARNED] = ",".join(sorted(shown))  # inherited by the tasks of this run


def was_said(what: str) -> bool:
    """Whether ``what`` was recorded by :func:`mark_said` here or in a parent process."""
    return _digest("topic:" + what) in os.environ.get(WARNED, "").split(",")


def _digest(text: str) -> str:
    """A warning's record in ``METAFLOW_CONFIG_WARNED``: no text can be made to share it.

    A cryptographic digest (64 bits of SHA-256), not a checksum: a key a repository chose could
    give its own warning the checksum of another (the one of a planted ``.metaflow`` link), and
    hide that one. Metaflow has imported ``hashlib`` already.
    """
    import hashlib

    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


def show_once(message: str) -> None:
    """Show ``message`` as a ``ConfigWarning`` once in this process tree, as the resolution's.

    For what a launch does (a secret written as text, an ``override()`` apart from Metaflow's
    module): Metaflow's command line ignores every warning before any launcher runs
    (``warnings.filterwarnings("ignore")``, for its own noise), and that blanket filter would
    hide it while its digest is recorded as shown. A filter that names ``ConfigWarning``, a
    message or a module still applies.
    """
    with warnings.catch_warnings():
        kept = [f for f in warnings.filters if not _ignores_everything(f)]
        cast("list[Any]", warnings.filters)[:] = kept  # a list, typed as a Sequence
        _show_once([warnings.WarningMessage(ConfigWarning(message), ConfigWarning, __file__, 0)])


def _ignores_everything(entry: tuple[Any, ...]) -> bool:
    """Whether a warnings filter is ``filterwarnings("ignore")``: every warning, anywhere."""
    action, message, category, module, lineno = entry
    return action == "ignore" and category is Warning and not (message or module or lineno)


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
            return "Warning: " + printable(str(message)) + "\n"  # one line, as print_warnings
        return previous(message, category, filename, lineno, line)

    return formatwarning
