"""metaflow_config: typed, layered, explainable configuration for Metaflow on AWS.

``from metaflow_config import settings`` gives the process-wide settings, resolved on first use
from (lowest first) built-in defaults, derived defaults, the profile file, the project's local
``.metaflow/config.json``, ``METAFLOW_*`` environment variables and values injected by code.
Importing this package reads nothing and cannot fail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._model.values import FrozenDict
from ._scope import current, load, settings
from ._snapshot.settings import Settings
from .errors import ConfigError, ConfigWarning, Problem

if TYPE_CHECKING:
    from ._override import Override, override
    from ._snapshot.explanation import Explanation, Shadowed
    from ._snapshot.require import RequirementError

__all__ = [
    "ConfigError",
    "ConfigWarning",
    "Explanation",
    "FrozenDict",
    "Override",
    "Problem",
    "RequirementError",
    "Settings",
    "Shadowed",
    "current",
    "load",
    "override",
    "settings",
]

__version__ = "0.1.0"

#: names imported on first use, by the module that holds them (none is imported by every
#: ``import metaflow``: a task reads settings, it does not enter scopes, explain or require them)
_LAZY = {
    "Explanation": "._snapshot.explanation",
    "Shadowed": "._snapshot.explanation",
    "Override": "._override",
    "override": "._override",
    "RequirementError": "._snapshot.require",
}


def __getattr__(name: str) -> Any:
    """The names of :data:`_LAZY`, imported when first named."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # found directly from here on
        return value
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
