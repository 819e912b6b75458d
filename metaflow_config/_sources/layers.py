"""The layers a resolution reads, and :data:`LAYERS`, the one tuple that orders them.

A layer (:class:`Layer`) has a name, the fields of the inputs it reads, a ``read`` returning a
``LayerData`` (the raw values it holds, by setting, with where each came from: the shape of a
pydantic-settings ``PydanticBaseSettingsSource.__call__``), and how to fix a bad value found in
it. :data:`LAYERS` lists them lowest precedence first, and is the only place the order is stated
(pydantic-settings' ``settings_customise_sources`` and botocore's ``ChainProvider`` list theirs
highest first: the first source that has a value wins there). The world is injected: a layer
reads the environment mapping, the home directory, the profile or the working directory of the
inputs it is given.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from .._display import short_name
from .._model.fields import is_unset
from .._model.table import BY_ENV, find
from ..errors import Problem
from .data import LayerData, Raw
from .environ import Found, getter, metaflow_found, metaflow_items, own
from .files import FileLayer, fix_file_key
from .inputs import Inputs, default_home
from .keys import ENV_SKIP, put, put_extra, section_key, suggest, take_all
from .profiles import (
    PROJECT_VAR,
    find_local_config,
    home_is_a_file,
    homeless,
    missing_profile,
    profile_path,
    relative_home,
)
from .sections import on_reset

__all__ = ["BY_LAYER", "LAYERS", "SOURCES", "OverrideLayer", "scope_layer"]


def _fix_variable(location: str) -> str:
    return f"correct or unset the environment variable {location}"


def _fix_override(location: str) -> str:
    return "pass a valid value to override()/load(overrides=...)"


class EnvLayer:
    """``METAFLOW_*`` environment variables (an empty value counts as not set)."""

    layer = "env"

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def read(self) -> LayerData:
        """Pick the ``METAFLOW_*`` variables out of the environment.

        The layer read last is remembered (a resolution does not change it) with what it was
        read from: the names of the environment (``environ.metaflow_found``, compared by
        identity) and the values of the variables it depends on. A process resolving again over
        the same variables, as tasks carrying thousands of Metaflow's own do, pays for comparing
        those only. The names of Metaflow's runtime families are mostly passed over by the
        search itself (``keys.ENV_SKIP``); the variables ``take_all`` passes over by their name
        are not read again, since no value of theirs could change the layer.
        """
        global _last_env  # noqa: PLW0603 - one remembered read, replaced whole: thread-safe
        scanned = metaflow_found(self.env, ENV_SKIP)  # no Python loop over every name: environ
        last = _last_env
        if scanned is None:
            source = dict(metaflow_items(self.env, ENV_SKIP))
        else:
            found, raw = scanned
            if last is not None and last.reads(found) and last.watched(raw) == last.values:
                if last.found is not found:  # other names changed, not these: keep the read
                    _last_env = last.replace_found(found)
                return last.data
            source = found.read(raw)
        data = LayerData(self.layer)
        take_all(data, source, file=None, fix=_fix_variable)
        _last_env = None if scanned is None else _EnvRead(scanned[0], scanned[1], source, data)
        return data


class _EnvRead:
    """A read of the environment layer, and what tells that a new read would give the same.

    ``found``: the search of the names it was read from; ``watched``: reads (in C) the raw
    values of the variables that matter, ``values`` those values at the time. A variable
    matters unless ``take_all`` passed it over by its name: it is none of the layer's values,
    unknown, renamed or registered keys, and its value is not empty (an empty one may be a
    setting's). Where the read found problems, every variable matters.
    """

    __slots__ = ("data", "found", "values", "watched")

    def __init__(
        self, found: Found, raw: dict[Any, Any], source: dict[str, str], data: LayerData
    ) -> None:
        self.found = found
        self.data = data
        watched = [raw_name for raw_name, _ in found.pairs]  # where the read found problems
        if not data.problems:  # the kept keys, the settings' names, the empty ones (by sets)
            matter = {*data.extra, *data.loose.keys, *(key for key, _ in data.renamed)}
            matter.update(r.location for r in data.values.values())
            matter |= source.keys() & BY_ENV.keys()
            if "" in source.values():
                matter.update(name for name, value in source.items() if is_unset(value))
            if len(matter) < len(source):
                watched = [raw_name for raw_name, name in found.pairs if name in matter]
        self.watched = getter(watched)
        self.values = self.watched(raw)

    def reads(self, found: Found) -> bool:
        """Whether ``found`` is what this read was read from.

        The same search, or the same ``METAFLOW_*`` names found again after other variables came
        or went.
        """
        return found is self.found or found.pairs == self.found.pairs

    def replace_found(self, found: Found) -> _EnvRead:
        """The same read, as read from ``found`` (the same names: compared by identity next)."""
        again = _EnvRead.__new__(_EnvRead)
        again.found, again.data, again.watched, again.values = (
            found,
            self.data,
            self.watched,
            self.values,
        )
        return again


#: The last read of an EnvLayer, and what it was read from
_last_env: _EnvRead | None = None


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
            full = None if field is not None else section_key(key, data)
            if full is not None:
                if not is_unset(value):
                    raw = Raw(value, f"override({key})")
                    put_extra(data, full, raw, fix=_fix_override)
                continue
            if field is None:
                shown = short_name(key)  # a NAME=VALUE given as a name: the value not said
                data.problems.append(
                    Problem.bad_value(
                        shown,
                        self.layer,
                        f"override({shown}=...)",
                        expected="the name of a setting",
                        fix=suggest(key),
                    )
                )
            elif not is_unset(value):
                put(data, field, key, Raw(value, f"override({key})"))
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


def profile_layer(
    home: str,
    profile: str | None,
    source: str | Callable[[], str] = "METAFLOW_PROFILE",
    home_source: str | Callable[[], str] = "METAFLOW_HOME",
) -> FileLayer:
    """The profile layer for ``home``/``profile``, with the problems of a bad home or profile.

    ``source`` is where the profile's name came from, for the fix of a missing one (see
    :func:`missing_profile`), or what tells it, asked only then; ``home_source`` the same of
    the home (``METAFLOW_HOME``, or ``home=`` of ``load()``).
    """
    unusable = _home_problems(home, profile)
    if unusable is not None:
        return FileLayer("profile", None, unusable)
    path, problems = profile_path(home, profile)
    if problems:
        return FileLayer("profile", None, problems)
    if os.path.exists(home) and not os.path.isdir(home):
        return FileLayer("profile", None, [home_is_a_file(home, home)])
    if profile and not os.path.lexists(path):
        named = source if isinstance(source, str) else source()
        given = home_source if isinstance(home_source, str) else home_source()
        return FileLayer("profile", None, [missing_profile(home, profile, path, named, given)])
    return FileLayer("profile", path)


def _home_problems(home: str, profile: str | None) -> list[Problem] | None:
    """Why no profile is read from ``home`` (``None``: it may be): NUL, relative, or no home.

    No home (``homeless``) is no profile file, and a problem only where a profile is named.
    """
    if "\0" in home:
        return [
            Problem.bad_value(
                "METAFLOW_HOME",
                "profile",
                "METAFLOW_HOME",
                value=repr(home),
                expected="a directory path without NUL characters",
                fix="point METAFLOW_HOME at a directory (default ~/.metaflowconfig)",
            )
        ]
    relative = relative_home(home)  # from the environment: a home given in code is absolute
    if homeless(home):
        return [relative] if profile and relative else []
    return None if relative is None else [relative]


def _profile_source(inputs: Inputs) -> str:
    """Where the profile of ``inputs`` was named: ``METAFLOW_PROFILE`` or ``profile=``.

    The inputs keep the name only, so it is told by the environment: a name that is not its
    ``METAFLOW_PROFILE`` was passed as ``profile=`` (a command line converts its own problems,
    see ``cli._common.from_flag``).
    """
    return (
        "METAFLOW_PROFILE" if own(inputs.env, "METAFLOW_PROFILE") == inputs.profile else "profile="
    )


def local_layer(cwd: str, home: str, env: Mapping[str, str]) -> FileLayer:
    """The project's local config layer, found walking up from ``cwd`` (``home`` trusts it).

    The walk starts at ``$METAFLOW_CONFIG_PROJECT`` of ``env`` instead, when that is set.
    """
    return FileLayer("local", find_local_config(own(env, PROJECT_VAR) or cwd), home=home)


def _project_named(data: LayerData, env: Mapping[str, str]) -> LayerData:
    """``data``, warned where ``$METAFLOW_CONFIG_PROJECT`` names no directory.

    The walk then starts above what it names (a mistyped path): the project file found, if
    any, is one of a folder above, which is said.
    """
    start = own(env, PROJECT_VAR)
    if start and not os.path.isdir(start):
        found = f"read {data.path}, found above it" if data.path else "no project file read"
        data.warnings.append(
            f"{PROJECT_VAR}={start} names no directory ({found}): correct it, or unset it "
            "to look from the working directory"
        )
    return data


# --- the layers, in order ----------------------------------------------------------------------


class Layer:
    """One layer of the resolution (a plain class with ``__slots__``: see ``_model.record``).

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


