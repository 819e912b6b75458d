"""Whether ``METAFLOW_CONFIG_EXTENSION`` switches the extension off, read with the stdlib only.

Switched off, the extension's modules do not even import metaflow_config: Metaflow runs exactly
as without it. Any other value is left to ``metaflow_config._metaflow.enabled``, which refuses
what is not a boolean. ``OFF`` holds the false words of the boolean kind (a test keeps them so).
"""

import os

OFF = ("0", "false", "no", "off")


def switched_off() -> bool:
    """``$METAFLOW_CONFIG_EXTENSION`` is one of the false words (any case, spaces ignored)."""
    return os.environ.get("METAFLOW_CONFIG_EXTENSION", "").strip().lower() in OFF
