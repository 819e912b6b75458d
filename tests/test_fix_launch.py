"""Launches made in this process: a notebook's Runner and Deployer inside ``override()``, a
refused ``airflow create``, and what ``show --target`` says a pod is given by Metaflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import invoke
from tests.test_metaflow_flows import SYSROOT, _aws_env, _boto, launch, run

# -- a caller's env that is a copy of os.environ ------------------------------------------------


def _made(api: object, flow: str, env: dict[str, str] | None = None, **kwargs: object) -> object:
    return env


def test_a_copy_of_the_process_environment_passed_as_env_does_not_beat_the_scope(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``NBRunner``/``NBDeployer`` pass ``os.environ.copy()`` (updated with their ``env``): an
    entry equal to the process's own is the inherited environment, which the scope overrides;
    an entry the caller changed still wins."""
    from metaflow_config import override
    from metaflow_config._metaflow.launch import in_scope

    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "from-environ")
    monkeypatch.setenv("METAFLOW_DATATOOLS_SUFFIX", "from-environ")
    with override(BATCH_JOB_QUEUE="scoped", DATATOOLS_SUFFIX="scoped"):
        copied = {**os.environ, "METAFLOW_DATATOOLS_SUFFIX": "chosen", "JPY_PARENT_PID": ""}
        given = in_scope(_made, object(), "flow.py", env=copied)
    assert isinstance(given, dict)
    assert given["METAFLOW_BATCH_JOB_QUEUE"] == "scoped"
    assert given["METAFLOW_DATATOOLS_SUFFIX"] == "chosen"  # the caller's own
    assert given["JPY_PARENT_PID"] == ""


def test_a_copied_profile_or_home_does_not_replace_the_scopes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A copy of ``os.environ`` carries its ``METAFLOW_PROFILE``: a scope that chose the default
    profile keeps it (the profile is not resolved again from the copy)."""
    from metaflow_config import override
    from metaflow_config._metaflow.launch import in_scope

    home = Path(os.environ["METAFLOW_HOME"])
    (home / "config_staging.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "staging-queue"}')
    monkeypatch.setenv("METAFLOW_PROFILE", "staging")
    with override(profile=""):
        given = in_scope(_made, object(), "flow.py", env=dict(os.environ))
    assert isinstance(given, dict)
    assert given["METAFLOW_PROFILE"] == ""
    assert given.get("METAFLOW_BATCH_JOB_QUEUE", "") == ""


_CELL = """
from metaflow import FlowSpec, step
class QFlow(FlowSpec):
    @step
    def start(self):
        import metaflow.metaflow_config as m
        self.queue = m.BATCH_JOB_QUEUE
        self.suffix = m.DATATOOLS_SUFFIX
        self.next(self.end)
    @step
    def end(self):
        pass
"""

_IPYTHON = f"""
import sys, types
sys.modules["IPython"] = types.SimpleNamespace(
    get_ipython=lambda: types.SimpleNamespace(
        history_manager=types.SimpleNamespace(input_hist_raw=[{_CELL!r}])))
class QFlow: pass
"""


def _notebook(tmp_path: Path, code: str, **env: str) -> str:
    where = launch(tmp_path, env)
    proc = subprocess.run(
        [sys.executable, "-c", _IPYTHON + textwrap.dedent(code)],
        env=where.env,
        cwd=where.project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [line for line in proc.stdout.splitlines() if line.startswith("RESULT")][-1]


@pytest.mark.slow
def test_a_nbrunner_made_inside_an_override_runs_the_override(tmp_path: Path) -> None:
    """README: a Runner made inside a bare ``override()`` is given what the scope resolved; a
    notebook's ``NBRunner`` too, though it passes ``env=os.environ.copy()``; its own ``env``
    still wins."""
    line = _notebook(
        tmp_path,
        """
        from metaflow_config import override
        from metaflow import NBRunner
        with override(BATCH_JOB_QUEUE="from-override", DATATOOLS_SUFFIX="from-override"):
            nb = NBRunner(QFlow, show_output=False, env={"METAFLOW_DATATOOLS_SUFFIX": "mine"})
            task = nb.nbrun()["start"].task
        print("RESULT", task["queue"].data, task["suffix"].data)
        """,
        METAFLOW_BATCH_JOB_QUEUE="from-environ",
        METAFLOW_DATATOOLS_SUFFIX="from-environ",
    )
    assert line.split()[1:] == ["from-override", "mine"]


@pytest.mark.slow
@pytest.mark.aws
def test_a_nbdeployer_made_inside_an_override_deploys_the_override(
    tmp_path: Path, moto_server: str
) -> None:
    """``NBDeployer`` inside ``override(DATATOOLS_SUFFIX=...)`` writes the override's value into
    the Argo template, not the notebook environment's."""
    _boto(moto_server, "s3").create_bucket(Bucket="mf-bucket")
    line = _notebook(
        tmp_path,
        """
        from metaflow_config import override
        from metaflow import NBDeployer
        with override(DATATOOLS_SUFFIX="from-override"):
            nb = NBDeployer(QFlow, show_output=False, datastore="s3")
            made = nb.argo_workflows().create(only_json=True)
        end = [t for t in made.workflow_template["spec"]["templates"] if t["name"] == "end"][0]
        print("RESULT", {e["name"]: e.get("value") for e in end["container"]["env"]}[
            "METAFLOW_DATATOOLS_SUFFIX"])
        """,
        **_aws_env(moto_server),
        METAFLOW_DATASTORE_SYSROOT_S3=SYSROOT,
        METAFLOW_S3_ENDPOINT_URL=moto_server,
        METAFLOW_DATATOOLS_SUFFIX="from-environ",
    )
    assert line.split()[1:] == ["from-override"]


