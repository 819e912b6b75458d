"""metaflow-config's Metaflow extension: ``metaflow.metaflow_config`` takes its names from here.

Metaflow copies every name of this module (but dunders and modules) over its own configuration
names, so this module binds nothing else: the names come from
``metaflow_config._extension.metaflow_names`` (see there), and the helper modules are deleted.
``METAFLOW_CONFIG_EXTENSION=0`` leaves Metaflow's own resolution untouched.
"""

import sys

from metaflow_config import _extension

globals().update(
    _extension.metaflow_names(
        getattr(sys.modules.get("metaflow.metaflow_config"), "DEBUG_OPTIONS", ())
    )
)
del _extension, sys
