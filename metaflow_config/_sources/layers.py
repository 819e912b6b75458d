"""The layers a resolution reads, and :data:`LAYERS`, the one tuple that orders them.

A layer (:class:`Layer`) has a name, the fields of the inputs it reads, a ``read`` returning a
:class:`LayerData` (the raw values it holds, by setting, with where each came from: the shape of
a pydantic-settings ``PydanticBaseSettingsSource.__call__``), and how to fix a bad value found
in it. :data:`LAYERS` lists them lowest precedence first, as pydantic-settings'
``settings_customise_sources`` and botocore's ``ChainProvider`` order theirs, and is the only
place the order is stated. The world is injected: a layer reads the environment mapping, the
home directory, the profile or the working directory of the inputs it is given, and nothing
reads ``os.environ`` or the disk at import time.
"""

from __future__ import annotations

import functools
import os
import re
import stat
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .._display import shell_quote, show_value
from .._model.fields import PREFIX, Setting, is_unset
from .._model.kinds import TooDeep, freeze, unicode_problem
from .._model.table import BY_ENV, BY_NAME, find
from ..errors import ConfigError, Problem
from .environ import metaflow_items
from .jsonfile import MAX_FILE_BYTES, read_json_file

if TYPE_CHECKING:
    from .._resolve.resolve import Inputs

__all__ = [
    "BY_LAYER",
    "LAYERS",
    "MAX_FILE_BYTES",
    "PROJECT_VAR",
    "RUNTIME_VARS",
    "SOURCES",
    "EnvLayer",
    "FileLayer",
    "Layer",
    "LayerData",
    "OverrideLayer",
    "Raw",
    "argument_problems",
    "find_local_config",
    "home_is_a_file",
    "layer_from_document",
    "list_profiles",
    "local_layer",
    "missing_profile",
    "profile_layer",
    "profile_path",
    "read_json_file",
    "sensitive_key",
    "suggest",
    "use_existing_profile",
]

#: ``METAFLOW_*`` variables that are not settings but are legitimately present: the selectors of
#: this library and the variables Metaflow itself sets in task environments. Never "unknown".
RUNTIME_VARS = frozenset(
    PREFIX + n
    for n in [
        "HOME",
        "PROFILE",
        "CONFIG_STRICT",
        "CONFIG_EXTENSION",  # the Metaflow extension's off switch
        "CONFIG_WARNED",  # the warnings the launching process has shown (see _extension)
        "CONFIG_PROJECT",  # PROJECT_VAR: where the search for the project file starts
        "AIRFLOW_DAG_RUN_ID",
        "AIRFLOW_JOB_ID",
        "AIRFLOW_TASK_ID",
        "ARGO_ERROR",
        "ARGO_WORKFLOW_FAILURES",
        "ATTEMPT_NUMBER",
        "CODE_DS",
        "CODE_METADATA",
        "CODE_SHA",
        "CODE_URL",
        "DEFAULT_PARAMETERS",
        "EXTENSIONS_SEARCH_DIRS",
        "EXTRACTED_ROOT",
        "FLOW_CONFIG",
        "FLOW_CONFIG_VALUE",
        "FLOW_FILENAME",
        "FLOW_NAME",
        "INIT_SCRIPT",
        "INPUT_PATHS",
        "KUBERNETES_JOBSET_NAME",
        "KUBERNETES_NODE_IP",
        "KUBERNETES_POD_ID",
        "KUBERNETES_POD_NAME",
        "KUBERNETES_POD_NAMESPACE",
        "KUBERNETES_SERVICE_ACCOUNT_NAME",
        "KUBERNETES_WORKLOAD",
        "OWNER",
        "PACKAGE_POLICY",
        "PARAMETERS",
        "PARENT_TASK_ID",
        "PARENT_TASK_IDS",
        "PATH_TO_MICROMAMBA",
        "PRODUCTION_TOKEN",
        "RETRY_COUNT",
        "R_VERSION",
        "RUNTIME_ENVIRONMENT",
        "RUNTIME_NAME",
        "RUN_ID",
        "S3_TEST_RETRYABLE_FAILURES",
        "SKIP_INSTALL_DEPENDENCIES",
        "SFN_WORKFLOW_TIMEOUT",
        "SPLIT_INDEX",
        "SPLIT_PARENT_TASK_ID",
        "SPLIT_PARENT_TASK_ID_FOR_FOREACH_JOIN",
        "STEP_NAME",
        "STUBGEN",
        "TASK_ID",
        "TOKEN_HOME",
        "VERSION",
        "WORKFLOW_NAME",
        "WORKFLOW_NAMESPACE",
        "BATCH_WORKLOAD",
    ]
)
_RUNTIME_PREFIXES = (
    "METAFLOW_ARGO_EVENT_PAYLOAD_",
    "METAFLOW_CONDA_",
    "METAFLOW_DEBUG_",
    "METAFLOW_ENV_ESCAPE_",
    "METAFLOW_INIT_",  # a parameter's value for `init` (METAFLOW_INIT_<PARAMETER>)
    "METAFLOW_INPUT_PATHS_",  # a Batch task's input paths, split in chunks
    "METAFLOW_PARENT_",  # a Step Functions join's parents (METAFLOW_PARENT_<n>_TASK_ID, _STEP)
)
_PROFILE_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}"  # compiled by re when a profile is named


