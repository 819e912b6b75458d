"""metaflow-config's early check: resolve before Metaflow reads its own configuration.

Metaflow imports ``toplevel`` extension modules first thing in ``import metaflow``; this one
defines no top-level names or module overrides. See ``metaflow_config._metaflow.check_early``.
"""

from metaflow_extensions.metaflow_config import _switch

if not _switch.switched_off():
    try:
        from metaflow_config import _metaflow
    except ModuleNotFoundError as missing:  # an image without metaflow-config: see ../config
        if missing.name != "metaflow_config":
            raise
    else:
        _metaflow.check_early()
        del _metaflow
del _switch
