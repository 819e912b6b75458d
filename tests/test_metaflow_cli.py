"""The variables of Metaflow's command line (``_model/metaflow_cli.py``) against the installed
Metaflow's click tree, and what ``explain`` and ``migrate`` say of names that are not settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import _metaflow_cli

pytestmark = pytest.mark.slow


def test_the_generated_names_are_the_installed_metaflows(tmp_path: Path) -> None:
    """Walked from the click tree of the installed Metaflow (its own reading, in a subprocess):
    the same commands, options, parameter commands, flow options and plugin lists."""
    script = Path(_metaflow_cli.__file__)
    proc = subprocess.run(
        [sys.executable, str(script), "--json"],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    derived = json.loads(proc.stdout)
    ours = _metaflow_cli.module_data()
    regenerate = "python tests/_metaflow_cli.py > metaflow_config/_model/metaflow_cli.py"
    for part in ("commands", "parameter_commands", "flow_options", "enabled"):
        assert derived[part] == ours[part], f"{part} differs from Metaflow's: {regenerate}"
    assert set(derived["parameter_commands"]) >= {"METAFLOW_RUN_", "METAFLOW_INIT_"}