class Raw(NamedTuple):
    """One raw value a layer holds for a setting, and where it was found.

    Immutable; a NamedTuple rather than a frozen dataclass because a resolution makes one per
    value it reads, and a NamedTuple is built in 60% of the time.
    """

    value: Any
    location: str

    def __repr__(self) -> str:  # a raw value may be a secret's: which setting is not known here
        return f"Raw(<value>, {self.location!r})"


class LayerData:
    """What one layer read: values by short setting name, unknown keys, problems.

    ``warnings``: oddities that are not errors (a secret in a file others can read), said as
    ConfigWarnings. ``extra``: raw values of keys the table does not declare, by full name: those
    of registered sections (``_sections``), read by their models (``metaflow_config.pydantic``).
    ``untrusted``: the values of sensitive keys (by full name) that the layer held and does not
    apply, because its file is not trusted; ``distrust`` says why, and what to do (``_trust``).
    A plain class with ``__slots__`` (see ``_resolve.Inputs``): every resolution makes several.
    """

    __slots__ = (
        "distrust",
        "extra",
        "layer",
        "path",
        "problems",
        "unknown",
        "untrusted",
        "values",
        "warnings",
    )
    layer: str
    path: str
    values: dict[str, Raw]
    unknown: list[tuple[str, str]]
    problems: list[Problem]
    warnings: list[str]
    extra: dict[str, Raw]
    untrusted: dict[str, Raw]
    distrust: str

    def __init__(  # noqa: PLR0917 - the fields, as a dataclass would take them
        self,
        layer: str,
        path: str = "",
        values: dict[str, Raw] | None = None,
        unknown: list[tuple[str, str]] | None = None,
        problems: list[Problem] | None = None,
        warnings: list[str] | None = None,
        extra: dict[str, Raw] | None = None,
        untrusted: dict[str, Raw] | None = None,
        distrust: str = "",
    ) -> None:
        self.layer = layer
        self.path = path
        self.values = {} if values is None else values
        self.unknown = [] if unknown is None else unknown
        self.problems = [] if problems is None else problems
        self.warnings = [] if warnings is None else warnings
        self.extra = {} if extra is None else extra
        self.untrusted = {} if untrusted is None else untrusted
        self.distrust = distrust

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.layer,
            self.path,
            self.values,
            self.unknown,
            self.problems,
            self.warnings,
            self.extra,
            self.untrusted,
            self.distrust,
        )

    def __eq__(self, other: object) -> bool:
        if type(other) is not LayerData:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # equal by value; the fields are mutable

    def __reduce__(self) -> tuple[Any, ...]:  # every pickle protocol (slots need it below 2)
        return (LayerData, self._fields())

    def replace(self, **changes: Any) -> LayerData:
        """A copy of this layer's data with ``changes`` (keyword names as ``__init__``'s)."""
        fields = {name: getattr(self, name) for name in LayerData.__slots__}
        fields.update(changes)
        return LayerData(**fields)

    def __repr__(self) -> str:  # names and counts only: the values may be secrets
        return (
            f"<{self.layer} layer {self.path!r}: {len(self.values)} values, "
            f"{len(self.unknown)} unknown keys, {len(self.problems)} problems>"
        )