# -- a refused `airflow create` leaves the deployed DAG file as it was --------------------------

_TRIGGERED = """
from metaflow import FlowSpec, step, trigger
@trigger(event="data-ready")
class TriggeredFlow(FlowSpec):
    @step
    def start(self):
        self.next(self.end)
    @step
    def end(self):
        pass
if __name__ == "__main__":
    TriggeredFlow()
"""


@pytest.mark.slow
@pytest.mark.aws
def test_a_refused_airflow_create_leaves_the_deployed_dag_file(
    tmp_path: Path, moto_server: str
) -> None:
    """``airflow create`` opens its output for writing before it compiles: the DAG is compiled
    as Metaflow's ``Airflow`` object is made, so a refusal (this package's: a value Airflow's
    Jinja would run; Metaflow's own: ``@trigger``) leaves a deployed DAG file as it was."""
    _boto(moto_server, "s3").create_bucket(Bucket="mf-bucket")
    where = launch(
        tmp_path,
        {
            **_aws_env(moto_server),
            "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
            "METAFLOW_S3_ENDPOINT_URL": moto_server,
        },
    )
    dag = where.project / "dag.py"
    run(where, "--datastore=s3", "airflow", "create", "dag.py")
    deployed = dag.read_text()
    unsafe = {"METAFLOW_CONTACT_INFO": '{"Slack": "x{% endraw %}y"}'}
    refused = run(where, "--datastore=s3", "airflow", "create", "dag.py", env=unsafe, check=False)
    assert refused.returncode != 0
    assert "endraw" in refused.stdout + refused.stderr
    assert dag.read_text() == deployed
    # an entry Metaflow writes itself (its headers), which no raw block could hold: refused
    # too (pods trial: it was written as it was, and Airflow could render no task)
    unsafe = {"METAFLOW_SERVICE_HEADERS": '{"x-a": "v{%endraw%}"}'}
    refused = run(where, "--datastore=s3", "airflow", "create", "dag.py", env=unsafe, check=False)
    assert refused.returncode != 0
    assert "METAFLOW_SERVICE_HEADERS" in refused.stdout + refused.stderr
    assert dag.read_text() == deployed
    (where.project / "triggered.py").write_text(_TRIGGERED)
    proc = subprocess.run(
        [sys.executable, "triggered.py", "--datastore=s3", "airflow", "create", "dag.py"],
        env=where.env,
        cwd=where.project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode != 0
    assert "@trigger" in proc.stdout + proc.stderr
    assert dag.read_text() == deployed


def test_airflow_compiles_once_as_made() -> None:
    """The DAG compiled as the ``Airflow`` object is made is what ``compile()`` gives, once; a
    later call compiles again; a refusal is raised by the making."""
    from metaflow_config._metaflow.kubernetes import airflow_compile, airflow_made

    class Made:
        count = 0

        def __init__(self, refuse: bool) -> None:
            self.refuse = refuse

        def compile(self) -> str:
            return airflow_compile(Made._compile, self)  # type: ignore[no-any-return]

        def _compile(self) -> str:
            if self.refuse:
                raise ValueError("refused")
            Made.count += 1
            return f"dag {Made.count}"

    made = Made.__new__(Made)
    airflow_made(Made.__init__, made, refuse=False)
    assert Made.count == 1
    assert made.compile() == "dag 1"
    assert made.compile() == "dag 2"
    with pytest.raises(ValueError, match="refused"):
        airflow_made(Made.__init__, Made.__new__(Made), True)


# -- show --target: what Metaflow gives a pod ---------------------------------------------------


def _target(target: str, *args: str) -> dict[str, dict[str, str]]:
    result = invoke("show", "--target", target, "--all", "--json", *args)
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.stdout)["settings"]}


