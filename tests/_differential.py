"""The machinery of the differential tests: scenarios, laying them out, running both sides.

Used by tests/test_differential.py (Metaflow on its own) and tests/test_metaflow_extension.py
(Metaflow with the extension); the scenarios themselves are in
tests/_differential_scenarios.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import metaflow_config.compat as compat
from metaflow_config import ConfigWarning, override
from metaflow_config.testing import trust
from tests.conftest import write_json

# --- documented differences -------------------------------------------------------------------

#: README "Differences from Metaflow" rows (their first cell, verbatim) that the scenarios show.
BOOLEANS = "Booleans"
WRONG_JSON_TYPES = (
    "Wrong JSON types in a profile (`0` for a bool, `5.7` for an int, `5` for a text setting)"
)
JSON_NULL = "JSON `null` in a file"
EMPTY_ENV = "Empty environment variable"
DERIVED_ROOTS = "Derived roots"
CONDA_ROOT = "`CONDA_PACKAGE_S3ROOT`"
VERIFY = "`S3_VERIFY_CERTIFICATE=false`"
USER = "`USER`"
SANDBOX = "Sandbox (`AWS_SANDBOX_ENABLED`)"
VALIDATION = "Validation"
MISSING_PROFILE = "Missing named profile"
RELATIVE_HOME = "A relative `METAFLOW_HOME` (`METAFLOW_HOME=.mfconfig`)"
GPU_VENDOR = "`KUBERNETES_GPU_VENDOR` in another case (`AMD`)"
K8S_INTS = "`KUBERNETES_SHARED_MEMORY`, `KUBERNETES_PORT`"
K8S_QUANTITIES = "`KUBERNETES_CPU`, `KUBERNETES_MEMORY`, `KUBERNETES_DISK`"
JOB_QUEUE_ALIAS = "`METAFLOW_JOB_QUEUE_NAME`"
PROJECT_TRUST = "Project file (`.metaflow/config.json`)"

#: Every compat name whose value may differ from Metaflow's, and the README row that explains why.
#: A scenario lists in ``differs`` exactly the names that differ in it.
DIFFERENCES: dict[str, str] = {
    # derived from the sysroot here, unset in Metaflow unless configured
    "CONDA_PACKAGE_S3ROOT": CONDA_ROOT,
    # Metaflow reads only METAFLOW_USER; here $SUDO_USER > $USERNAME > $USER (not root) follow
    "USER": USER,
    # "false"/"true" are booleans here, strings (CA bundle paths to boto3) in Metaflow ...
    "S3_VERIFY_CERTIFICATE": VERIFY,
    # ... and the client params carry the boolean (Metaflow drops a JSON false entirely)
    "DATATOOLS_CLIENT_PARAMS": VERIFY,
    # integers here, the environment's strings in Metaflow
    "KUBERNETES_SHARED_MEMORY": K8S_INTS,
    "KUBERNETES_PORT": K8S_INTS,
    # a JSON number in a file is its text here (as the environment gives it), a number there
    "KUBERNETES_CPU": K8S_QUANTITIES,
    "KUBERNETES_MEMORY": K8S_QUANTITIES,
    "KUBERNETES_DISK": K8S_QUANTITIES,
    # "no"/"off" are false here, true in Metaflow
    "BATCH_EMIT_TAGS": BOOLEANS,
    "SFN_COMPRESS_STATE_MACHINE": BOOLEANS,
    # METAFLOW_X= is "not set" here, the empty string in Metaflow
    "SFN_DYNAMO_DB_TABLE": EMPTY_ENV,
    "DEFAULT_ENVIRONMENT": EMPTY_ENV,
    # null in a file is "not set in this file" here; None (or str(None) == "None") in Metaflow
    "SFN_IAM_ROLE": JSON_NULL,
    "KUBERNETES_NAMESPACE": JSON_NULL,
    "ARGO_EVENTS_SENSOR_NAMESPACE": JSON_NULL,
    # joined as URLs here; os.path.join drops the root before an absolute suffix in Metaflow
    "DATATOOLS_S3ROOT": DERIVED_ROOTS,
    "DATATOOLS_LOCALROOT": DERIVED_ROOTS,
    # the sandbox supplies derived defaults here; Metaflow overwrites explicit values
    "SERVICE_INTERNAL_URL": SANDBOX,
    "SFN_STATE_MACHINE_PREFIX": SANDBOX,
    # without the sandbox's key, the auth key is still sent here; Metaflow sends no key
    "SERVICE_HEADERS": SANDBOX,
    # the documented alias is read here; Metaflow does not read it at all
    "BATCH_JOB_QUEUE": JOB_QUEUE_ALIAS,
    # a role (sensitive) from a project file the user has not trusted is not applied here
    "ECS_S3_ACCESS_IAM_ROLE": PROJECT_TRUST,
}

#: Metaflow module-level upper-case names that compat deliberately does not provide.
NOT_PROVIDED: dict[str, str] = {
    "JSON": "a typing alias of the Runner API's parameter types, not configuration",
}
#: compat names Metaflow's module does not bind.
ONLY_IN_COMPAT: dict[str, str] = {
    "AWS_SANDBOX_STACK_NAME": "Metaflow reads it with from_conf only to assign "
    "SFN_STATE_MACHINE_PREFIX in sandbox mode; it is a setting of its own here",
}

# --- scenarios --------------------------------------------------------------------------------

DIR = object()  # a directory in a scenario's project tree


@dataclass(frozen=True)
class Scenario:
    """The inputs of one comparison and what is expected of it.

    ``profiles`` are files under ``METAFLOW_HOME`` (``config.json``, ``config_<name>.json``);
    ``project`` maps paths under the project directory to JSON content (or ``DIR``); ``cwd`` is
    the working directory inside the project. ``default_home`` leaves ``METAFLOW_HOME`` unset so
    ``~/.metaflowconfig`` (under the temp ``HOME``) is read. ``metaflow_fails`` names the
    exception Metaflow's import raises; ``ours_fails`` a pattern the ``ConfigError`` matches;
    ``topic`` the README row of either. ``metaflow_holds`` and ``ours_holds`` pin values each
    side resolves. ``trusted``: the user's home trusts the project's config file (README "Trust"),
    so every key of it applies, as in Metaflow.
    """

    env: Mapping[str, str] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    project: Mapping[str, Any] = field(default_factory=dict)
    cwd: str = "."
    default_home: bool = False
    differs: tuple[str, ...] = ()
    metaflow_fails: str = ""
    ours_fails: str = ""
    topic: str = ""
    metaflow_holds: Mapping[str, Any] = field(default_factory=dict)
    ours_holds: Mapping[str, Any] = field(default_factory=dict)
    trusted: bool = True


def case(case_id: str, **kwargs: Any) -> Any:
    """One scenario as a pytest parameter with an id."""
    return pytest.param(Scenario(**kwargs), id=case_id)


def local(data: Mapping[str, Any]) -> dict[str, Any]:
    """A project whose ``.metaflow/config.json`` holds ``data``."""
    return {".metaflow/config.json": data}


# --- running both sides -----------------------------------------------------------------------

#: Runs in the subprocess: import Metaflow's module, print every upper-case name as JSON.
PROBE = """
import json
try:
    import metaflow.metaflow_config as m
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
else:
    names = {n: v for n, v in vars(m).items() if n.isupper()}
    types = {n: type(v).__name__ for n, v in names.items()}
    print(json.dumps({"values": names, "types": types}, default=repr))