def _take(data: LayerData, key: str, value: Any, location: str, *, file: bool) -> None:
    """Record one key of a layer: a setting (or alias), a runtime variable, or unknown."""
    field = BY_ENV.get(key)
    if field is None:
        if key in RUNTIME_VARS or (
            not file and key.startswith(_RUNTIME_PREFIXES) and not _close_to_a_setting(key)
        ):
            return
        if file and key == "$schema":
            return  # an editor's pointer to `metaflow-config schema` output, not a setting
        if file or key.startswith(PREFIX):
            registered = _registered(key, data, exact=True)  # else unknown: a did-you-mean
            if not is_unset(value):
                _put_extra(data, key, Raw(value, location), registered=registered)
            if not registered:
                data.unknown.append((key, location))
        return
    if not is_unset(value):  # JSON null or "" in a file: unset, as an empty variable is
        _put(data, field, key, Raw(value, location))


def _section_key(key: str, data: LayerData) -> str | None:
    """The full key of a registered section's ``key`` (full or short name), or None."""
    full = key.upper() if key.upper().startswith(PREFIX) else PREFIX + key.upper()
    return full if _registered(full, data) else None


def _registered(key: str, data: LayerData, *, exact: bool = False) -> bool:
    """Whether ``key`` is a key of a registered section (looking them up if need be).

    ``exact``: spelled as the key is (upper case), as a file or the environment must spell it;
    otherwise in any case, as ``override()`` takes names.
    """
    from .sections import registry

    try:
        return (key if exact else key.upper()) in registry()
    except ConfigError as exc:  # a broken section: a problem of this read, said once
        for problem in exc.problems:
            if problem not in data.problems:
                data.problems.append(problem)
        return False


def _put_extra(data: LayerData, key: str, raw: Raw, *, registered: bool) -> None:
    """Record ``raw`` for ``key``, a key the table does not declare (see ``LayerData.extra``).

    A registered section's value is bounded as every JSON value is: nested deeper than
    ``MAX_JSON_DEPTH`` (text is decoded, and bounded, when its model is built), or holding a
    lone surrogate, it is a problem of this layer, not a value that nothing downstream (export,
    ``show``) could carry.
    """
    if registered:
        expected = None
        try:
            freeze(raw.value)  # only to bound the nesting
        except TooDeep as exc:
            expected = str(exc)
        expected = expected or unicode_problem(raw.value)
        if expected is not None:
            from .sections import is_secret

            data.problems.append(
                Problem.bad_value(
                    key,
                    data.layer,
                    raw.location,
                    value=show_value(raw.value, secret=is_secret(key)),
                    expected=expected,
                    fix=BY_LAYER[data.layer].fix(raw.location),
                )
            )
            return
    data.extra[key] = raw


def _put(data: LayerData, field: Setting, key: str, raw: Raw) -> None:
    """Record ``raw`` for ``field``, read under the name ``key``.

    An alias never beats the setting's own name in the same layer, in whatever order they come.
    """
    if key in (field.env, field.name) or field.name not in data.values:
        data.values[field.name] = raw