@pytest.mark.parametrize("target", ["kubernetes", "argo", "airflow"])
@pytest.mark.parametrize(
    ("env", "datastore"),
    [
        pytest.param({"METAFLOW_DATASTORE_SYSROOT_S3": "s3://b/mf"}, "s3", id="local-s3-root"),
        pytest.param(
            {"METAFLOW_DATASTORE_SYSROOT_AZURE": "mf-container/mf"},
            "azure",
            id="local-azure-root",
        ),
        pytest.param({}, "s3", id="local-no-root"),
        pytest.param(
            {"METAFLOW_DEFAULT_DATASTORE": "gs", "METAFLOW_DATASTORE_SYSROOT_GS": "gs://bkt/mf"},
            "gs",
            id="gs",
        ),
    ],
)
def test_a_pod_is_given_the_runs_datastore(
    monkeypatch: pytest.MonkeyPatch, target: str, env: dict[str, str], datastore: str
) -> None:
    """Every pod Metaflow writes gets the run's datastore (``flow_datastore.TYPE``), never
    ``local`` (``@kubernetes`` refuses it): the datastore configured where a pod runs on it,
    else the cloud whose root is set, else s3; said as Metaflow's."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    row = _target(target)["METAFLOW_DEFAULT_DATASTORE"]
    assert (row["value"], row["from"]) == (datastore, "metaflow"), row


#: README's words for where a task's value comes from
_WORDS = frozenset({"travels", "metaflow", "left out", "derived", "default"})


@pytest.mark.parametrize("target", ["kubernetes", "argo", "airflow"])
def test_show_target_says_where_a_value_comes_from_in_readmes_words(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """README's words only (travels, metaflow, left out, derived, default): what Metaflow's
    ``--with kubernetes`` pods are written from its own module (``OTEL_SERVICE_NAME``, the GCP
    client provider) is ``metaflow``, not the task's layer ``env``; Argo's templates write
    neither (``default``); ``explain --target`` alike."""
    monkeypatch.setenv("METAFLOW_DATASTORE_SYSROOT_S3", "s3://b/mf")
    monkeypatch.setenv("METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP", "METAFLOW_S3_RETRY_COUNT")
    monkeypatch.setenv("METAFLOW_S3_RETRY_COUNT", "3")
    words = {name: row["from"] for name, row in _target(target).items()}
    assert {n: w for n, w in words.items() if w not in _WORDS} == {}
    word = {"kubernetes": "metaflow", "argo": "default"}.get(target)
    if word is not None:
        assert words["METAFLOW_OTEL_SERVICE_NAME"] == word
        assert words["METAFLOW_DEFAULT_GCP_CLIENT_PROVIDER"] == word
        explained = invoke("explain", "OTEL_SERVICE_NAME", "--target", target)
        assert f"({target}), from: {word}" in explained.stdout, explained.stdout


#: Metaflow's launcher modules whose tasks' environments each target's are built in
_LAUNCHER_SOURCES = {
    "batch": ("plugins/aws/batch/batch.py",),
    "sfn": ("plugins/aws/batch/batch.py", "plugins/aws/step_functions/step_functions.py"),
    "kubernetes": ("plugins/kubernetes/kubernetes.py",),
    "argo": ("plugins/argo/argo_workflows.py", "plugins/kubernetes/kubernetes_jobsets.py"),
    "airflow": ("plugins/airflow/airflow.py",),
}


def test_what_metaflow_writes_is_what_its_launchers_name() -> None:
    """``METAFLOW_WRITES`` (what ``show --target`` says Metaflow writes from its module) names
    exactly the table's settings the installed Metaflow's launchers of each target write (but
    those written under another name): Argo's templates write no OTel or client-provider
    setting, Airflow's tasks no ``TEMPDIR``."""
    import importlib.util
    import re

    from metaflow_config._model.table import BY_ENV
    from metaflow_config._snapshot.taskenv import METAFLOW_WRITES

    spec = importlib.util.find_spec("metaflow")  # not imported: only its launchers' text read
    assert spec is not None
    assert spec.origin is not None
    root = Path(spec.origin).parent
    under_others = {"METAFLOW_SERVICE_INTERNAL_URL", "METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL"}
    for target, sources in _LAUNCHER_SOURCES.items():
        named = {
            name
            for source in sources
            for name in re.findall(r'"(METAFLOW_[A-Z0-9_]+)"', (root / source).read_text())
            if name in BY_ENV
        }
        assert METAFLOW_WRITES[target] - under_others == named, target
