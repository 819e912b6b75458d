"""Helpers for testing code that reads metaflow_config: isolated snapshots, files, provenance.

::

    from metaflow_config.testing import assert_source, isolated, write_profile

    write_profile(tmp_path, {"DATASTORE_SYSROOT_S3": "s3://bucket/mf"}, profile="staging")
    s = isolated(home=tmp_path, profile="staging", BATCH_JOB_QUEUE="q")
    assert s.datatools.s3root == "s3://bucket/mf/data"
    assert_source("METAFLOW_DATATOOLS_S3ROOT", "derived", snapshot=s)

For pytest, the plugin in :mod:`metaflow_config.pytest_plugin` (loaded through the ``pytest11``
entry point) gives the ``metaflow_settings`` fixture (a :class:`SettingsFixture`) and the
``@pytest.mark.metaflow_settings(...)`` marker. Importing this module does not import pytest.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._display import short_name
from ._model.fields import PREFIX
from ._model.table import find
from ._override import Override, override
from ._scope import current, load, reset
from ._snapshot.explanation import Explanation
from ._snapshot.export import ChildEnv
from ._snapshot.settings import Settings
from ._sources.inputs import argument_problems
from ._sources.layers import SOURCES
from ._sources.profiles import PROJECT_VAR, profile_path
from ._sources.sections import find_key
from ._sources.trust import read_facts, record
from .errors import ConfigError, Problem, keeps_no_locals

if TYPE_CHECKING:
    import pytest

__all__ = [
    "ISOLATED_ROOT",
    "TEST_USER",
    "SettingsFixture",
    "assert_source",
    "child_env",
    "isolated",
    "isolated_process",
    "reset_settings",
    "trust",
    "write_local",
    "write_profile",
]

#: Where :func:`isolated` points the home when none is given: a path that does not exist, so no
#: profile is read.
ISOLATED_ROOT = os.path.join(os.path.abspath(os.sep), "nonexistent", "metaflow-config-isolated")

#: The empty project :func:`isolated` starts the search for the project file in when no ``cwd``
#: is given (made on first use, removed at exit; see :func:`_empty_project`).
_EMPTY_PROJECT: list[str] = []

#: Variables besides ``METAFLOW_*`` that :func:`isolated_process` clears: they feed the derived
#: ``USER`` ahead of ``$USER``.
_USER_VARS = ("SUDO_USER", "USERNAME")
#: The ``$USER`` :func:`isolated_process` sets when the machine has none (or only ``root``):
#: Metaflow refuses to run a flow without a user name.
TEST_USER = "metaflow-test"


@keeps_no_locals
def isolated(
    env: Mapping[str, str] | None = None,
    *,
    home: str | os.PathLike[str] | None = None,
    profile: str | None = None,
    cwd: str | os.PathLike[str] | None = None,
    strict: bool | None = None,
    **values: Any,
) -> Settings:
    """A snapshot resolved from only what is given: never the real home, environment or cwd.

    Args:
        env: the environment (default: empty, not ``os.environ``).
        home: the METAFLOW_HOME to read profiles from (default: a directory that does not exist).
        profile: the named profile (default: ``$METAFLOW_PROFILE`` of ``env``, else none).
        cwd: where the search for ``.metaflow/config.json`` starts (default: an empty project
            of this process's, a private temporary directory holding an empty ``.metaflow``:
            the search starts and stops there, as in the ``metaflow_settings`` fixture, so no
            project file of the folders above is read).
        strict: unknown ``METAFLOW_*`` keys are errors (default: ``$METAFLOW_CONFIG_STRICT``).
        **values: overrides, by short or full name (``BATCH_JOB_QUEUE="q"``).

    Raises:
        ConfigError: listing every problem, as :func:`metaflow_config.load` does.

    """
    return load(
        env={} if env is None else env,
        home=os.path.join(ISOLATED_ROOT, "home") if home is None else home,
        profile=profile,
        cwd=_empty_project() if cwd is None else cwd,
        overrides=values,
        strict=strict,
    )


def _empty_project() -> str:
    """A project of this process's with an empty ``.metaflow``: where :func:`isolated` looks.

    The search for ``.metaflow/config.json`` walks up to the nearest ``.metaflow`` directory,
    and a directory that does not exist stops no walk: from one, a ``/.metaflow/config.json``
    (a container whose working directory is ``/``) or one in ``/tmp`` would be read. A private
    (0700) temporary directory, made once per process (again if something removed it) and
    removed at exit.
    """
    if _EMPTY_PROJECT and os.path.isdir(os.path.join(_EMPTY_PROJECT[0], ".metaflow")):
        return _EMPTY_PROJECT[0]
    import atexit
    import shutil
    import tempfile

    project = tempfile.mkdtemp(prefix="metaflow-config-isolated-")
    os.mkdir(os.path.join(project, ".metaflow"), 0o700)
    atexit.register(shutil.rmtree, project, ignore_errors=True)
    _EMPTY_PROJECT[:] = [project]
    return project


def _write(path: Path, values: Mapping[str, Any]) -> Path:
    problems = argument_problems("values", values) or _short_name_problems(values)
    if problems:
        raise ConfigError(problems)
    doc = {k if k.startswith(PREFIX) else PREFIX + k: v for k, v in values.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)  # private, as `configure` writes profiles (they may hold secrets)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path


def _short_name_problems(values: Mapping[str, Any]) -> list[Problem]:
    """The problems of short keys that name nothing a file holds (``BATCH_JOB_QEUE``).

    The test meant a setting. A full ``METAFLOW_*`` name is written as it is, known or not (a
    test of a warning).
    """
    from ._sources.keykind import ENV_ONLY, FOREIGN, TYPO
    from ._sources.keys import classify, suggest

    return [
        Problem.bad_value(
            short_name(key),
            "argument",
            f"values[{short_name(key)!r}]",
            expected="a setting's name (short, or a full METAFLOW_* name to write as it is)",
            fix=suggest(key),
        )
        for key in values
        if not key.startswith(PREFIX)
        and classify(PREFIX + key, file=True).kind in (TYPO, ENV_ONLY, FOREIGN)
    ]


def write_profile(
    home: str | os.PathLike[str], values: Mapping[str, Any], *, profile: str | None = None
) -> Path:
    """Write a profile file into ``home`` (``config.json``, or ``config_<profile>.json``).

    Keys may be short (``BATCH_JOB_QUEUE``) or full names; they are written as ``METAFLOW_*``
    keys, values as JSON. Returns the path written (its parent is created if missing).

    Raises:
        ConfigError: the profile name is not a plain name (it would write outside ``home``), or
            a short key names no setting (a typo: a full ``METAFLOW_*`` name is written as is).

    """
    path, problems = profile_path(os.fspath(home), profile)
    if problems:
        raise ConfigError(problems)
    return _write(Path(path), values)


def write_local(
    project: str | os.PathLike[str],
    values: Mapping[str, Any],
    *,
    trusted_by: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the project's local config, ``<project>/.metaflow/config.json``; return its path.

    Keys as for :func:`write_profile`. ``trusted_by``: a home whose trust store then trusts the
    file as written (see :func:`trust`); without it, the settings that decide where data or
    credentials go are not applied from the file (README, "Trust").
    """
    path = _write(Path(project, ".metaflow", "config.json"), values)
    if trusted_by is not None:
        trust(trusted_by, path)
    return path


