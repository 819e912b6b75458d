"""``importlib.reload(metaflow.metaflow_config)`` re-resolves; Metaflow's parsing takes our values.

Each test runs a fresh interpreter (Metaflow's module is process-wide state) with exactly the
environment given, once with the extension and once without (``METAFLOW_CONFIG_EXTENSION=0``),
and compares what Metaflow's module holds after each step.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import write_json

#: Reads two names, changes the environment, reloads Metaflow's module, reads them again.
_STEPS = """
import importlib, json, os, sys
import metaflow.metaflow_config as m
import metaflow.metaflow_config_funcs as funcs

def seen():
    return [m.OTEL_SERVICE_NAME, m.S3_RETRY_COUNT, m.BATCH_JOB_QUEUE]

out = [seen()]
os.environ["METAFLOW_OTEL_SERVICE_NAME"] = "pinned"
importlib.reload(m)
out.append(seen())
del os.environ["METAFLOW_OTEL_SERVICE_NAME"]
os.environ["METAFLOW_BATCH_JOB_QUEUE"] = "from-env"
importlib.reload(m)
out.append(seen())
del os.environ["METAFLOW_BATCH_JOB_QUEUE"]
os.environ["METAFLOW_PROFILE"] = "p2"
if sys.argv[1] == "alone":  # Metaflow keeps the files it read: a fresh process would not
    funcs.METAFLOW_CONFIG = funcs.METAFLOW_LOCAL_CONFIG = None
importlib.reload(m)
out.append(seen())
out.append(dict(funcs.config_values()).get("METAFLOW_S3_RETRY_COUNT"))
out.append(funcs.from_conf("PLUGIN_OPTION"))  # a name of Metaflow's plugins, read later
print(json.dumps(out))
"""


def _python(code: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "METAFLOW_HOME": str(home), **extra}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A METAFLOW_HOME with a default profile and a profile named p2."""
    write_json(tmp_path / "config.json", {"METAFLOW_OTEL_SERVICE_NAME": "from-default"})
    p2 = {"METAFLOW_S3_RETRY_COUNT": 4, "METAFLOW_PLUGIN_OPTION": "p2"}  # the option: unknown here
    write_json(tmp_path / "config_p2.json", p2)
    return tmp_path


def _steps(home: Path, extension: bool) -> list[Any]:
    env = _env(home, **({} if extension else {"METAFLOW_CONFIG_EXTENSION": "0"}))
    proc = _python(_STEPS, env, "extension" if extension else "alone")
    assert proc.returncode == 0, proc.stderr
    result: list[Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_a_reload_gives_what_metaflow_alone_gives(home: Path) -> None:
    """After each change of the environment (a setting, METAFLOW_PROFILE), a reload of Metaflow's
    module holds what Metaflow alone holds (reading the files anew, as a fresh process does)."""
    ours = _steps(home, extension=True)
    assert ours == _steps(home, extension=False)
    assert ours == [
        ["from-default", 7, None],
        ["pinned", 7, None],
        ["from-default", 7, "from-env"],
        ["metaflow", 4, None],
        "4",  # what Metaflow's launchers copy into tasks follows the reload too
        "p2",  # and what Metaflow reads itself later, from the new profile
    ]


_OTEL = """
import importlib, os
import metaflow.metaflow_config as m
for env, expected in [({}, "metaflow"), ({"OTEL_SERVICE_NAME": "x"}, "metaflow"),
                      ({"METAFLOW_OTEL_SERVICE_NAME": "pinned"}, "pinned"), ({}, "metaflow")]:
    for name in ("OTEL_SERVICE_NAME", "METAFLOW_OTEL_SERVICE_NAME"):
        os.environ.pop(name, None)
    os.environ.update(env)
    importlib.reload(m)
    assert m.OTEL_SERVICE_NAME == expected, (env, m.OTEL_SERVICE_NAME)
print("ok")
"""


def test_metaflows_own_reload_test_passes_with_the_extension(tmp_path: Path) -> None:
    """What Metaflow's unit test of OTEL_SERVICE_NAME does (set a variable, reload) holds."""
    proc = _python(_OTEL, _env(tmp_path))
    assert proc.stdout.strip() == "ok", proc.stderr


def test_a_reload_into_a_broken_configuration_raises_the_config_error(tmp_path: Path) -> None:
    """A reload re-resolves: a configuration broken meanwhile is the ConfigError, not old values."""
    code = (
        "import importlib, os\nimport metaflow.metaflow_config as m\n"
        "os.environ['METAFLOW_BATCH_EMIT_TAGS'] = 'maybe'\n"
        "from metaflow_config import ConfigError\n"
        "try:\n    importlib.reload(m)\nexcept ConfigError as e:\n    print('refused', e)\n"
    )
    proc = _python(code, _env(tmp_path))
    assert proc.stdout.startswith("refused"), proc.stdout + proc.stderr
    assert "METAFLOW_BATCH_EMIT_TAGS" in proc.stdout


_PARSING = """
import json, os
import metaflow.metaflow_config as m
import metaflow.metaflow_config_funcs as funcs
before = dict(os.environ)
try:
    funcs.from_conf("NOT_A_SETTING_OF_OURS", 5)
except ValueError as exc:
    theirs = str(exc)
print(json.dumps([m.S3_RETRY_COUNT, m.BATCH_EMIT_TAGS, theirs, dict(os.environ) == before]))
"""


def test_metaflows_parsing_takes_our_values_and_only_ours(tmp_path: Path) -> None:
    """An empty integer variable and a JSON 0 for a boolean import; a name outside the table
    keeps Metaflow's error; nothing is written to os.environ."""
    write_json(tmp_path / "config.json", {"METAFLOW_BATCH_EMIT_TAGS": 0})
    env = _env(tmp_path, METAFLOW_S3_RETRY_COUNT="", METAFLOW_NOT_A_SETTING_OF_OURS="", USER="me")
    proc = _python(_PARSING, env)
    assert proc.returncode == 0, proc.stderr
    retries, tags, theirs, unchanged = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (retries, tags, unchanged) == (7, False, True)
    assert "METAFLOW_NOT_A_SETTING_OF_OURS" in theirs
