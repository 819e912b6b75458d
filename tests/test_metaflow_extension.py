"""The Metaflow extension: with it, ``metaflow.metaflow_config`` holds exactly what compat holds.

Each case imports the real ``metaflow`` in a fresh process (the extension is found as Metaflow
finds any: the ``metaflow_extensions`` namespace of the installed distribution) and compares every
name with ``metaflow_config.compat`` resolved here from the same inputs. The scenarios
(tests/_differential_scenarios.py) are those of tests/test_differential.py, where Metaflow resolves
on its own and differs in documented ways; here no difference is left. Hypothesis adds layered
configurations drawn at random.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import metaflow_config.compat as compat
from metaflow_config import load
from metaflow_config._metaflow import SWITCH
from metaflow_config._metaflow.hooks import LAUNCHERS
from metaflow_config._model.table import DEBUG_OPTIONS
from metaflow_config.testing import trust, write_local
from tests._differential import (
    ONLY_IN_COMPAT,
    Built,
    Scenario,
    build,
    normalized,
    read_ours,
    run_metaflow,
)
from tests._differential_scenarios import SCENARIOS
from tests._strategies import Config, configs, write_private
from tests.conftest import invoke

pytestmark = pytest.mark.slow


def _agree(theirs: dict[str, Any], ours: dict[str, Any]) -> None:
    values = theirs["values"]
    differing = {n: (values.get(n), ours[n]) for n in compat.NAMES if values.get(n) != ours[n]}
    assert not differing, differing
    options = values["DEBUG_OPTIONS"]
    assert options == list(DEBUG_OPTIONS)
    assert len(options) == len(set(options)), "DEBUG_OPTIONS holds an option twice"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_metaflow_holds_what_compat_holds(
    scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every name of Metaflow's module equals compat's; a configuration we refuse fails import.

    Where Metaflow's own reading fails on a value we take (an empty variable, a JSON ``0`` for a
    boolean), it takes ours; where we refuse it too (a file we refuse: Metaflow reads the files
    through this package), the import fails with our ConfigError.
    """
    built = build(scenario, tmp_path)
    theirs = run_metaflow(built, extension=True)
    if scenario.ours_fails:
        assert theirs.get("error") == "ConfigError", theirs
        assert re.search(scenario.ours_fails, theirs["message"], re.DOTALL), theirs["message"]
        return
    assert "error" not in theirs, theirs
    _agree(theirs, read_ours(built, monkeypatch))


def _without_overrides(config: Config) -> Config:
    config.raw["override"].clear()
    config.typed["override"].clear()
    return config