def trust(home: str | os.PathLike[str], path: str | os.PathLike[str]) -> None:
    """Trust the project file ``path`` as it is now, in ``home``'s store: ``metaflow-config trust``.

    Raises:
        ConfigError: ``path`` is not a readable config file, or can never be trusted (owned by
            another user, writable by others).

    """
    facts, _, problems = read_facts(os.fspath(path))
    if problems or facts is None:
        raise ConfigError(problems)
    record(os.fspath(home), os.fspath(path), facts)


def assert_source(
    name: str,
    source: str,
    *,
    location: str | os.PathLike[str] | None = None,
    snapshot: Settings | None = None,
) -> Explanation:
    """Assert where the value of setting ``name`` comes from; return its explanation.

    Args:
        name: the setting, by full or short name.
        source: the expected layer: ``default``, ``derived``, ``profile``, ``local``, ``env`` or
            ``override``.
        location: the expected location, if given: the whole location (``METAFLOW_X`` for the
            environment, ``override(X)``), or a file path matching ``<file>:<key>``.
        snapshot: the snapshot to ask (default: the one in force here,
            :func:`metaflow_config.current`).

    Raises:
        AssertionError: with the full explanation of the value, when it does not match.
        ConfigError: ``source`` is not the name of a layer (an invalid argument).

    """
    if source not in SOURCES:
        raise ConfigError(
            [Problem.not_one_of("assert_source(source=...)", source, SOURCES, "assert_source()")]
        )
    info = (current() if snapshot is None else snapshot).explain(name)
    where = None if location is None else os.fspath(location)
    found = info.source == source and (
        where is None or info.location == where or info.location.startswith(where + ":")
    )
    if not found:
        wanted = f"source {source!r}" + ("" if where is None else f" at {where!r}")
        msg = f"{info.name}: expected {wanted}, found:\n{info}"
        raise AssertionError(msg)
    return info


