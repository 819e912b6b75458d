"""metaflow-config's early check: resolve before Metaflow reads its own configuration.

Metaflow imports ``toplevel`` extension modules first thing in ``import metaflow``; this one
defines no top-level names or module overrides. See ``metaflow_config._extension.check_early``.
"""

try:
    from metaflow_config import _extension
except ModuleNotFoundError as missing:  # an image without metaflow-config: see the config module
    if missing.name != "metaflow_config":
        raise
else:
    _extension.check_early()
    del _extension
