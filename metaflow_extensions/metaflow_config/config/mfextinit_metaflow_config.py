"""metaflow-config's Metaflow extension: ``metaflow.metaflow_config`` takes its names from here.

Metaflow copies every name of this module (but dunders and modules) over its own configuration
names, so this module binds nothing else: the names come from
``metaflow_config._metaflow.metaflow_names`` (see there), and the helper modules are deleted.
``METAFLOW_CONFIG_EXTENSION=0`` leaves Metaflow's own resolution untouched (metaflow_config is
not even imported).

``importlib.reload(metaflow.metaflow_config)`` runs this module again (``metaflow_names`` takes
it out of ``sys.modules`` before Metaflow's loader asks for it), and the names are re-resolved.

Metaflow ships this file in every code package, so it also runs in task containers. Where the
image lacks metaflow-config, Metaflow resolves on its own (from the environment the launcher
exported) and one line on stderr says so, once per task (``_switch.say_not_installed``).
"""

import sys

from metaflow_extensions.metaflow_config import _switch

if not _switch.switched_off():
    try:
        from metaflow_config import _metaflow
    except ModuleNotFoundError as missing:
        if missing.name != "metaflow_config":
            raise
        _switch.say_not_installed()
    else:
        globals().update(
            _metaflow.metaflow_names(
                getattr(sys.modules.get("metaflow.metaflow_config"), "DEBUG_OPTIONS", ())
            )
        )
        del _metaflow
del _switch, sys