class FileLayer:
    """A JSON config file: the profile file or the project's local ``.metaflow/config.json``.

    ``home``: for a project file, the home whose trust store judges it (see :func:`_distrust`);
    ``None`` for the user's own profile.
    """

    def __init__(
        self,
        layer: str,
        path: str | None,
        problems: list[Problem] | None = None,
        home: str | None = None,
    ) -> None:
        self.layer = layer
        self.path = path
        self._problems = problems or []
        self.home = home

    def read(self) -> LayerData:
        """Read the file (a missing file is an empty layer)."""
        data = LayerData(self.layer, self.path or "", problems=list(self._problems))
        if not self.path or data.problems:
            return data
        link = None
        try:
            info = os.lstat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return data  # absent: an empty layer (any other failure is reported by the read)
        except (OSError, ValueError):
            pass
        else:
            link = info if stat.S_ISLNK(info.st_mode) else None
        read: list[tuple[bytes, os.stat_result]] = []
        seen = None if self.home is None else (lambda raw, st: read.append((raw, st)))
        doc, problems = read_json_file(self.path, self.layer, seen)
        data.problems.extend(problems)
        layer_from_document(data, self.path, doc)
        if self.home is not None and (data.values or data.extra):
            _distrust(data, self.path, read, link, self.home)
        return data


def _distrust(
    data: LayerData,
    path: str,
    read: list[tuple[bytes, os.stat_result]],
    link: os.stat_result | None,
    home: str,
) -> None:
    """Set aside the sensitive values of a project file the user has not trusted as it is.

    Only a file that sets a sensitive key is judged (the trust store is read then, not
    otherwise); its sensitive values move from ``values``/``extra`` to ``untrusted``, and
    ``distrust`` says why.
    """
    names = [n for n in data.values if BY_NAME[n].sensitive]
    keys = [k for k in data.extra if sensitive_key(k)]
    if not names and not keys:
        return
    from . import trust as _trust

    facts = _trust.FileFacts(read[0][0], read[0][1], link) if read else None
    why, advice = _trust.verdict(path, facts, home)
    if not why:
        return
    data.distrust = f"{why}; {advice}"
    for name in names:
        data.untrusted[BY_NAME[name].env] = data.values.pop(name)
    for key in keys:
        data.untrusted[key] = data.extra.pop(key)


def sensitive_key(key: str) -> bool:
    """Whether ``key`` is a registered section's sensitive key (a broken registry: yes)."""
    from .sections import registry

    try:
        found = registry().get(key)
    except ConfigError:
        return True
    return found is not None and key in found.sensitive


def layer_from_document(data: LayerData, path: str, doc: dict[str, Any] | None) -> LayerData:
    """Fill ``data`` from a parsed config file ``doc``: settings, unknown keys, mode warnings.

    What :class:`FileLayer` does after reading; public so that a command that has already read
    (and will write) a document validates exactly what it read.
    """
    for key, value in (doc or {}).items():
        _take(data, key, value, f"{path}:{key}", file=True)
    _check_secret_mode(data, path)
    return data


def _check_secret_mode(data: LayerData, path: str) -> None:
    """Warn when a file holding a secret setting can be read by its group or by everyone.

    Built-in secrets, and the secret keys of registered sections the file holds.
    """
    secrets = sorted(BY_NAME[n].env for n in data.values if BY_NAME[n].secret)
    if data.extra:
        from .sections import registry

        try:
            known = registry()
        except ConfigError:  # a broken section: said by the read already
            known = {}
        secrets += sorted(k for k in data.extra if k in known and k in known[k].secret)
    if not secrets or os.name == "nt":
        return
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if mode & 0o044:
        data.warnings.append(
            f"{path} holds secrets ({', '.join(secrets)}) and is readable by "
            f"{'everyone' if mode & 0o004 else 'its group'} (mode {mode:04o}); "
            f"run `chmod 600 {shell_quote(path)}`"
        )


class EnvLayer:
    """``METAFLOW_*`` environment variables (an empty value counts as not set)."""

    layer = "env"

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def read(self) -> LayerData:
        """Pick the ``METAFLOW_*`` variables out of the environment.

        The layer read from the last list of variables is remembered (a resolution does not
        change it): a process resolving again over the same variables, as tasks carrying
        hundreds of Metaflow's own do, pays for comparing them only.
        """
        global _last_env  # noqa: PLW0603 - one remembered read, replaced whole: thread-safe
        items = metaflow_items(self.env)  # no Python loop over every name: _environ
        last = _last_env
        if last is not None and (last[0] is items or last[0] == items):
            return last[1]
        data = LayerData(self.layer)
        for key, value in items:
            _take(data, key, value, key, file=False)
        _last_env = (items, data)
        return data


