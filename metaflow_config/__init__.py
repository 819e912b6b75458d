"""metaflow_config: typed, layered, explainable configuration for Metaflow on AWS.

``from metaflow_config import settings`` gives the process-wide settings, resolved on first use
from (lowest first) built-in defaults, derived defaults, the profile file, the project's local
``.metaflow/config.json``, ``METAFLOW_*`` environment variables and values injected by code.
Importing this package reads nothing and cannot fail.
"""

from __future__ import annotations

from ._kinds import FrozenDict
from ._override import Override, override
from ._scope import current, load, settings
from ._settings import Explanation, Settings, Shadowed
from .errors import ConfigError, ConfigWarning, Problem

__all__ = [
    "ConfigError",
    "ConfigWarning",
    "Explanation",
    "FrozenDict",
    "Override",
    "Problem",
    "Settings",
    "Shadowed",
    "current",
    "load",
    "override",
    "settings",
]

__version__ = "0.1.0"
