"""What Metaflow writes into a pod itself reaches the task as the launcher resolved it.

Metaflow writes settings' values into pods as they are: Kubernetes expands ``$(NAME)`` and reads
``$$`` as ``$``, and Airflow renders its tasks' ``env_vars`` as Jinja first. The extension
writes those entries as text (``TaskEnv.literal``), the init script each container evaluates
(``METAFLOW_INIT_SCRIPT``) included. Real launches of the ``metaflow`` package (the suite's
moto server, ``argo-workflows create --only-json``, ``airflow create``, the fake cluster).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from tests._fake_kubernetes import expand, fake_cluster, kubeconfig_env, pod_environment
from tests.test_metaflow_flows import FLOW, run
from tests.test_metaflow_kubernetes import (
    PARALLEL_FLOW,
    _Airflow,
    _alone,
    _argo_launch,
    _launch,
    _step_of,
    _templates,
)

pytestmark = [pytest.mark.slow, pytest.mark.aws]

INIT_SCRIPT = "export PROBE_PID=$$; echo $(HOSTNAME) > /tmp/probe-host"


def _workflow(stdout: str) -> dict[str, Any]:
    return json.loads(stdout[stdout.index("{") :])


def _containers(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every container of a WorkflowTemplate: templates, and an @parallel step's JobSet jobs."""
    import yaml

    found = dict(_templates(workflow))
    for t in workflow["spec"]["templates"]:
        if "resource" in t:
            count = "{{=asInt(inputs.parameters.workerCount)}}"
            jobset = yaml.safe_load(t["resource"]["manifest"].replace(count, repr(count)))
            for job in jobset["spec"]["replicatedJobs"]:
                [c] = job["template"]["spec"]["template"]["spec"]["containers"]
                found[f"{t['name']}/{job['name']}"] = c
    return found


# --- 1. The init script a pod runs is still expanded by Kubernetes --------------------------------


def test_the_init_script_a_pod_evaluates_reaches_it_as_configured_on_argo(
    aws_env: str,
    tmp_path: Path,
) -> None:
    """Every Metaflow container runs ``eval "${METAFLOW_INIT_SCRIPT}"``, which Metaflow writes
    from ``KUBERNETES_SANDBOX_INIT_SCRIPT`` under a name of its own: the script evaluated is the
    one configured (``$$`` was read as ``$``, ``$(NAME)`` expanded), in the steps, the
    error-capture hook, the heartbeat daemon and an @parallel step's JobSet alike."""
    where = _argo_launch(tmp_path, aws_env, METAFLOW_KUBERNETES_SANDBOX_INIT_SCRIPT=INIT_SCRIPT)
    (where.project / FLOW.name).write_text(PARALLEL_FLOW.read_text())
    proc = run(
        where,
        "--datastore=s3",
        "argo-workflows",
        "create",
        "--only-json",
        "--enable-heartbeat-daemon",
    )
    containers = _containers(_workflow(proc.stdout))
    assert {"start", "heartbeat-daemon", "error-msg-capture-hook", "train/worker"} <= set(
        containers
    )
    wrong = {}
    for name, c in containers.items():
        env = pod_environment(c, {"metadata.namespace": "mf-ns"})
        if env.get("METAFLOW_INIT_SCRIPT") != INIT_SCRIPT:
            wrong[name] = env.get("METAFLOW_INIT_SCRIPT")
        assert env.get("METAFLOW_KUBERNETES_SANDBOX_INIT_SCRIPT", INIT_SCRIPT) == INIT_SCRIPT
    assert wrong == {}


def test_the_init_script_a_kubernetes_job_evaluates_reaches_it_as_configured(
    aws_env: str,
    tmp_path: Path,
) -> None:
    """``run --with kubernetes``: the Job's ``METAFLOW_INIT_SCRIPT`` (the one its command
    evaluates) is the one configured (the pod evaluated ``export PROBE_PID=$;...``)."""
    where = _launch(tmp_path, aws_env, METAFLOW_KUBERNETES_SANDBOX_INIT_SCRIPT=INIT_SCRIPT)
    with fake_cluster(tmp_path / "cluster") as cluster:  # recorded, not run
        run(
            where,
            "--datastore=s3",
            "run",
            "--with",
            "kubernetes",
            env=kubeconfig_env(cluster),
            check=False,
        )
    assert cluster.jobs()
    for job in cluster.jobs():
        [c] = job["spec"]["template"]["spec"]["containers"]
        env = pod_environment(c, {"metadata.namespace": "mf-ns"})
        assert env["METAFLOW_KUBERNETES_SANDBOX_INIT_SCRIPT"] == INIT_SCRIPT
        assert env["METAFLOW_INIT_SCRIPT"] == INIT_SCRIPT, _step_of(c)


