"""Metaflow's own reading of a value this package takes: never a traceback.

Metaflow's module reads every name with ``metaflow_config_funcs.from_conf`` before the
extension's names replace them, and ``from_conf`` raises on values this package reads fine: an
empty variable (``int("")`` for ``METAFLOW_S3_RETRY_COUNT=``, ``json.loads("")`` for a JSON
setting, a choice's validation), a JSON ``0``/``1`` for a boolean in a profile (``0.lower()``).
:func:`take_over_parsing` wraps ``from_conf`` so that, for a setting of the table only, such an
error gives this resolution's value instead (the extension's names replace it a moment later
anyway); any other name keeps Metaflow's error. Nothing is written: not ``os.environ`` (tasks
and programs read it), not the files.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._model.table import BY_ENV
from .._model.values import thaw

if TYPE_CHECKING:
    from .._snapshot.settings import Settings

__all__ = ["take_over_parsing"]

#: What Metaflow's ``from_conf`` raises on a value it cannot read (a ``MetaflowException`` for a
#: choice, ``AttributeError`` for ``0.lower()``, ``TypeError`` for ``int(None)``).
_PARSING_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, AttributeError)


def take_over_parsing(snapshot: Callable[[], Settings]) -> None:
    """Wrap Metaflow's ``from_conf`` (once per process): see the module docstring.

    ``snapshot`` gives the resolution in force when Metaflow reads (called only on an error).
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
        except errors:
            env = f"METAFLOW_{name}"
            field = BY_ENV.get(env)
            if field is None or field.name != name:  # not a setting of ours (or an alias)
                raise
            value = thaw(snapshot()[env])
            registry = funcs._all_configs
            registry[env] = funcs.ConfigValue(value=value, serializer=str, is_default=True)
            return value

    from_conf._metaflow_config = True  # type: ignore[attr-defined]
    funcs.from_conf = from_conf
