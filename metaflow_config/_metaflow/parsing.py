"""Metaflow's own reading of the configuration: never a traceback, a hang, a file of its own.

Metaflow's module reads every name with ``metaflow_config_funcs.from_conf`` before the
extension's names replace them, and ``from_conf`` raises on values this package reads fine: an
empty variable (``int("")`` for ``METAFLOW_S3_RETRY_COUNT=``, ``json.loads("")`` for a JSON
setting, a choice's validation), a JSON ``0``/``1`` for a boolean in a profile (``0.lower()``).
:func:`take_over_parsing` wraps ``from_conf`` so that, for a setting of the table only, such an
error gives this resolution's value instead (the extension's names replace it a moment later
anyway); any other name keeps Metaflow's error. On a configuration found invalid before
Metaflow reads it, every error of its reading is that ``ConfigError`` instead (Metaflow's
message quotes the value, a secret's too). Nothing is written: not ``os.environ`` (tasks and
programs read it), not the files.

:func:`take_over_files` has Metaflow read its profile and project files through this package's
reader: bounded, never blocked by a named pipe or a device, a byte-order mark accepted, and a
project file's keys that its trust withholds left out (Metaflow applies every key it reads: a
cloned repository's decorators or images would run its choice of code). A file this reader
refuses is this package's ``ConfigError``, raised out of Metaflow's reading.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._model.fields import is_unset
from .._model.table import BY_ENV
from .._model.values import thaw
from ..errors import ConfigError

if TYPE_CHECKING:
    from .._snapshot.settings import Settings

__all__ = ["take_over_files", "take_over_parsing"]

#: What Metaflow's ``from_conf`` raises on a value it cannot read (a ``MetaflowException`` for a
#: choice, ``AttributeError`` for ``0.lower()``, ``TypeError`` for ``int(None)``).
_PARSING_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, AttributeError)


def take_over_parsing(
    snapshot: Callable[[], Settings], pending: Callable[[], ConfigError | None]
) -> None:
    """Wrap Metaflow's ``from_conf`` (once per process): see the module docstring.

    ``snapshot`` gives the resolution in force when Metaflow reads (called only on an error).
    ``pending`` gives the ``ConfigError`` of a configuration found invalid before Metaflow read
    it: any error of Metaflow's reading is then that error instead, raised without Metaflow's
    in its chain (Metaflow's message quotes the value it tripped on, a secret's included, and a
    caller catching the error, a notebook, a logger or a test runner would show it).
    """
    import metaflow.metaflow_config_funcs as funcs
    from metaflow.exception import MetaflowException

    real: Callable[..., Any] = funcs.from_conf
    if getattr(real, "_metaflow_config", False):
        return
    errors: tuple[type[Exception], ...] = (*_PARSING_ERRORS, MetaflowException)

    @functools.wraps(real)
    def from_conf(name: str, default: Any = None, validate_fn: Any = None) -> Any:
        try:
            return real(name, default, validate_fn)
        except Exception as exc:  # told apart below, outside the handler
            failed = exc
        invalid = pending()
        if invalid is not None:  # raised here, not in the handler: no chain to Metaflow's
            del failed
            raise invalid
        env = f"METAFLOW_{name}"
        field = BY_ENV.get(env)
        if not isinstance(failed, errors) or field is None or field.name != name:
            raise failed  # not a setting of ours (or an alias): Metaflow's own error
        value = thaw(snapshot()[env])
        registry = funcs._all_configs
        registry[env] = funcs.ConfigValue(value=value, serializer=str, is_default=True)
        return value

    from_conf._metaflow_config = True  # type: ignore[attr-defined]
    funcs.from_conf = from_conf


def take_over_files(*, profile: bool = True) -> None:
    """Have Metaflow read its profile and project files as this package does (once per process).

    Metaflow reads them on its first ``from_conf``, through the module's ``init_config`` and
    ``init_local_config``: those are replaced by :func:`metaflows_file`'s reads. ``profile=False``
    (``metaflow configure`` repairing a profile this package refuses): the profile is Metaflow's
    own reading, and the project file is this package's where it can be read (its trust still
    applies), else none (``metaflow configure`` needs none).
    """
    import metaflow.metaflow_config_funcs as funcs

    if getattr(funcs.init_local_config, "_metaflow_config", False):
        return

    def init_config() -> dict[str, Any]:
        return metaflows_file("profile")

    def init_local_config() -> dict[str, Any]:
        if profile:
            return metaflows_file("local")
        try:
            return metaflows_file("local")
        except ConfigError:
            return {}

    for mine in (init_config, init_local_config) if profile else (init_local_config,):
        mine._metaflow_config = True  # type: ignore[attr-defined]
        setattr(funcs, mine.__name__, mine)


def metaflows_file(layer: str) -> dict[str, Any]:
    """The profile (``layer="profile"``) or project file as Metaflow may read it: its object.

    Read by ``jsonfile`` (bounded, never blocked); an absent file is ``{}``; a setting's key
    whose value is unset (``null``, ``""``) is left out, as every layer leaves it; a key that is
    no setting (Metaflow's plugin lists, an extension's names: ``files.foreign_keys``) is
    Metaflow's to read, its ``""`` as the empty string, as an empty variable gives it (``null``
    is left out); of a project file the user has not trusted, every key its trust withholds is
    left out: the sensitive settings (by any name they are read by) and every key that is no
    setting.

    Raises:
        ConfigError: the file (or the profile's name, or its home) is wrong: what a resolution
            says of it.

    """
    from .._sources.files import foreign_keys
    from .._sources.inputs import Inputs
    from .._sources.layers import local_layer, profile_layer

    inputs = Inputs.from_world()
    if layer == "profile":
        found = profile_layer(inputs.home, inputs.profile)
    else:
        found = local_layer(inputs.cwd, inputs.home, inputs.env)
    if found.path is None:
        if layer == "profile" and found.problems:
            raise ConfigError(found.problems)
        return {}
    if not os.path.lexists(found.path):
        return {}
    data, frozen = found.read_document()  # one read: the trust is judged on these very bytes
    if data.problems or frozen is None:
        raise ConfigError(data.problems or "an unreadable file")
    # a setting's null or "" sets nothing, in every layer (README): Metaflow would take it as
    # the value, over the lower file's; a name left to Metaflow keeps its "" (files.foreign_keys)
    theirs = set(foreign_keys(data, frozen))
    doc = {k: thaw(v) for k, v in frozen.items() if k in theirs or not is_unset(v)}
    if not data.distrust:
        return doc
    return {k: v for k, v in doc.items() if k not in data.untrusted and not _steers(k)}


def _steers(key: str) -> bool:
    """Whether ``key`` names a sensitive setting, by any name it is read by (an old one too)."""
    from .._model.table import BY_ENV, OLD_NAMES

    field = BY_ENV.get(key)
    if field is None and key in OLD_NAMES:
        field = OLD_NAMES[key][0]
    return field is not None and field.sensitive