# --- 2. Airflow: Metaflow's own entries are not kept out of Jinja --------------------------------


def _rendered(entries: list[dict[str, str]]) -> dict[str, str]:
    """A task's environment as Airflow renders ``env_vars`` (Jinja), then Kubernetes expands."""
    import jinja2

    jinja = jinja2.Environment(undefined=jinja2.ChainableUndefined, autoescape=False)  # noqa: S701
    for name in ("json_dump", "run_id_creator", "task_id_creator", "join_list"):
        jinja.filters[name] = str
    airflow = {"task_instance": _Airflow(), "ti": _Airflow(), "dag_run": _Airflow()}
    out: dict[str, str] = {}
    for e in entries:
        try:
            text = jinja.from_string(e["value"]).render(**airflow)
        except jinja2.TemplateError as exc:
            text = f"<Airflow fails to render it: {exc}>"
        out[e["name"]] = expand(text, out)
    return out


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METAFLOW_SERVICE_HEADERS", '{"x-team": "ml{#1"}'),
        ("METAFLOW_SERVICE_HEADERS", '{"x-team": "{%team%}"}'),
        ("METAFLOW_SERVICE_INTERNAL_URL", "https://svc.internal/api/{%v1"),
    ],
)
def test_airflow_keeps_metaflows_own_entries_out_of_jinja(
    aws_env: str,
    tmp_path: Path,
    name: str,
    value: str,
) -> None:
    """Airflow renders every ``env_vars`` value with Jinja: Metaflow's own entries holding
    ``{#`` or ``{%`` (its headers, its service URL) go in a raw block, as the package's own
    do; every task failed to render them, or resolved another value than the launcher."""
    where = _launch(tmp_path, aws_env, METAFLOW_SERVICE_AUTH_KEY="plain-key", **{name: value})
    run(where, "--datastore=s3", "airflow", "create", "dag.py")
    text = (where.project / "dag.py").read_text()
    line = next(x for x in text.splitlines() if x.startswith("CONFIG = "))
    config = ast.literal_eval(line[len("CONFIG = ") :])
    for step, state in config["states"].items():
        env = _rendered(state["operator_args"]["env_vars"])
        if name == "METAFLOW_SERVICE_HEADERS":
            assert not env[name].startswith("<Airflow fails"), (step, env[name])
            task = _alone(env, tmp_path)
            assert task.service.headers["x-team"] == json.loads(value)["x-team"], step
        else:
            assert env["METAFLOW_SERVICE_URL"] == value, step


# --- The launch's word on an installed extension's names -----------------------------------------

_ACME_CONFIG = """\
from metaflow.metaflow_config_funcs import from_conf

ACME_ENDPOINT = from_conf("ACME_ENDPOINT", "https://acme.example")
CONDA_ACME_CHANNEL = from_conf("CONDA_ACME_CHANNEL")
DEBUG_OPTIONS = ["acmeclient"]
"""

_ACME_FLOW = """\
from metaflow import FlowSpec, environment, step

ACME = {"METAFLOW_ACME_ENDPOINT": "https://acme.internal"}


class AcmeFlow(FlowSpec):
    @environment(vars=ACME)
    @step
    def start(self):
        self.next(self.end)

    @environment(vars=ACME)
    @step
    def end(self):
        pass


if __name__ == "__main__":
    AcmeFlow()
"""

_BEHIND = "read by an installed Metaflow extension, but not passed to the tasks"


def _acme(root: Path) -> str:
    """An installed (importable) extension ``acme`` reading names of its own: its root."""
    module = root / "metaflow_extensions" / "acme" / "config" / "mfextinit_acme.py"
    module.parent.mkdir(parents=True)
    module.write_text(_ACME_CONFIG)
    return str(root)


def test_the_launch_does_not_say_left_behind_what_every_steps_environment_gives(
    aws_env: str,
    tmp_path: Path,
) -> None:
    """The warning's way out is "Give them ... with @environment": a flow whose every step
    does (``airflow create``: the DAG's tasks hold the name) hears nothing of it (each
    container is looked at, not the resolution alone)."""
    ext = _acme(tmp_path / "site")
    where = _launch(
        tmp_path, aws_env, PYTHONPATH=ext, METAFLOW_ACME_ENDPOINT="https://acme.internal"
    )
    (where.project / FLOW.name).write_text(_ACME_FLOW)
    proc = run(where, "--datastore=s3", "airflow", "create", "dag.py")
    text = (where.project / "dag.py").read_text()
    line = next(x for x in text.splitlines() if x.startswith("CONFIG = "))
    config = ast.literal_eval(line[len("CONFIG = ") :])
    for state in config["states"].values():  # every task is given it
        names = {e["name"] for e in state["operator_args"]["env_vars"]}
        assert "METAFLOW_ACME_ENDPOINT" in names
    said = sum(_BEHIND in x for x in (proc.stdout + proc.stderr).splitlines())
    assert said == 0, "the launch says METAFLOW_ACME_ENDPOINT is not passed to the tasks"