#: (the variables, the layer read from them) of the last EnvLayer.read
_last_env: tuple[list[tuple[str, str]], LayerData] | None = None


class OverrideLayer:
    """Values injected by code: ``override(...)`` and ``load(overrides=...)``."""

    layer = "override"

    def __init__(self, overrides: Mapping[str, Any]) -> None:
        self.overrides = overrides

    def read(self) -> LayerData:
        """Accept short (``BATCH_JOB_QUEUE``) or full names; an unknown key is an error."""
        data = LayerData(self.layer)
        for key, value in self.overrides.items():
            field = find(key)
            full = None if field is not None else _section_key(key, data)
            if full is not None:
                if not is_unset(value):
                    _put_extra(data, full, Raw(value, f"override({key})"), registered=True)
                continue
            if field is None:
                data.problems.append(
                    Problem.bad_value(
                        key,
                        self.layer,
                        f"override({key}=...)",
                        expected="the name of a setting",
                        fix=suggest(key),
                    )
                )
            elif not is_unset(value):
                _put(data, field, key, Raw(value, f"override({key})"))
        return data


def scope_layer(below: LayerData, own: LayerData) -> LayerData:
    """The override layer of a scope: ``own`` (its values, read) over ``below`` (the outer one's).

    By setting, as reading the merged ``{**outer, **own}`` overrides gives, without reading the
    outer values again: entering a scope costs its own values only, however deep the nesting.
    Outside any other scope (``below`` holds nothing), it is ``own`` itself: a layer is not
    changed once read.
    """
    if not below.values and not below.extra:
        return own
    values = {n: raw for n, raw in below.values.items() if n not in own.values}
    values.update(own.values)
    return LayerData(below.layer, values=values, extra={**below.extra, **own.extra})


_STR_ONLY = frozenset({str})


def argument_problems(argument: str, mapping: Any, *, text_values: bool = False) -> list[Problem]:
    """Problems of a mapping given by code (``load(env=...)``, ``override({...})``).

    Its type, keys that are not strings, and for an environment values that are not strings.
    """
    if not isinstance(mapping, Mapping):
        kind = type(mapping).__name__
        return [
            Problem.bad_argument(argument, kind, "a mapping (a dict)", f"pass a dict as {argument}")
        ]
    # The common case answered in C (the types of the keys and values, as a set); the loops
    # that name each offender run only when something is not exactly a str.
    problems = (
        []
        if set(map(type, mapping)) <= _STR_ONLY
        else [
            Problem.bad_argument(
                argument,
                f"the key {show_value(key, secret=False)}",
                "keys that are strings (the names of settings or variables)",
                f"give {argument} string keys only",
            )
            for key in mapping
            if not isinstance(key, str)
        ]
    )
    if text_values and not set(map(type, mapping.values())) <= _STR_ONLY:
        problems.extend(
            Problem.bad_argument(
                f"{argument}[{key!r}]",
                f"a value of type {type(value).__name__}",
                "a string, as environment variables hold",
                f"give {key} as text (for JSON-valued settings, JSON text)",
            )
            for key, value in mapping.items()
            if isinstance(key, str) and not isinstance(value, str)
        )
    return problems


