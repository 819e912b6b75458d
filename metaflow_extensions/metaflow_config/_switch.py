"""What the extension decides with the stdlib only: whether it is off; the missing library's line.

Switched off, the extension's modules do not even import metaflow_config: Metaflow runs exactly
as without it. Any other value is left to ``metaflow_config._metaflow.enabled``, which refuses
what is not a boolean. ``OFF`` holds the false words of the boolean kind (a test keeps them so).

Where the image lacks metaflow-config (a task's container: Metaflow ships this extension in
every code package), :func:`say_not_installed` says so in one line per task, though a task runs
several Python processes that import Metaflow (the step itself and its children, the code
package's bootstrap, the log saver): the step's process says it (``step`` is its command) and
records it in ``METAFLOW_CONFIG_WARNED``, which its children inherit; the task's other
processes (a Metaflow task: ``METAFLOW_CODE_URL`` is set) stay quiet.
"""

import os
import sys

OFF = ("0", "false", "no", "off")
#: Digests of the warnings already shown in this process tree (``metaflow_config._metaflow``).
WARNED = "METAFLOW_CONFIG_WARNED"
NOT_INSTALLED = (
    "metaflow-config is not installed in this environment: Metaflow resolves its own "
    "configuration here (install metaflow-config in the image for the same resolution)"
)


def switched_off() -> bool:
    """``$METAFLOW_CONFIG_EXTENSION`` is one of the false words (any case, spaces ignored)."""
    return os.environ.get("METAFLOW_CONFIG_EXTENSION", "").strip().lower() in OFF


def say_not_installed() -> None:
    """One stderr line saying metaflow-config is missing, once per task (module docstring)."""
    import hashlib  # here: a process with metaflow-config installed never needs it

    digest = hashlib.sha256(NOT_INSTALLED.encode()).hexdigest()[:16]  # as metaflow_config's
    shown = [d for d in os.environ.get(WARNED, "").split(",") if d]
    if digest in shown:
        return
    if os.environ.get("METAFLOW_CODE_URL") and "step" not in sys.argv[1:]:
        return  # a task's process around its step: the step's process says it
    sys.stderr.write(NOT_INSTALLED + "\n")
    os.environ[WARNED] = ",".join([*shown, digest])