def test_the_launch_does_not_say_left_behind_what_metaflow_passes(
    aws_env: str,
    tmp_path: Path,
) -> None:
    """Every launcher copies the ``METAFLOW_DEBUG_*`` and ``METAFLOW_CONDA_*`` names
    ``from_conf`` read (an extension's ``DEBUG_OPTIONS`` flags, its ``CONDA_`` names) into the
    task: set in the profile, they are not said "not passed to the tasks"."""
    ext = _acme(tmp_path / "site")
    where = _argo_launch(tmp_path, aws_env, PYTHONPATH=ext)
    profile = tmp_path / "mfhome" / "config.json"
    data = json.loads(profile.read_text())
    data.update({"METAFLOW_DEBUG_ACMECLIENT": True, "METAFLOW_CONDA_ACME_CHANNEL": "acme-chan"})
    profile.write_text(json.dumps(data))
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    entries = {e["name"]: e.get("value") for e in _templates(_workflow(proc.stdout))["end"]["env"]}
    assert entries["METAFLOW_DEBUG_ACMECLIENT"] == "True"  # Metaflow passes them
    assert entries["METAFLOW_CONDA_ACME_CHANNEL"] == "acme-chan"
    said = [x for x in proc.stderr.splitlines() if _BEHIND in x]
    names = ("METAFLOW_DEBUG_ACMECLIENT", "METAFLOW_CONDA_ACME_CHANNEL")
    wrongly = [n for n in names if any(n in x for x in said)]
    assert wrongly == [], said


def test_the_launch_says_once_what_its_containers_are_not_given(
    aws_env: str,
    tmp_path: Path,
) -> None:
    """No step gives ``METAFLOW_ACME_ENDPOINT``: ``argo-workflows create`` says once that the
    tasks are not given it (the name, never its value), on stderr (stdout stays the JSON)."""
    ext = _acme(tmp_path / "site")
    where = _argo_launch(
        tmp_path, aws_env, PYTHONPATH=ext, METAFLOW_ACME_ENDPOINT="https://acme.internal"
    )
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    _workflow(proc.stdout)  # the JSON, whole
    said = [x for x in proc.stderr.splitlines() if _BEHIND in x]
    assert len(said) == 1, proc.stderr
    assert "METAFLOW_ACME_ENDPOINT is set here" in said[0]
    assert "acme.internal" not in proc.stderr


_CHANNEL = "METAFLOW_CONDA_ACME_CHANNEL"


def test_what_metaflow_copies_from_its_registry_reaches_the_pod_as_resolved(
    aws_env: str,
    tmp_path: Path,
) -> None:
    """Metaflow's launchers copy the ``METAFLOW_CONDA_*`` and ``METAFLOW_DEBUG_*`` names
    ``from_conf`` read (an extension's too) into every pod, as they are: a ``$`` in one was
    read as another text by Kubernetes, and Jinja's marks stopped Airflow rendering the DAG's
    tasks (platform5 trial). They are Metaflow's own entries, written as text like the others."""
    value = "chan$$v2$(HOME){#x"
    ext = _acme(tmp_path / "site")
    where = _argo_launch(tmp_path, aws_env, PYTHONPATH=ext)
    profile = tmp_path / "mfhome" / "config.json"
    profile.write_text(json.dumps({**json.loads(profile.read_text()), _CHANNEL: value}))
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    containers = _templates(_workflow(proc.stdout))
    for step in ("start", "end"):  # Metaflow copies them into its steps' containers
        env = pod_environment(containers[step], {"metadata.namespace": "mf-ns"})
        assert env[_CHANNEL] == value, step
    run(where, "--datastore=s3", "airflow", "create", "dag.py")
    text = (where.project / "dag.py").read_text()
    line = next(x for x in text.splitlines() if x.startswith("CONFIG = "))
    for step, state in ast.literal_eval(line[len("CONFIG = ") :])["states"].items():
        env = _rendered(state["operator_args"]["env_vars"])
        assert env[_CHANNEL] == value, step