"""


@dataclass(frozen=True)
class Built:
    """A scenario laid out on disk: the environment and working directory both sides use."""

    env: dict[str, str]
    home: Path
    cwd: Path
    trusted: bool = True


def build(scenario: Scenario, root: Path) -> Built:
    """Write the scenario's files under ``root`` and return the environment to run with."""
    user_home = root / "user-home"
    user_home.mkdir()
    mf_home = user_home / ".metaflowconfig" if scenario.default_home else root / "mfhome"
    mf_home.mkdir()
    for name, data in scenario.profiles.items():
        write_json(mf_home / name, data).chmod(0o600)  # as a careful user keeps secrets
    project = root / "project"
    project.mkdir()
    for rel, data in scenario.project.items():
        if data is DIR:
            (project / rel).mkdir(parents=True)
        else:
            write_json(project / rel, data).chmod(0o600)
            if scenario.trusted and rel.endswith("config.json"):
                trust(mf_home, project / rel)
    cwd = project / scenario.cwd
    cwd.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(user_home), "LC_ALL": "C.UTF-8"}
    if not scenario.default_home:
        env["METAFLOW_HOME"] = str(mf_home)
    env.update(scenario.env)
    return Built(env, user_home, Path(os.path.realpath(cwd)), scenario.trusted)


def run_metaflow(built: Built, *, extension: bool = False) -> dict[str, Any]:
    """Import ``metaflow.metaflow_config`` in a fresh process with exactly ``built``'s inputs.

    Metaflow resolves on its own unless ``extension`` (then metaflow-config's extension applies).
    """
    env = dict(built.env)
    if not extension:
        env["METAFLOW_CONFIG_EXTENSION"] = "0"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=built.cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def normalized(value: Any) -> Any:
    """A value as it reads back from the subprocess's JSON (tuples become lists, ...)."""
    return json.loads(json.dumps(value, default=repr))


def read_ours(built: Built, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every compat name, resolved from the same environment, home and working directory."""
    monkeypatch.setenv("HOME", str(built.home))  # ~ in a default METAFLOW_HOME: the temp one
    with warnings.catch_warnings():
        if not built.trusted:  # the warning of the untrusted file: tests/test_trust.py has it
            warnings.simplefilter("ignore", ConfigWarning)
        with override(env=built.env, cwd=built.cwd):
            return {name: normalized(getattr(compat, name)) for name in compat.NAMES}