def place_problems(
    call: str,
    *,
    home: object = None,
    profile: object = None,
    cwd: object = None,
    strict: object = None,
) -> list[Problem]:
    """Problems of the other arguments of ``load()``/``override()`` (``call`` names it).

    ``home`` and ``cwd`` are paths (``str`` or ``os.PathLike`` of ``str``), ``profile`` a
    ``str`` and ``strict`` a ``bool``; each may be ``None``. A wrong type would otherwise be a
    raw ``TypeError`` from ``os.path``, or (``strict="no"``) silently true.
    """
    if (
        (home is None or type(home) is str)
        and (cwd is None or type(cwd) is str)
        and (profile is None or type(profile) is str)
        and (strict is None or type(strict) is bool)
    ):
        return []  # the common case, without a call per argument
    problems: list[Problem] = []
    for name, value in (("home", home), ("cwd", cwd)):
        if value is not None and not isinstance(_fspath(value), str):
            problems.append(
                Problem.bad_argument(
                    f"{call}({name}=...)",
                    show_value(value, secret=False),
                    "a path: a str or an os.PathLike (pathlib.Path)",
                    f"pass {name} as a str or a pathlib.Path",
                )
            )
    checks = (
        ("profile", profile, str, "a profile name (a str)"),
        ("strict", strict, bool, "True or False"),
    )
    for name, value, kind, expected in checks:
        if value is not None and not isinstance(value, kind):
            problems.append(
                Problem.bad_argument(
                    f"{call}({name}=...)",
                    show_value(value, secret=False),
                    f"{expected} or None",
                    f"pass {name} as {expected}, or None for the default",
                )
            )
    return problems


def _fspath(value: object) -> object:
    """``os.fspath(value)``, or ``value`` itself where it is not a path at all."""
    try:
        return os.fspath(value)  # type: ignore[call-overload]
    except TypeError:
        return value


#: The settings of each runtime family (``METAFLOW_CONDA_`` ...): what a family name may be a
#: typo of. A typo across families is left to the general did-you-mean.
_FAMILY_SETTINGS = {p: [name for name in BY_ENV if name.startswith(p)] for p in _RUNTIME_PREFIXES}


@functools.lru_cache(maxsize=4096)
def _close_to_a_setting(key: str) -> bool:
    """Whether ``key`` looks like a misspelled setting, not a runtime variable sharing its prefix.

    ``METAFLOW_DEBUG_S3CLEINT`` is a typo of a setting; ``METAFLOW_CONDA_ENVS_DIRNAME`` is one of
    Metaflow's own variables. Compared with the settings of its own family only (a few), and
    remembered per name: a task carries hundreds of these, and every process resolves.
    """
    import difflib

    family = next(_FAMILY_SETTINGS[p] for p in _RUNTIME_PREFIXES if key.startswith(p))
    return bool(family and difflib.get_close_matches(key, family, n=1, cutoff=0.9))


@functools.lru_cache(maxsize=1024)
def suggest(key: str) -> str:
    """A did-you-mean for an unknown key (lower case or no METAFLOW_ prefix count as near).

    Remembered per name for the process: the same unknown key is reported at each resolution.
    """
    import difflib

    key = key.upper()
    full = key if key.startswith(PREFIX) else PREFIX + key
    from .sections import registry

    try:
        names = [*BY_ENV, *registry()]
    except ConfigError:
        names = list(BY_ENV)
    close = difflib.get_close_matches(full, names, n=1, cutoff=0.75)
    if close:
        return f"did you mean {close[0]}?"
    return "remove it, or see `metaflow-config docs` for the names of all settings"


def profile_path(home: str, profile: str | None) -> tuple[str, list[Problem]]:
    """The profile file for ``profile`` under ``home``, or problems if the name is unsafe."""
    if not profile:
        return os.path.join(home, "config.json"), []
    if not re.fullmatch(_PROFILE_NAME, profile) or ".." in profile:
        return "", [
            Problem.bad_value(
                "METAFLOW_PROFILE",
                "profile",
                "METAFLOW_PROFILE",
                value=repr(profile),
                expected="a profile name of letters, digits, '_', '-' and '.' (no '/', '..', NUL)",
                fix=f"use a plain name; profiles are files config_<name>.json in {home}",
            )
        ]
    return os.path.join(home, f"config_{profile}.json"), []


def list_profiles(home: str) -> list[str]:
    """The profiles under ``home``: ``default`` for config.json, then config_<name>.json names."""
    try:
        names = sorted(os.listdir(home))
    except (OSError, ValueError):
        return []
    found = ["default"] if "config.json" in names else []
    found.extend(n[7:-5] for n in names if n.startswith("config_") and n.endswith(".json"))
    return found