#: The layers, lowest precedence first: the only place their order is stated.
LAYERS: tuple[Layer, ...] = (
    Layer(
        "profile",
        ("home", "profile"),
        lambda inputs: profile_layer(
            inputs.home,
            inputs.profile,
            lambda: _profile_source(inputs),
            lambda: "METAFLOW_HOME" if inputs.home == default_home(inputs.env) else "home=",
        ).read(),
        fix_file_key,
    ),
    Layer(
        "local",
        ("cwd", "env", "home"),
        lambda inputs: _project_named(
            local_layer(inputs.cwd, inputs.home, inputs.env).read(), inputs.env
        ),
        fix_file_key,
    ),
    Layer(
        "env",
        ("env",),
        lambda inputs: EnvLayer(inputs.env).read(),
        _fix_variable,
    ),
    Layer(
        "override",
        ("overrides",),
        lambda inputs: OverrideLayer(inputs.overrides).read(),
        _fix_override,
    ),
)


BY_LAYER: dict[str, Layer] = {layer.name: layer for layer in LAYERS}


#: Where a value comes from, lowest first: the table's default, a derivation (computed from the
#: resolved values wherever no layer set the setting), then the layers.
SOURCES: tuple[str, ...] = ("default", "derived", *BY_LAYER)


def _forget_env() -> None:
    """Forget the remembered read of the environment (it knew the registered keys)."""
    global _last_env  # noqa: PLW0603
    _last_env = None


on_reset(_forget_env)
