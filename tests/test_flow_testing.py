"""Flow tests with injected settings: what a test injects is what the steps of its flow see.

The tests run in an inner pytest session (``pytester``, a subprocess) whose environment has no
``USER``, ``USERNAME`` or ``SUDO_USER``, as on a CI machine: the fixture must still let Metaflow
run. Its working directory holds a project file setting the job queue and the datatools suffix,
which neither the tests nor their flows may read. Each inner test runs
``tests/flows/probe_flow.py`` with ``metaflow.Runner`` or with ``python flow.py run`` and checks
the steps' reports against the snapshot in force in the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from metaflow_config.testing import write_local

pytestmark = pytest.mark.slow
pytest_plugins = ["pytester"]

FLOW = Path(__file__).resolve().parent / "flows" / "probe_flow.py"

INNER = """
import json
import os
import re
import subprocess
import sys

import pytest
from metaflow import Runner

from metaflow_config import override, settings
from metaflow_config._model.table import FIELDS
from metaflow_config.testing import TEST_USER, child_env

FLOW = {flow!r}
SEEN = re.compile(r"SEEN (\\{{.*\\}})\\s*$", re.M)


def steps(output):
    found = [json.loads(m) for m in SEEN.findall(output)]
    assert {{r["step"] for r in found}} == {{"start", "end"}}, output
    return found


def in_force():
    return json.loads(json.dumps({{f.env: settings[f.env] for f in FIELDS}}, default=repr))


def check(output, **expected):
    here = in_force()
    for report in steps(output):
        assert report["differing"] == []
        assert report["settings"] == here
        for name, value in expected.items():
            assert report["settings"][name] == value, name
        assert report["metaflow"]["USER"] == TEST_USER


def runner(**kwargs):
    with Runner(FLOW, show_output=False, **kwargs).run() as running:
        assert running.status == "successful", running.stderr
        return running.stdout + running.stderr


@pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="from-marker", BATCH_EMIT_TAGS=False)
def test_marker_reaches_the_steps():
    check(runner(), METAFLOW_BATCH_JOB_QUEUE="from-marker", METAFLOW_BATCH_EMIT_TAGS=False)


def test_set_reaches_the_steps(metaflow_settings):
    metaflow_settings.set(SFN_IAM_ROLE="arn:aws:iam::123456789012:role/from-set")
    metaflow_settings.set(DATASTORE_SYSROOT_S3="s3://bucket/from-set")
    check(
        runner(),
        METAFLOW_SFN_IAM_ROLE="arn:aws:iam::123456789012:role/from-set",
        METAFLOW_DATATOOLS_S3ROOT="s3://bucket/from-set/data",
    )
    assert metaflow_settings.explain("SFN_IAM_ROLE").source == "override"


def test_setenv_reaches_the_steps(metaflow_settings):
    metaflow_settings.setenv("METAFLOW_JOB_QUEUE_NAME", "from-setenv")
    check(runner(), METAFLOW_BATCH_JOB_QUEUE="from-setenv")


def test_profile_and_local_file_reach_the_steps(metaflow_settings):
    metaflow_settings.write_profile({{"BATCH_JOB_QUEUE": "from-profile"}}, profile="staging")
    metaflow_settings.use_profile("staging")
    metaflow_settings.write_local({{"DATATOOLS_SUFFIX": "from-local"}})
    check(
        runner(),
        METAFLOW_BATCH_JOB_QUEUE="from-profile",
        METAFLOW_DATATOOLS_SUFFIX="from-local",
    )


@pytest.mark.metaflow_settings(BATCH_JOB_QUEUE="from-marker")
def test_python_flow_py_run_sees_the_marker():
    proc = subprocess.run(
        [sys.executable, FLOW, "run"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    check(proc.stdout + proc.stderr, METAFLOW_BATCH_JOB_QUEUE="from-marker")


def test_a_bare_override_reaches_the_steps_through_child_env(metaflow_settings):
    with override(BATCH_JOB_QUEUE="from-override", DATATOOLS_SUFFIX="x"):
        check(
            runner(env=child_env()),
            METAFLOW_BATCH_JOB_QUEUE="from-override",
            METAFLOW_DATATOOLS_SUFFIX="x",
        )


def test_the_project_file_of_the_working_directory_stays_out(metaflow_settings):
    assert os.path.isfile(os.path.join(".metaflow", "config.json"))
    assert (settings.batch.job_queue, settings.datatools.suffix) == (None, "data")
    check(runner(), METAFLOW_BATCH_JOB_QUEUE=None, METAFLOW_DATATOOLS_SUFFIX="data")


def test_a_runner_made_inside_a_bare_override_runs_the_scope(metaflow_settings):
    with override(BATCH_JOB_QUEUE="from-bare-override"):
        check(runner(), METAFLOW_BATCH_JOB_QUEUE="from-bare-override")
    output = runner()  # made outside the scope: the process's settings
    assert all(r["settings"]["METAFLOW_BATCH_JOB_QUEUE"] is None for r in steps(output))
"""


def test_flow_tests_see_what_they_inject(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Marker, set, setenv, profiles, local file, override (a Runner made in its scope, or given
    child_env): the steps see them."""
    for name in ("USER", "USERNAME", "SUDO_USER", "LOGNAME"):
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_inner=INNER.format(flow=str(FLOW)))
    write_local(pytester.path, {"BATCH_JOB_QUEUE": "poison", "DATATOOLS_SUFFIX": "poison"})
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