def profile_layer(
    home: str, profile: str | None, source: str | Callable[[], str] = "METAFLOW_PROFILE"
) -> FileLayer:
    """The profile layer for ``home``/``profile``, with the problems of a bad home or profile.

    ``source`` is where the profile's name came from, for the fix of a missing one (see
    :func:`missing_profile`), or what tells it, asked only then.
    """
    if "\0" in home:
        return FileLayer(
            "profile",
            None,
            [
                Problem.bad_value(
                    "METAFLOW_HOME",
                    "profile",
                    "METAFLOW_HOME",
                    value=repr(home),
                    expected="a directory path without NUL characters",
                    fix="point METAFLOW_HOME at a directory (default ~/.metaflowconfig)",
                )
            ],
        )
    path, problems = profile_path(home, profile)
    if problems:
        return FileLayer("profile", None, problems)
    if os.path.exists(home) and not os.path.isdir(home):
        return FileLayer("profile", None, [home_is_a_file(home, home)])
    if profile and not os.path.lexists(path):
        named = source if isinstance(source, str) else source()
        return FileLayer("profile", None, [missing_profile(home, profile, path, named)])
    return FileLayer("profile", path)


def missing_profile(
    home: str, profile: str, path: str, source: str = "METAFLOW_PROFILE"
) -> Problem:
    """The problem of a named profile whose file does not exist, and what to do instead.

    Says when ``METAFLOW_HOME`` itself does not exist, lists the profiles that do, and names
    the profile meant when a file name was given for it (``config_prod.json``, ``prod.json``).
    ``source`` is where the name came from, which the fix names: ``METAFLOW_PROFILE``,
    ``profile=`` (of ``load()`` or ``override()``), or a command-line argument (``-p/--profile``).
    """
    existing = list_profiles(home) if os.path.isdir(home) else []
    if not os.path.isdir(home):
        where = f"{home}, which does not exist (METAFLOW_HOME)"
    else:
        where = f"{home} (profiles there: {', '.join(existing) if existing else 'none'})"
    fix = f"create it with `metaflow-config configure aws --profile {profile}`"
    if existing:
        fix += ", or " + use_existing_profile(source)
    meant = profile.removesuffix(".json")
    meant = meant[len("config_") :] if meant.startswith("config_") else meant
    if meant == "config":  # config.json: the default profile
        fix = 'config.json is the default profile: leave the profile out (or give "")'
    elif meant not in ("", profile):
        fix = f"name the profile without config_ and .json: {meant} ({_given(source, meant)})"
        if not os.path.lexists(profile_path(home, meant)[0]):
            fix += f", and create it with `metaflow-config configure aws --profile {meant}`"
    return Problem.bad_value(
        "METAFLOW_PROFILE",
        "profile",
        path,
        value=repr(profile),
        expected=f"an existing profile in {where}",
        fix=fix,
    )


def home_is_a_file(home: str, blocker: str) -> Problem:
    """The problem of a METAFLOW_HOME that is a file (``blocker`` is ``home``) or lies under one.

    Said alike by the resolver (``home`` itself) and by the commands that write a profile.
    """
    same = os.path.abspath(blocker) == os.path.abspath(home)
    return Problem.bad_value(
        "METAFLOW_HOME",
        "profile",
        home,
        expected="a directory, found a file" + ("" if same else f" at {blocker}"),
        fix="point METAFLOW_HOME at a directory (default ~/.metaflowconfig)",
    )


def use_existing_profile(source: str) -> str:
    """The fix of a missing profile that names one that exists, where the name was given."""
    if source == "METAFLOW_PROFILE":
        return "set METAFLOW_PROFILE to one of the existing profiles"
    if source == "profile=":
        return "pass one of the existing profiles as profile="
    if source.startswith("-"):  # an option
        return f"pass one of the existing profiles to {source}"
    return f"give one of the existing profiles as {source}"  # an argument (diff's PROFILE_A)