@hypothesis_settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(config=configs(max_settings=6).map(_without_overrides), alias=st.booleans())
@example(  # found by a CI run: Metaflow's own module code fails on it, with or without us
    config=Config(
        raw={
            "profile": {"METAFLOW_AWS_SANDBOX_ENABLED": "true"},
            "local": {},
            "env": {},
            "override": {},
        },
        typed={
            "profile": {"METAFLOW_AWS_SANDBOX_ENABLED": True},
            "local": {},
            "env": {},
            "override": {},
        },
    ),
    alias=False,
)
def test_random_layered_configurations_agree(
    config: Config, alias: bool, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Profile, local file and environment drawn at random: Metaflow and compat agree."""
    root = tmp_path_factory.mktemp("random")
    home, project = root / "home", root / "project"
    home.mkdir()
    (project / ".metaflow").mkdir(parents=True)
    if config.raw["profile"]:
        write_private(str(home / "config.json"), config.raw["profile"])
    if config.raw["local"]:
        write_private(str(project / ".metaflow" / "config.json"), config.raw["local"])
        trust(home, project / ".metaflow" / "config.json")  # untrusted: tests/test_trust.py
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "LC_ALL": "C.UTF-8"}
    env["METAFLOW_HOME"] = str(home)
    env.update(config.raw["env"])
    if alias and "METAFLOW_BATCH_JOB_QUEUE" not in env:
        env["METAFLOW_JOB_QUEUE_NAME"] = "queue-by-its-alias"
    built = Built(env, root, project)
    theirs = run_metaflow(built, extension=True)
    if "error" in theirs:
        # Metaflow's own module code can fail before any extension loads (AWS_SANDBOX_ENABLED
        # without AWS_SANDBOX_REGION: os.environ[...] = None); then it fails alone, the same way
        alone = run_metaflow(built, extension=False)
        assert alone.get("error") == theirs["error"], (theirs, alone)
        return
    ours = compat.module_values(load(env=env, cwd=project))
    _agree(theirs, {name: normalized(value) for name, value in ours.items()})


# --- the module Metaflow ends up with ---------------------------------------------------------

_NAMES_PROBE = """
import json, sys
import metaflow.metaflow_config as m
print(json.dumps(sorted(n for n in vars(m) if not n.startswith("__"))))
"""


def _run(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _base_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "mfhome"
    home.mkdir(exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "METAFLOW_HOME": str(home)}


@pytest.mark.parametrize("org", ["acme", "zorg"])  # before and after ours, by name
def test_an_organisations_config_extension_replaces_our_names(tmp_path: Path, org: str) -> None:
    """An organisation's ``config`` extension sets names on purpose: whichever order Metaflow
    loads the extensions in, its names win (README); every other name is ours."""
    config = tmp_path / "org" / "metaflow_extensions" / org / "config"
    config.mkdir(parents=True)
    (config / f"mfextinit_{org}.py").write_text(
        'BATCH_JOB_QUEUE = "org-forced-queue"\nSERVICE_RETRY_COUNT = 42\n', encoding="utf-8"
    )
    env = {
        **_base_env(tmp_path),
        "PYTHONPATH": str(tmp_path / "org"),
        "METAFLOW_BATCH_JOB_QUEUE": "mine",
        "METAFLOW_KUBERNETES_CPU": "2",  # ours: Metaflow alone keeps the text, we a number's
    }
    code = (
        "import metaflow.metaflow_config as m\n"
        "print(m.BATCH_JOB_QUEUE, m.SERVICE_RETRY_COUNT, repr(m.KUBERNETES_SHARED_MEMORY), "
        "m.KUBERNETES_CPU)\n"
    )
    proc = _run(code, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["org-forced-queue", "42", "None", "2"]


def test_the_extension_binds_configuration_names_only(tmp_path: Path) -> None:
    """The extension adds no helper names to Metaflow's module, only configuration ones."""
    env = _base_env(tmp_path)
    own = json.loads(_run(_NAMES_PROBE, {**env, "METAFLOW_CONFIG_EXTENSION": "0"}, tmp_path).stdout)
    ours = json.loads(_run(_NAMES_PROBE, env, tmp_path).stdout)
    assert set(ours) - set(own) == set(ONLY_IN_COMPAT)
    assert set(own) <= set(ours)


@pytest.mark.parametrize("switch", ["0", "false", "OFF", "no"])
def test_the_switch_leaves_metaflows_resolution_alone(tmp_path: Path, switch: str) -> None:
    """METAFLOW_CONFIG_EXTENSION=0: Metaflow reads "no" as true, as it does without us."""
    env = {**_base_env(tmp_path), "METAFLOW_BATCH_EMIT_TAGS": "no"}
    code = "import metaflow.metaflow_config as m; print(m.BATCH_EMIT_TAGS)"
    assert _run(code, env, tmp_path).stdout.strip() == "False"
    off = _run(code, {**env, "METAFLOW_CONFIG_EXTENSION": switch}, tmp_path)
    assert off.stdout.strip() == "True", off.stderr


def test_a_bad_switch_is_a_config_error(tmp_path: Path) -> None:
    """An unreadable switch is not guessed: the import fails naming the variable."""
    env = {**_base_env(tmp_path), "METAFLOW_CONFIG_EXTENSION": "maybe"}
    proc = _run("import metaflow", env, tmp_path)
    assert proc.returncode == 1
    assert "METAFLOW_CONFIG_EXTENSION" in proc.stderr
    assert "Traceback" not in proc.stderr


#: ``import metaflow`` caught, as a notebook, a logger or a test runner catches it: the type and
#: the whole traceback with its chain printed
CAUGHT = (
    "import traceback\n"
    "try:\n"
    "    import metaflow\n"
    "except Exception as exc:\n"
    "    print(type(exc).__name__, exc.__context__, exc.__cause__)\n"
    "    traceback.print_exc()\n"
    "    raise SystemExit(1)\n"
)


@pytest.mark.parametrize("caught", [False, True], ids=["uncaught", "caught"])
@pytest.mark.parametrize("where", ["env", "profile"])
def test_metaflows_own_error_quotes_no_secret(tmp_path: Path, where: str, caught: bool) -> None:
    """Metaflow's message about a value it cannot read quotes it (a secret's, a URL with its
    password), whichever layer holds them: Metaflow's reading of a configuration found invalid
    raises this package's ConfigError instead, with nothing of Metaflow's in its chain, so that
    neither the uncaught report nor a caller's traceback shows it."""
    values = {
        "METAFLOW_DATATOOLS_CLIENT_PARAMS": '{"aws_secret_access_key": "ZZSEC_cp1",}',
        "METAFLOW_SERVICE_HEADERS": '{"x-api-key": "ZZSEC_h1"',
        "METAFLOW_DATATOOLS_SESSION_VARS": '["ZZSEC_sv1", "x"]',  # Metaflow quotes it parsed
        "METAFLOW_SERVICE_URL": "https://alice:ZZSEC_pw@mf.example.com",
    }
    env = _base_env(tmp_path)
    if where == "env":
        env.update(values)
    else:
        profile = {**values, "METAFLOW_DATATOOLS_CLIENT_PARAMS": {"k": "ZZSEC_cp1"}}
        profile["METAFLOW_SERVICE_HEADERS"] = "not JSON ZZSEC_h1"
        Path(env["METAFLOW_HOME"], "config.json").write_text(json.dumps(profile))
    proc = _run(CAUGHT if caught else "import metaflow", env, tmp_path)
    assert proc.returncode == 1
    assert "invalid Metaflow configuration" in proc.stderr
    assert "ZZSEC" not in proc.stderr + proc.stdout
    if caught:
        assert proc.stdout.startswith("ConfigError None None"), proc.stdout
    else:
        assert "Traceback" not in proc.stderr


def _hostile_project(root: Path, shape: str) -> None:
    (root / ".metaflow").mkdir(parents=True)
    file = root / ".metaflow" / "config.json"
    if shape == "fifo":
        os.mkfifo(file)
    elif shape == "device":
        file.symlink_to("/dev/zero")
    else:  # a byte-order mark, which Metaflow's json.load refuses
        file.write_bytes(b'\xef\xbb\xbf{"METAFLOW_OTEL_SERVICE_NAME": "from-the-project"}')


@pytest.mark.parametrize("shape", ["fifo", "device", "bom"])
def test_metaflow_reads_the_project_file_through_this_reader(tmp_path: Path, shape: str) -> None:
    """Metaflow's own reading of a project file is this package's: a named pipe or a device
    is this package's error at once (it blocked, or read until memory ran out), a byte-order
    mark is read (Metaflow's json.load raised)."""
    project = tmp_path / "repo"
    _hostile_project(project, shape)
    code = "import metaflow.metaflow_config as m; print(m.OTEL_SERVICE_NAME)"
    proc = _run(code, _base_env(tmp_path), project)
    assert "Traceback" not in proc.stderr
    if shape == "bom":
        assert proc.stdout.split() == ["from-the-project"], proc.stderr
    else:
        assert proc.returncode == 1
        assert "expected a regular file, found a FIFO or device" in proc.stderr


def test_metaflow_reads_the_profile_through_this_reader(tmp_path: Path) -> None:
    """A profile with a byte-order mark (Notepad's) is read by Metaflow too, through us."""
    env = _base_env(tmp_path)
    profile = Path(env["METAFLOW_HOME"]) / "config.json"
    profile.write_bytes(b'\xef\xbb\xbf{"METAFLOW_BATCH_JOB_QUEUE": "from-the-profile"}')
    code = "import metaflow.metaflow_config as m; print(m.BATCH_JOB_QUEUE)"
    proc = _run(code, env, tmp_path)
    assert proc.stdout.split() == ["from-the-profile"], proc.stderr


def test_metaflow_does_not_read_what_an_untrusted_project_file_withholds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Metaflow reads of a project file leaves out the keys its trust withholds."""
    from metaflow_config._metaflow.parsing import metaflows_file

    project = tmp_path / "repo"
    (project / ".metaflow").mkdir(parents=True)
    held = {"METAFLOW_DEFAULT_DECOSPECS": "environment:vars={}", "METAFLOW_OTEL_SERVICE_NAME": "q"}
    (project / ".metaflow" / "config.json").write_text(json.dumps(held), "utf-8")
    monkeypatch.chdir(project)
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("METAFLOW_CONFIG_PROJECT", raising=False)
    assert metaflows_file("local") == {"METAFLOW_OTEL_SERVICE_NAME": "q"}


@pytest.mark.parametrize("value", ['"ZZSEC_tok"', '["ZZSEC_tok", "x"]'])
def test_metaflows_own_error_quotes_no_secret_it_parsed(tmp_path: Path, value: str) -> None:
    """Metaflow parses a JSON secret before it quotes it (``got: ZZSEC_tok``, a list's repr):
    masked as well."""
    env = {**_base_env(tmp_path), "METAFLOW_DATATOOLS_SESSION_VARS": value}
    proc = _run(CAUGHT, env, tmp_path)
    assert "METAFLOW_DATATOOLS_SESSION_VARS" in proc.stderr
    assert "ZZSEC" not in proc.stderr + proc.stdout


def test_a_broken_configuration_is_reported_without_a_traceback(tmp_path: Path) -> None:
    """Every problem is printed as the ConfigError message, and the process exits 1."""
    env = {
        **_base_env(tmp_path),
        "METAFLOW_BATCH_EMIT_TAGS": "maybe",
        "METAFLOW_SFN_IAM_ROLE": "not-an-arn",
    }
    proc = _run("import metaflow\nprint('imported')", env, tmp_path)
    assert proc.returncode == 1
    assert "imported" not in proc.stdout
    assert "Traceback" not in proc.stderr
    assert "2 problems" in proc.stderr
    assert "METAFLOW_BATCH_EMIT_TAGS (env: METAFLOW_BATCH_EMIT_TAGS)" in proc.stderr
    assert "METAFLOW_SFN_IAM_ROLE (env: METAFLOW_SFN_IAM_ROLE)" in proc.stderr
    # the way out: every problem listed, Metaflow's repair command, the off switch
    assert "To see every problem: `metaflow-config check`" in proc.stderr
    assert "`metaflow configure` still runs" in proc.stderr
    assert "set METAFLOW_CONFIG_EXTENSION=0" in proc.stderr
    assert "Also:" not in proc.stderr
    assert "Mind that" not in proc.stderr


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("METAFLOW_SERVICE_AUTH_KEY", "{{resolve:secretsmanager:mf/service-key}}"),
        ("METAFLOW_SERVICE_HEADERS", "{{resolve:ssm:/mf/headers}}"),  # read by Metaflow's module
    ],
)
def test_a_secret_reference_aws_does_not_answer_is_reported_with_the_ways_out(
    tmp_path: Path, name: str, reference: str
) -> None:
    """``import metaflow`` fetches the references it hands Metaflow's module (or that Metaflow's
    own reading asks for): a fetch that fails (here: no region to ask) is an invalid
    configuration, said with its ways out."""
    env = _base_env(tmp_path)
    profile = Path(env["METAFLOW_HOME"]) / "config.json"
    profile.write_text(json.dumps({name: reference}), "utf-8")
    profile.chmod(0o600)
    proc = _run("import metaflow\nprint('imported')", env, tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "imported" not in proc.stdout
    assert "Traceback" not in proc.stderr
    assert f"{name}: expected an AWS region" in proc.stderr
    # `check` alone fetches nothing (and says the configuration is valid): `--aws` fetches
    assert "`metaflow-config check --aws`" in proc.stderr
    assert "set METAFLOW_CONFIG_EXTENSION=0" in proc.stderr
    told = invoke("check", env={"METAFLOW_HOME": env["METAFLOW_HOME"]})
    assert told.exit_code == 0
    assert "is valid" in told.stdout


def test_a_broken_configuration_still_says_what_a_project_file_has_withheld(
    tmp_path: Path,
) -> None:
    """A cloned repository breaks the configuration with a harmless key to hide that it sets a
    sensitive one: the error says both, and the off switch it offers is said with what it
    means (Metaflow's own reading would apply the withheld key)."""
    project = tmp_path / "repo"
    write_local(
        project,
        {"METAFLOW_KUBERNETES_PORT": "8080a", "METAFLOW_SERVICE_URL": "https://evil.example"},
    )
    proc = _run("import metaflow", _base_env(tmp_path), project)
    assert proc.returncode == 1
    assert "METAFLOW_KUBERNETES_PORT" in proc.stderr
    assert "Also: " in proc.stderr
    assert "sets METAFLOW_SERVICE_URL" in proc.stderr
    assert "Metaflow's own reading applies the project file's keys" in proc.stderr


@pytest.mark.parametrize(
    ("profile", "env", "shown"),
    [
        pytest.param(
            '{"METAFLOW_BATCH_JOB_QUEUE": "q",}',
            {},
            ["config.json", "line 1, column 33: a trailing comma"],
            id="malformed-json",
        ),
        pytest.param(
            "{}",
            {"METAFLOW_PROFILE": "prod"},
            ["METAFLOW_PROFILE", "profiles there: config.json (the default)"],
            id="missing-named-profile",
        ),
        pytest.param(  # valid here, but Metaflow sets AWS_DEFAULT_REGION from the region
            "{}",
            {"METAFLOW_AWS_SANDBOX_ENABLED": "1"},
            [
                "METAFLOW_AWS_SANDBOX_REGION",
                "set by env: METAFLOW_AWS_SANDBOX_ENABLED",
                "TypeError",
            ],
            id="sandbox-without-region",
        ),
    ],
)
def test_what_metaflows_own_reading_trips_on_is_reported_as_ours(
    tmp_path: Path, profile: str, env: dict[str, str], shown: list[str]
) -> None:
    """Where Metaflow's reading would fail, the report is our ConfigError: on a file we refuse,
    Metaflow's reading (which is ours) raises it; on a value Metaflow's own code trips over, a
    line names Metaflow's error."""
    base = _base_env(tmp_path)
    (Path(base["METAFLOW_HOME"]) / "config.json").write_text(profile, encoding="utf-8")
    proc = _run("import metaflow", {**base, **env}, tmp_path)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("invalid Metaflow configuration: ")
    for text in shown:
        assert text in proc.stderr


def test_a_program_can_catch_the_config_error(tmp_path: Path) -> None:
    """``import metaflow`` raises the ConfigError itself: an embedding program may handle it."""
    env = {**_base_env(tmp_path), "METAFLOW_BATCH_EMIT_TAGS": "maybe"}
    code = (
        "from metaflow_config import ConfigError\n"
        "try:\n    import metaflow\n"
        "except ConfigError as exc:\n    print('caught', len(exc.problems))\n"
    )
    proc = _run(code, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "caught 1"


@pytest.mark.parametrize(
    "env", [{}, {"METAFLOW_BATCH_EMIT_TAGS": "maybe"}], ids=["valid", "caught-config-error"]
)
def test_other_uncaught_errors_keep_their_traceback(tmp_path: Path, env: dict[str, str]) -> None:
    """Only ConfigError is printed plainly; any other exception keeps Python's report."""
    code = (
        "from metaflow_config import ConfigError\n"
        "try:\n    import metaflow\nexcept ConfigError:\n    pass\n"
        "raise ValueError('boom')\n"
    )
    proc = _run(code, {**_base_env(tmp_path), **env}, tmp_path)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr
    assert "ValueError: boom" in proc.stderr
    assert "invalid Metaflow configuration" not in proc.stderr


def test_a_warning_is_shown_once_per_process_tree(tmp_path: Path) -> None:
    """A child started by a process that warned inherits the digest and stays quiet."""
    env = {**_base_env(tmp_path), "METAFLOW_BATCH_EMIT_TAGSS": "1"}
    code = (
        "import os, subprocess, sys\n"
        "import metaflow\n"
        "sys.stderr.flush()\n"
        "subprocess.run([sys.executable, '-c', 'import metaflow'], check=True)\n"
    )
    proc = _run(code, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("did you mean METAFLOW_BATCH_EMIT_TAGS?") == 1, proc.stderr
    alone = _run("import metaflow", env, tmp_path)
    assert alone.stderr.count("did you mean METAFLOW_BATCH_EMIT_TAGS?") == 1, alone.stderr


def test_a_warning_is_one_plain_line(tmp_path: Path) -> None:
    """Shown as ``Warning: <message>``: not the extension's file, line and source line."""
    env = {**_base_env(tmp_path), "METAFLOW_BATCH_EMIT_TAGSS": "1"}
    proc = _run("import metaflow", env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "Warning: unknown setting METAFLOW_BATCH_EMIT_TAGSS (env: METAFLOW_BATCH_EMIT_TAGSS); "
        "did you mean "
        "METAFLOW_BATCH_EMIT_TAGS?"
    ]
    quiet = _run("import metaflow", {**env, "PYTHONWARNINGS": "ignore"}, tmp_path)
    assert quiet.stderr == ""  # still a warning: the filters in force apply
    code = "import warnings; print(warnings.formatwarning('w', UserWarning, 'f.py', 3))"
    other = _run(f"import metaflow; {code}", env, tmp_path)
    assert other.stdout == "f.py:3: UserWarning: w\n\n"  # Metaflow's and the program's as ever


def test_a_new_warning_in_a_child_is_still_shown(tmp_path: Path) -> None:
    """The digest names what was shown: a child whose configuration differs warns of its own."""
    env = {**_base_env(tmp_path), "METAFLOW_BATCH_EMIT_TAGSS": "1"}
    code = (
        "import os, subprocess, sys\n"
        "import metaflow\n"
        "sys.stderr.flush()\n"
        "child = dict(os.environ, METAFLOW_SFN_IAM_ROL='x')\n"
        "subprocess.run([sys.executable, '-c', 'import metaflow'], env=child, check=True)\n"
    )
    proc = _run(code, env, tmp_path)
    assert proc.stderr.count("did you mean METAFLOW_BATCH_EMIT_TAGS?") == 1, proc.stderr
    assert proc.stderr.count("did you mean METAFLOW_SFN_IAM_ROLE?") == 1, proc.stderr


def test_the_extension_is_found_from_the_installed_distribution() -> None:
    """Metaflow's loader lists metaflow-config among the extension distributions."""
    code = (
        "from metaflow.extension_support import get_modules\n"
        "print([m.module.__name__ for m in get_modules('config')])\n"
    )
    proc = _run(code, {"PATH": os.environ["PATH"], "HOME": "/nonexistent"}, Path("/"))
    assert proc.returncode == 0, proc.stderr
    assert "metaflow_extensions.metaflow_config.config.mfextinit_metaflow_config" in proc.stdout


def test_a_container_without_metaflow_config_says_so_and_runs(tmp_path: Path) -> None:
    """The code package carries the extension; where the image lacks the library, Metaflow runs.

    ``python -S`` with ``PYTHONPATH`` as a task's: Metaflow importable, the extension's files
    present (as the code package holds them), metaflow_config not importable.
    """
    import importlib.util

    spec = importlib.util.find_spec("metaflow")  # not imported here: only its place is needed
    assert spec is not None
    assert spec.origin is not None
    packaged = tmp_path / "code"
    shutil.copytree(
        Path(__file__).resolve().parent.parent / "metaflow_extensions",
        packaged / "metaflow_extensions",
    )
    site = str(Path(spec.origin).resolve().parent.parent)
    env = {
        **_base_env(tmp_path),
        "PYTHONPATH": f"{packaged}{os.pathsep}{site}",
        "METAFLOW_BATCH_EMIT_TAGS": "no",
    }
    code = (
        "import importlib.util, metaflow.metaflow_config as m\n"
        "print(importlib.util.find_spec('metaflow_config') is None, m.BATCH_EMIT_TAGS)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True"]  # Metaflow's own reading of "no"
    assert proc.stderr.count("metaflow-config is not installed in this environment") == 1


_TASK = """
set -e
python -S -c 'import metaflow'                      # the code package's bootstrap
python -S step.py --quiet step start                 # the step, and a child of it
python -S -c 'import metaflow'                      # the log saver after the step
"""
_STEP = """
import subprocess, sys
import metaflow
subprocess.run([sys.executable, "-S", "-c", "import metaflow"], check=True)
"""


def test_no_warning_can_take_the_record_of_another() -> None:
    """The record of a warning shown is a cryptographic digest: two texts a checksum confuses
    (a key a repository chose so that its warning's CRC-32 is that of the warning of a planted
    link, which was then never shown) have records of their own; both sides record alike."""
    import zlib

    from metaflow_config import _metaflow
    from metaflow_extensions.metaflow_config import _switch

    seen: dict[int, str] = {}
    for i in range(1 << 20):  # a CRC-32 collision: about 2**16 texts in, by the birthday bound
        text = f"METAFLOW_X{i} (env: METAFLOW_X{i}) is not a setting"
        crc = zlib.crc32(text.encode())
        if crc in seen:
            break
        seen[crc] = text
    else:
        raise AssertionError("no CRC-32 collision found")
    assert _metaflow._digest(text) != _metaflow._digest(seen[crc])
    recorded: dict[str, str] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_switch.os, "environ", recorded)
        patch.setattr(_switch.sys, "stderr", io.StringIO())
        _switch.say_not_installed()
    assert recorded[_switch.WARNED] == _metaflow._digest(_switch.NOT_INSTALLED)


def test_a_task_without_metaflow_config_says_so_once(tmp_path: Path) -> None:
    """A task's processes (before, the step, its children, after) print the line once in all;
    outside a task, each process that imports Metaflow says it."""
    from metaflow_config import _metaflow
    from metaflow_extensions.metaflow_config import _switch

    assert _switch.WARNED == _metaflow.WARNED  # one record of what was shown, both sides
    env = _without_metaflow_config(tmp_path)
    (tmp_path / "step.py").write_text(_STEP)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    for in_task, count in ((True, 1), (False, 3)):
        task = {**env, "METAFLOW_CODE_URL": "s3://b/code"} if in_task else env
        proc = subprocess.run(
            ["/bin/sh", "-c", _TASK],
            env=task,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.count("metaflow-config is not installed") == count, proc.stderr


def _without_metaflow_config(tmp_path: Path) -> dict[str, str]:
    """The environment of a task whose image has Metaflow but not metaflow-config (``-S``)."""
    import importlib.util

    spec = importlib.util.find_spec("metaflow")  # not imported here: only its place is needed
    assert spec is not None
    assert spec.origin is not None
    packaged = tmp_path / "code"
    shutil.copytree(
        Path(__file__).resolve().parent.parent / "metaflow_extensions",
        packaged / "metaflow_extensions",
    )
    site = str(Path(spec.origin).resolve().parent.parent)
    return {**_base_env(tmp_path), "PYTHONPATH": f"{packaged}{os.pathsep}{site}"}


def test_switched_off_metaflow_config_is_not_even_imported(tmp_path: Path) -> None:
    """METAFLOW_CONFIG_EXTENSION=0: Metaflow runs exactly as without metaflow-config."""
    env = {**_base_env(tmp_path), "METAFLOW_CONFIG_EXTENSION": " Off "}
    proc = _run("import sys, metaflow; print('metaflow_config' in sys.modules)", env, tmp_path)
    assert proc.stdout.strip() == "False", proc.stderr


def test_the_extension_imports_nothing_but_this_package(tmp_path: Path) -> None:
    """What ``import metaflow`` imports with the extension and without it differ by ours alone.

    The extension's cost in every task: not the package ``pydantic_core`` (the compiled
    validator is loaded alone, see ``_core``), not ``typing_extensions``, boto3 or click.
    """
    code = "import json, sys, metaflow; print(json.dumps(sorted(sys.modules)))"
    env = _base_env(tmp_path)
    on, off = (_run(code, {**env, SWITCH: switch}, tmp_path) for switch in ("1", "0"))
    assert on.returncode == 0, on.stderr
    assert off.returncode == 0, off.stderr
    added = set(json.loads(on.stdout)) - set(json.loads(off.stdout))
    ours = ("metaflow_config", "metaflow_extensions.metaflow_config")
    assert added, "the extension imported nothing: is it found?"
    assert {m for m in added if m.split(".")[0] != ours[0] and not m.startswith(ours[1])} == set()


def test_a_task_imports_only_what_reading_its_settings_needs(tmp_path: Path) -> None:
    """``import metaflow`` with the extension and a profile imports neither the ``override``
    machinery nor the explanation, nor the launchers' handlers (though Metaflow imports its
    launchers), nor the export, nor the did-you-mean, nor a codec module for the profile's
    byte-order mark: a task reads its settings, it does not scope, explain, correct or launch
    with them.
    """
    code = "import json, sys, metaflow; print(json.dumps(sorted(sys.modules)))"
    env = _base_env(tmp_path)
    profile = {"METAFLOW_DEFAULT_DATASTORE": "s3", "METAFLOW_BATCH_JOB_QUEUE": "q"}
    (Path(env["METAFLOW_HOME"]) / "config.json").write_text(json.dumps(profile))
    on, off = (_run(code, {**env, SWITCH: switch}, tmp_path) for switch in ("1", "0"))
    assert on.returncode == 0, on.stderr
    assert off.returncode == 0, off.stderr
    imported = set(json.loads(on.stdout))
    assert "metaflow_config._metaflow" in imported  # the extension ran
    unwanted = {"metaflow_config._override", "metaflow_config._snapshot.explanation"}
    unwanted |= {f"metaflow_config._metaflow.{m}" for m in ("batch", "kubernetes", "taskenv")}
    unwanted.add("metaflow_config._sources.near")  # the did-you-mean: no name is unknown
    unwanted.add("metaflow_config._sources.extensions")  # what extensions read: the same
    unwanted.add("metaflow_config._snapshot.export")  # Metaflow's registry takes a setting's text
    unwanted.add("metaflow_config._sources.plugins")  # `s3` is Metaflow's own: nothing to judge
    assert {*LAUNCHERS} & imported  # so hooked: Metaflow imports launchers at its import
    assert imported & unwanted == set()
    # a codec module for the byte-order mark (Python 3.13's site imports it itself: added only)
    assert "encodings.utf_8_sig" not in imported - set(json.loads(off.stdout))


def test_a_task_configured_by_its_environment_reads_no_file_module(tmp_path: Path) -> None:
    """A remote task gets its settings as variables (the launcher's ``to_env``), with no profile
    file: it imports neither the file reader nor the JSON text helpers, nor what reads the
    installed extensions' sources, nor the plugin-name judge: its datastore is a plugin Metaflow
    registers itself, which costs a set lookup."""
    code = "import json, sys, metaflow; print(json.dumps(sorted(sys.modules)))"
    env = {
        **_base_env(tmp_path),
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://bucket/metaflow",
        "METAFLOW_BATCH_JOB_QUEUE": "q",
        "METAFLOW_CODE_URL": "s3://bucket/metaflow/code",  # what Metaflow sets for a task
    }
    on = _run(code, env, tmp_path)
    assert on.returncode == 0, on.stderr
    imported = set(json.loads(on.stdout))
    assert "metaflow_config._resolve.plugins" in imported  # where the datastore is looked up
    unwanted = {
        f"metaflow_config._sources.{m}" for m in ("jsonfile", "extensions", "near", "plugins")
    }
    unwanted |= {"metaflow_config._model.jsontext", "metaflow_config._snapshot.export"}
    assert imported & unwanted == set()


_HOOK_POINTS = """
import importlib, json
from metaflow_config._metaflow.hooks import LAUNCHERS
missing = []
for launcher, hooks in LAUNCHERS.items():
    module = importlib.import_module(launcher)
    for owner, method, handler in hooks:
        if not callable(getattr(getattr(module, owner, None), method, None)):
            missing.append(f"{launcher}.{owner}.{method}")
        name, function = handler.split(".")
        handlers = importlib.import_module(f"metaflow_config._metaflow.{name}")
        if not callable(getattr(handlers, function, None)):
            missing.append(handler)
print(json.dumps(missing))
"""


def test_every_hooked_method_is_in_this_metaflow(tmp_path: Path) -> None:
    """A hook point Metaflow renames is left alone at run time: this catches it at upgrade."""
    proc = _run(_HOOK_POINTS, _base_env(tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_the_switch_words_are_the_boolean_kinds_false_words() -> None:
    """The extension reads the switch without our package; its words are the kind's."""
    from metaflow_config._model.kinds import BOOL_WORDS
    from metaflow_extensions.metaflow_config import _switch

    assert sorted(w for w, value in BOOL_WORDS.items() if not value) == sorted(_switch.OFF)


_CONFIG_VALUES = """
import json
import metaflow.metaflow_config as m
import metaflow.metaflow_config_funcs as funcs
from metaflow_config import settings

def launched():  # what Metaflow's launchers copy from config_values() into a task
    copied = ("METAFLOW_CONDA_", "METAFLOW_DEBUG_")
    return {k: v for k, v in funcs.config_values() if k.startswith(copied)}

before = launched()
funcs.from_conf("DEBUG_S3CLIENT", False)  # as Metaflow does for an extension's extra options
exported = settings.to_env("batch")
print(json.dumps({
    "module": [m.DEBUG_S3CLIENT, m.CONDA_USE_FAST_INIT, m.DEBUG_SIDECAR],
    "launched": before,
    "again": launched(),
    "exported": {k: v for k, v in exported.items() if k in before or "DEBUG" in k or "CONDA" in k},
    "set": sorted(k for k, v in funcs.config_values() if "DEBUG" not in k and "CONDA" not in k),
}))
"""


def test_metaflows_config_values_are_the_resolved_ones(tmp_path: Path) -> None:
    """What ``config_values()`` gives a launcher (Batch, SFN, Kubernetes, Argo, Airflow) is ours.

    Metaflow reads "off" and "no" as true: its launchers would put DEBUG_S3CLIENT=True in the
    task's environment, ahead of to_env's value, while the launcher runs with it off.
    """
    env = {**_base_env(tmp_path), "USER": "ana"}  # USER derives from it: this machine's
    profile = {
        "METAFLOW_DEBUG_S3CLIENT": "off",
        "METAFLOW_CONDA_USE_FAST_INIT": "no",
        "METAFLOW_DEBUG_SIDECAR": "yes",
        "METAFLOW_BATCH_JOB_QUEUE": "q",
    }
    (Path(env["METAFLOW_HOME"]) / "config.json").write_text(json.dumps(profile), "utf-8")
    proc = _run(_CONFIG_VALUES, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["module"] == [False, False, True]
    expected = {
        "METAFLOW_CONDA_USE_FAST_INIT": "false",
        "METAFLOW_DEBUG_S3CLIENT": "false",
        "METAFLOW_DEBUG_SIDECAR": "true",
    }
    assert seen["launched"] == expected == seen["exported"]
    assert seen["again"] == expected  # a later from_conf of the name does not bring Metaflow's back
    # what a layer set, as Metaflow's registry tells it: not what is derived from this machine
    # (its user, its working directory), which a launcher copying them all would carry away
    assert seen["set"] == ["METAFLOW_BATCH_JOB_QUEUE"]


def _metaflow_command(
    tmp_path: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    env = _base_env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    return subprocess.run(
        [str(Path(sys.executable).parent / "metaflow"), *args],
        env=env,
        cwd=tmp_path,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_metaflow_configure_repairs_a_broken_configuration(tmp_path: Path) -> None:
    """``metaflow configure`` runs on Metaflow's own reading, as with the extension off."""
    profile = Path(_base_env(tmp_path)["METAFLOW_HOME"]) / "config.json"
    profile.write_text('{"METAFLOW_BATCH_EMIT_TAGS": "junk"}', encoding="utf-8")
    show = _metaflow_command(tmp_path, "configure", "show")
    assert show.returncode == 0, show.stderr
    assert "METAFLOW_BATCH_EMIT_TAGS=junk" in show.stdout
    notice = (
        "metaflow-config: this configuration is invalid (1 problem; `metaflow-config check` "
        "lists them): `metaflow configure` runs on Metaflow's own reading of it"
    )
    assert show.stderr.splitlines() == [notice]
    reset = _metaflow_command(tmp_path, "configure", "reset", stdin="y\n")
    assert reset.returncode == 0, reset.stderr
    assert "Configuration successfully reset" in reset.stdout
    assert not profile.exists()  # Metaflow's reset removes the profile
    assert _metaflow_command(tmp_path, "configure", "show").stderr == ""  # repaired


def test_other_metaflow_commands_still_refuse_a_broken_configuration(tmp_path: Path) -> None:
    """Only ``configure`` is let through: ``metaflow status`` would run on a misreading."""
    profile = Path(_base_env(tmp_path)["METAFLOW_HOME"]) / "config.json"
    profile.write_text('{"METAFLOW_BATCH_EMIT_TAGS": "junk"}', encoding="utf-8")
    proc = _metaflow_command(tmp_path, "status")
    assert proc.returncode == 1
    assert proc.stderr.startswith("invalid Metaflow configuration: METAFLOW_BATCH_EMIT_TAGS")


@pytest.mark.parametrize(
    ("argv", "repairing"),
    [
        (["/venv/bin/metaflow", "configure", "reset"], True),
        (["metaflow", "configure"], True),
        (["C:/py/Scripts/metaflow.exe", "configure", "show"], True),
        (["/site/metaflow/cmd/main_cli.py", "configure", "aws"], True),
        (["/venv/bin/metaflow", "status"], False),
        (["/venv/bin/metaflow"], False),
        (["flow.py", "configure"], False),  # a flow's own "configure" is no repair
        (["/venv/bin/metaflow-config", "configure"], False),
        ([], False),
    ],
)
def test_the_configure_command_is_recognised(argv: list[str], repairing: bool) -> None:
    from metaflow_config._metaflow import _repairing

    assert _repairing(argv) is repairing


_SECRETS_PROBE = """
import json, pickle
import metaflow.metaflow_config as m

key, headers, url = m.SERVICE_AUTH_KEY, m.SERVICE_HEADERS, m.SERVICE_URL
print(json.dumps({
    "types": [
        type(key) is not str, isinstance(headers, dict) and type(headers) is not dict,
        type(url) is not str, type(headers.copy()) is type(headers),
    ],
    "repr": [repr(key), repr(headers["x-api-key"]), repr(url), str(headers)],
    "real": [str(key), f"{key}", json.dumps(headers), pickle.loads(pickle.dumps(key)), str(url)],
    "stack": m.AWS_SANDBOX_STACK_NAME,
}))
"""


def test_secrets_in_metaflows_module_mask_their_repr_only(tmp_path: Path) -> None:
    """README "Differences from Metaflow": secrets are str and dict subclasses, masked in ``repr``.

    Their ``str`` masks too where it would show a container (``str(SERVICE_HEADERS)``): what
    code uses of them (the text, JSON, pickling) is the real value.
    """
    env = {
        **_base_env(tmp_path),
        "METAFLOW_SERVICE_AUTH_KEY": "k3y",
        "METAFLOW_SERVICE_URL": "https://me:pw@mf.example.com",
    }
    proc = _run(_SECRETS_PROBE, env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen["types"] == [True, True, True, True]
    assert seen["repr"] == [
        "'****'",
        "'****'",
        "'https://me:****@mf.example.com'",
        "{****}",  # str() of a container: the mask, for another process too
    ]
    assert seen["real"] == [
        "k3y",
        "k3y",
        '{"x-api-key": "k3y"}',
        "k3y",
        "https://me:pw@mf.example.com",
    ]
    assert seen["stack"] is None  # a name Metaflow's module lacks: there, unset


_ARCHIVES = """
import metaflow
from metaflow.packaging_sys.tar_backend import TarPackagingBackend

backend = TarPackagingBackend()
backend.create()  # as MetaflowPackage._make does (`with backend.create()`): create() twice
first = backend._archive
with backend:
    pass
print(first.closed, backend._archive is not first, bytes(backend.get_blob()[:2]) == b"\\x1f\\x8b")
"""


def test_metaflows_abandoned_archive_is_closed(tmp_path: Path) -> None:
    """The archive Metaflow's packaging abandons is closed (Python 3.12+ would print a gzip
    traceback when it is collected); the archive Metaflow keeps is a whole gzip stream."""
    proc = _run(_ARCHIVES, _base_env(tmp_path), tmp_path)
    assert proc.stdout.split() == ["True", "True", "True"], proc.stderr