@keeps_no_locals
def child_env(
    snapshot: Settings | None = None, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for a child process that must resolve ``snapshot`` (default: in force).

    A process started here inherits ``os.environ``, not the ``override`` scopes in force:
    ``subprocess.run(cmd, env=child_env())`` or ``metaflow.Runner(flow, env=child_env())``
    gives it what the scope resolved. ``base`` (default ``os.environ``) keeps every variable
    but the settings, which come from ``snapshot.to_env("local")`` (those ``base`` holds that
    the snapshot does not export are ``""``: unset, also where the result is laid over
    ``os.environ``, old names and registered keys included); ``METAFLOW_HOME`` and
    ``METAFLOW_PROFILE`` name the snapshot's profile (``""``: the default one), and
    ``METAFLOW_CONFIG_PROJECT`` where the snapshot's search for ``.metaflow/config.json``
    started (its ``override(cwd=...)``, else its working directory, or the project variable it
    was given): the child reads the snapshot's project file wherever it runs. Its ``repr``
    masks the secrets, as ``to_env``'s does, and shows no value of a variable that is not
    ``METAFLOW_*`` (the machine's own: ``AWS_SECRET_ACCESS_KEY``, a token).

    Raises:
        ConfigError: a value in force would not read back from an environment variable (see
            :meth:`Settings.to_env`), or ``base`` is no mapping of names to text.

    """
    from ._snapshot.settings import child_variables

    snapshot = current() if snapshot is None else snapshot
    if base is None:
        base = os.environ
    else:
        problems = argument_problems("child_env(base=...)", base, text_values=True)
        if problems:
            raise ConfigError(problems)
    env = ChildEnv(  # a dict whose repr masks the secrets, and the machine's other values
        (key, value)
        for key, value in base.items()
        if not (key.startswith(PREFIX) and find(key) is not None)
    )
    # the settings of base the snapshot leaves out are "" (unset), not absent: given to a
    # metaflow.Runner, which lays env over os.environ, they stay left out
    env.update(child_variables(snapshot, base))
    return env


def reset_settings() -> None:
    """Forget the process-wide snapshot: the next read of ``settings`` resolves afresh.

    Unlike ``settings.reload()`` nothing is read now, so a broken configuration raises at the
    next read, not here. Overrides in force stay in force on top of the new resolution.
    """
    reset()


def isolated_process(
    monkeypatch: pytest.MonkeyPatch,
    *,
    home: str | os.PathLike[str],
    project: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> contextlib.AbstractContextManager[None]:
    """Isolate the process-wide ``settings`` from the machine for the enclosed code.

    A context manager: ``with isolated_process(monkeypatch, home=..., project=...): ...``.

    Clears every ``METAFLOW_*`` variable (and ``SUDO_USER``, ``USERNAME``), points
    ``METAFLOW_HOME`` at ``home`` and resets the process snapshot on entry and exit, so
    ``settings`` reads only what the test puts there; all through ``monkeypatch``, undone with
    it. The project file of the real tree is kept out in one of two ways:

    - ``project``: the search for ``.metaflow/config.json`` starts in this directory instead of
      the working directory (``$METAFLOW_CONFIG_PROJECT``, which the processes the test starts
      inherit); the working directory stays as it is, so relative paths keep working. Give it a
      ``.metaflow/`` directory of its own, or the search goes on above it.
    - ``cwd``: the process changes into this directory, and the search starts there.

    The derived ``USER`` is then ``$USER``; where that is unset or ``root``, ``$USER`` becomes
    :data:`TEST_USER`, so that flows the test runs have a user name.

    Raises:
        TypeError: neither ``project`` nor ``cwd`` is given (the project file of the working
            directory would apply).

    """
    if project is None and cwd is None:  # said at the call, whether or not it is entered
        msg = "isolated_process() needs project= or cwd=: where the project file is looked for"
        raise TypeError(msg)
    return _isolated(monkeypatch, home, project, cwd)


@contextlib.contextmanager
def _isolated(
    monkeypatch: pytest.MonkeyPatch,
    home: str | os.PathLike[str],
    project: str | os.PathLike[str] | None,
    cwd: str | os.PathLike[str] | None,
) -> Iterator[None]:
    """:func:`isolated_process`'s isolation, for the ``with`` block."""
    for key in list(os.environ):
        if key.startswith(PREFIX) or key in _USER_VARS:
            monkeypatch.delenv(key)
    if os.environ.get("USER", "") in ("", "root"):
        monkeypatch.setenv("USER", TEST_USER)
    monkeypatch.setenv("METAFLOW_HOME", os.fspath(home))
    if project is not None:
        monkeypatch.setenv(PROJECT_VAR, os.path.abspath(project))
    if cwd is not None:
        monkeypatch.chdir(cwd)
    reset_settings()
    try:
        yield
    finally:
        reset_settings()


class SettingsFixture:
    """An isolated configuration for one test: what the ``metaflow_settings`` fixture gives.

    Everything is undone after the test. Reads of ``settings`` (and ``metaflow_config.compat``)
    see only what the test sets here, and so do the processes the test starts (a flow run with
    ``metaflow.Runner`` or ``python flow.py run``): values given to :meth:`set` (and the marker)
    are also put in the environment, as ``METAFLOW_*`` variables, and the profile and local
    files are where a child process looks for them (``METAFLOW_HOME``,
    ``$METAFLOW_CONFIG_PROJECT``). The working directory is the test's own, unchanged.

    Attributes:
        home: the test's ``METAFLOW_HOME``, an empty temporary directory.
        project: the test's project, an empty temporary directory with a ``.metaflow/`` and no
            config file: the search for ``.metaflow/config.json`` starts and stops there
            (``$METAFLOW_CONFIG_PROJECT``), never in the working directory's tree.

    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, home: Path, project: Path) -> None:
        self.home = home
        self.project = project
        self._monkeypatch = monkeypatch
        self._scopes: list[Override] = []

    @property
    def settings(self) -> Settings:
        """The snapshot in force (the same values ``metaflow_config.settings`` reads here)."""
        return current()

    @keeps_no_locals
    def set(self, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Settings:
        """Override settings (short or full names) for the rest of the test; return the snapshot.

        Validated now (``ConfigError`` for a bad value or an unknown name). Later calls win.
        The values are also set as environment variables, for the processes the test starts;
        in this process the override is their source.
        """
        given = {**(values or {}), **kwargs}
        scope = override(given)
        snapshot = scope.__enter__()
        self._scopes.append(scope)
        exported = snapshot.to_env("local")
        for key in given:  # each valid (the scope took it): a setting's name, or a section's
            field = find(key)
            name = field.env if field is not None else _registered_key(key)
            if name in exported and snapshot.source(name) == "override":
                self._monkeypatch.setenv(name, exported[name])
        return snapshot

    def setenv(self, name: str, value: str) -> None:
        """Set the environment variable ``name`` (a full name) for the rest of the test."""
        self._monkeypatch.setenv(name, value)
        reset_settings()

    def delenv(self, name: str) -> None:
        """Remove the environment variable ``name`` for the rest of the test (if set)."""
        self._monkeypatch.delenv(name, raising=False)
        reset_settings()

    def use_profile(self, profile: str | None) -> None:
        """Select the named profile (``config_<profile>.json`` in :attr:`home`); ``None``: none.

        Raises:
            ConfigError: the test's home holds no such profile (write it first, with
                :meth:`write_profile`), or the name is not a plain one.

        """
        if profile is None:
            self.delenv("METAFLOW_PROFILE")
            return
        path, problems = profile_path(os.fspath(self.home), profile)
        if not problems and not os.path.lexists(path):
            problems = [
                Problem.bad_argument(
                    "use_profile",
                    repr(profile),
                    f"a profile of the test's home ({path} does not exist)",
                    "write it first: metaflow_settings.write_profile({...}, "
                    f"profile={profile!r})",
                )
            ]
        if problems:
            raise ConfigError(problems)
        self.setenv("METAFLOW_PROFILE", profile)

    def write_profile(self, values: Mapping[str, Any], *, profile: str | None = None) -> Path:
        """Write a profile file into :attr:`home` (see :func:`write_profile`); return its path."""
        path = write_profile(self.home, values, profile=profile)
        reset_settings()
        return path

    def write_local(self, values: Mapping[str, Any], *, trusted: bool = True) -> Path:
        """Write the project's local config in :attr:`project`; return its path.

        The test wrote it, so :attr:`home` trusts it (``trusted=False``: it does not, and the
        settings that decide where data or credentials go are not applied from it).
        """
        path = write_local(self.project, values, trusted_by=self.home if trusted else None)
        reset_settings()
        return path

    def explain(self, name: str) -> Explanation:
        """Value, source, location and shadowed layers of ``name`` in the snapshot in force."""
        return current().explain(name)

    def assert_source(
        self, name: str, source: str, *, location: str | os.PathLike[str] | None = None
    ) -> Explanation:
        """Assert where the value of ``name`` comes from (see :func:`assert_source`)."""
        return assert_source(name, source, location=location)

    def close(self) -> None:
        """End the overrides made by :meth:`set` (the fixture calls this after the test)."""
        while self._scopes:
            scope = self._scopes.pop()
            # RuntimeError: set() was called in another context (an async test's task), which
            # is gone with its override.
            with contextlib.suppress(RuntimeError):
                scope.__exit__(None, None, None)


def _registered_key(name: str) -> str:
    """The full key of a registered section's ``name`` (one ``override()`` took)."""
    found = find_key(name)
    return PREFIX + name.upper() if found is None else found[1]