def _given(source: str, profile: str) -> str:
    """``profile`` as it is given at ``source`` (see :func:`missing_profile`)."""
    if source == "METAFLOW_PROFILE":
        return f"METAFLOW_PROFILE={profile}"
    if source == "profile=":
        return f"profile={profile!r}"
    return f"--profile {profile}" if source == "-p/--profile" else f"{profile} as {source}"


def _profile_source(inputs: Inputs) -> str:
    """Where the profile of ``inputs`` was named: ``METAFLOW_PROFILE`` or ``profile=``.

    The inputs keep the name only, so it is told by the environment: a name that is not its
    ``METAFLOW_PROFILE`` was passed as ``profile=`` (a command line converts its own problems,
    see ``cli._common.from_flag``).
    """
    return (
        "METAFLOW_PROFILE" if inputs.env.get("METAFLOW_PROFILE") == inputs.profile else "profile="
    )


def find_local_config(cwd: str) -> str | None:
    """``.metaflow/config.json`` of the nearest ``.metaflow`` directory at or above ``cwd``."""
    current = os.path.abspath(cwd)
    while True:
        candidate = os.path.join(current, ".metaflow")
        if os.path.isdir(candidate):
            return os.path.join(candidate, "config.json")
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


#: The variable naming the directory the search for the project file starts from, in place of
#: the working directory (empty or unset: the working directory). The pytest fixture sets it to
#: a temporary project, so that a test and the processes it starts keep their working directory
#: and read no project file of the real tree (``testing.isolated_process``).
PROJECT_VAR = PREFIX + "CONFIG_PROJECT"


def local_layer(cwd: str, home: str, env: Mapping[str, str]) -> FileLayer:
    """The project's local config layer, found walking up from ``cwd`` (``home`` trusts it).

    The walk starts at ``$METAFLOW_CONFIG_PROJECT`` of ``env`` instead, when that is set.
    """
    return FileLayer("local", find_local_config(env.get(PROJECT_VAR) or cwd), home=home)


# --- the layers, in order ----------------------------------------------------------------------


class Layer:
    """One layer of the resolution (a plain class: see ``_fields.Context``).

    Attributes:
        name: what ``explain`` calls its values' source (``profile``, ``local``, ``env``, ...).
        reads: the fields of the inputs it reads: a snapshot built on another (an ``override``
            scope) reuses what this layer read when none of them changed.
        read: reads the layer from the inputs.
        fix: how to fix a bad value found at a location in this layer.

    """

    __slots__ = ("fix", "name", "read", "reads")

    def __init__(
        self,
        name: str,
        reads: tuple[str, ...],
        read: Callable[[Inputs], LayerData],
        fix: Callable[[str], str],
    ) -> None:
        self.name = name
        self.reads = reads
        self.read = read
        self.fix = fix

    def __repr__(self) -> str:
        return f"Layer({self.name!r})"


def _fix_file_key(location: str) -> str:
    path, _, key = location.rpartition(":")
    return f"correct or remove the key {key} in {path}"


#: The layers, lowest precedence first: the only place their order is stated.
LAYERS: tuple[Layer, ...] = (
    Layer(
        "profile",
        ("home", "profile"),
        lambda inputs: profile_layer(
            inputs.home, inputs.profile, lambda: _profile_source(inputs)
        ).read(),
        _fix_file_key,
    ),
    Layer(
        "local",
        ("cwd", "env", "home"),
        lambda inputs: local_layer(inputs.cwd, inputs.home, inputs.env).read(),
        _fix_file_key,
    ),
    Layer(
        "env",
        ("env",),
        lambda inputs: EnvLayer(inputs.env).read(),
        lambda location: f"correct or unset the environment variable {location}",
    ),
    Layer(
        "override",
        ("overrides",),
        lambda inputs: OverrideLayer(inputs.overrides).read(),
        lambda location: "pass a valid value to override()/load(overrides=...)",
    ),
)
BY_LAYER: dict[str, Layer] = {layer.name: layer for layer in LAYERS}
#: Where a value comes from, lowest first: the table's default, a derivation (computed from the
#: resolved values wherever no layer set the setting), then the layers.
SOURCES: tuple[str, ...] = ("default", "derived", *BY_LAYER)
