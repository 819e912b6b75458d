"""Inputs from the world: the environment, the home, the profile and the working directory.

One resolution reads exactly its :class:`Inputs`, and nothing reads ``os.environ`` or the disk
at import time. The world becomes inputs here only: :meth:`Inputs.from_world` for ``load()``
(and so for the process-wide ``settings`` and the commands), :func:`switched` for what an
``override()`` switches, both through :func:`default_home`, :func:`selected_profile` and
:func:`working_directory`, after :func:`check_arguments` has checked what code passed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .._display import show_value
from .._model.record import Record
from .._model.table import MACHINE_VARIABLES
from ..errors import ConfigError, Problem
from .environ import metaflow_items, own
from .profiles import DEFAULT_HOME, code_home

__all__ = [
    "Inputs",
    "argument_problems",
    "check_arguments",
    "default_home",
    "selected_profile",
    "switched",
]


def default_home(env: Mapping[str, str]) -> str:
    """``$METAFLOW_HOME`` (when set and not empty) or ``~/.metaflowconfig``, expanded."""
    return os.path.expanduser(own(env, "METAFLOW_HOME") or DEFAULT_HOME)


def selected_profile(env: Mapping[str, str], profile: str | None = None) -> str | None:
    """The named profile in force (``None``: the default ``config.json``).

    ``profile`` if given (``""``: the default file), else ``$METAFLOW_PROFILE`` of ``env``.
    """
    return own(env, "METAFLOW_PROFILE") if profile is None else (profile or None)


def working_directory() -> str:
    """``os.getcwd()``; a working directory removed under the process is a ConfigError."""
    try:
        return os.getcwd()
    except OSError as exc:
        raise ConfigError(
            [
                Problem.bad_value(
                    "working directory",
                    "local",
                    "os.getcwd()",
                    expected="an existing working directory "
                    f"to look for .metaflow/config.json from ({exc.strerror})",
                    fix="change to an existing directory, or pass cwd= to load()/override()",
                )
            ]
        ) from exc


def switched(
    *,
    env: Mapping[str, str] | None = None,
    home: str | os.PathLike[str] | None = None,
    profile: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """The inputs ``override(env=, home=, profile=, cwd=)`` switches, by field, as given now.

    As :meth:`Inputs.from_world` takes them, with ``home`` and ``cwd`` made absolute (a scope
    may be entered after the process changed directory); ``env`` switches the home and profile
    it names too, unless ``home``/``profile`` are given.
    """
    changes: dict[str, Any] = {}
    if env is not None:  # as if the process had this environment
        changes["env"] = env
        changes["home"] = default_home(env)
        changes["profile"] = selected_profile(env)
    if home is not None:
        changes["home"] = code_home(home, "override")
    if profile is not None:
        changes["profile"] = profile or None
    if cwd is not None:
        changes["cwd"] = os.path.abspath(given_cwd(cwd))
    return changes


def given_cwd(cwd: str | os.PathLike[str]) -> str:
    """A ``cwd=`` given by code as a path: ``~`` expanded, as a ``home=`` is."""
    return os.path.expanduser(os.fspath(cwd))


def check_arguments(
    call: str,
    *,
    env: object = None,
    home: object = None,
    profile: object = None,
    cwd: object = None,
    strict: object = None,
    values: object = None,
    values_label: str,
) -> None:
    """Raise ConfigError naming every argument of ``call`` (``load``, ``override``) of a wrong type.

    ``values`` are the values injected (``values_label`` names them: ``load(overrides=...)``).
    """
    problems = place_problems(call, home=home, profile=profile, cwd=cwd, strict=strict)
    if env is not None:
        problems.extend(argument_problems(f"{call}(env=...)", env, text_values=True))
    if values is not None:
        problems.extend(argument_problems(values_label, values))
    if problems:
        raise ConfigError(problems)


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
        and cwd is None
        and (profile is None or type(profile) is str)
        and (strict is None or type(strict) is bool)
    ):
        return []  # the common case, without a call per argument
    problems: list[Problem] = []
    for name, value in (("home", home), ("cwd", cwd)):
        path = _fspath(value)
        if value is not None and not isinstance(path, str):
            problems.append(
                Problem.bad_argument(
                    f"{call}({name}=...)",
                    show_value(value, secret=False),
                    "a path: a str or an os.PathLike (pathlib.Path)",
                    f"pass {name} as a str or a pathlib.Path",
                )
            )
        elif name == "cwd" and isinstance(path, str) and not os.path.isdir(given_cwd(path)):
            # the project file's search would start in a folder that is not there: no project
            problems.append(
                Problem.bad_argument(
                    f"{call}(cwd=...)",
                    show_value(path, secret=False),
                    "an existing directory: where the search for .metaflow/config.json starts",
                    "pass the project's directory (~ is expanded), or None for the working "
                    "directory",
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


class Inputs(Record):
    """Everything one resolution reads (:meth:`from_world` makes them from ``load``'s arguments).

    Immutable by convention (nothing assigns to an attribute after ``__init__``); a record
    (``_model.record``): one is made per resolution and per ``override`` scope. ``strict`` is
    ``load()``'s (``None``: ``$METAFLOW_CONFIG_STRICT``), or a word of ``keys.STRICTNESS``
    that a command asks for (``check``'s ``typos``).
    """

    __slots__ = ("cwd", "env", "home", "overrides", "profile", "strict")
    __match_args__ = ("env", "home", "profile", "cwd", "overrides", "strict")
    env: Mapping[str, str]
    home: str
    profile: str | None
    cwd: str
    overrides: Mapping[str, Any]
    strict: bool | str | None

    def __init__(  # noqa: PLR0917 - the fields, as a dataclass would take them
        self,
        env: Mapping[str, str],
        home: str,
        profile: str | None,
        cwd: str,
        overrides: Mapping[str, Any] | None = None,
        strict: bool | str | None = None,
    ) -> None:
        self.env = env
        self.home = home
        self.profile = profile
        self.cwd = cwd
        self.overrides = {} if overrides is None else overrides
        self.strict = strict

    @classmethod
    def from_world(
        cls,
        *,
        env: Mapping[str, str] | None = None,
        home: str | os.PathLike[str] | None = None,
        profile: str | None = None,
        cwd: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, Any] | None = None,
        strict: bool | None = None,
    ) -> Inputs:
        """The inputs of ``load()`` (and of the commands): each argument not given, from the world.

        ``env``: ``os.environ``; ``home``: ``$METAFLOW_HOME``, else ``~/.metaflowconfig``
        (expanded; a ``home`` given here is made absolute, a relative ``$METAFLOW_HOME`` is a
        problem of the profile layer); ``profile``: ``$METAFLOW_PROFILE`` (``""``: the default
        ``config.json``); ``cwd``: the working directory. The environment read is ``env``'s (see
        :func:`~.environ.own`: an empty variable is unset).

        Raises:
            ConfigError: every problem of the arguments (naming ``load(...)``), or a working
                directory removed under the process.

        """
        check_arguments(
            "load",
            env=env,
            home=home,
            profile=profile,
            cwd=cwd,
            strict=strict,
            values=overrides,
            values_label="load(overrides=...)",
        )
        env = os.environ if env is None else env
        return cls(
            env,
            default_home(env) if home is None else code_home(home, "load"),
            selected_profile(env, profile),
            working_directory() if cwd is None else given_cwd(cwd),
            dict(overrides or {}),
            strict,
        )

    def __repr__(self) -> str:  # never the environment's values nor the overrides'
        return (
            f"Inputs(home={self.home!r}, profile={self.profile!r}, cwd={self.cwd!r}, "
            f"env=<{len(self.env)} variables>, overrides=<{len(self.overrides)} values>)"
        )

    def portable(self) -> Inputs:
        """These inputs with the environment reduced to what a resolution reads of it.

        ``METAFLOW_*`` and :data:`~metaflow_config._model.table.MACHINE_VARIABLES`, as a plain dict:
        what a pickled snapshot keeps (never the rest of the machine's environment).
        """
        env = dict(metaflow_items(self.env))
        env.update((k, self.env[k]) for k in MACHINE_VARIABLES if k in self.env)
        return self.replace(env=env)
