"""Kubernetes, Argo Workflows and Airflow tasks resolve what the launcher resolved.

The real ``metaflow`` with the extension, on moto (S3, SSM) and a fake Kubernetes API server
(``tests/_fake_kubernetes.py``): ``run --with kubernetes`` creates its Jobs there, and the
server runs each Job's command locally from the captured pod spec, as the pod would; a
``@parallel`` step's JobSet is captured the same way. ``argo-workflows create --only-json`` prints
the WorkflowTemplate and ``airflow create`` writes the DAG file: no cluster is needed. Each
task's environment is then resolved alone (``load(env=<the pod's environment>)``, no profile, no
project) and compared with the launcher's resolution, setting by setting.
"""

from __future__ import annotations

import ast
import http.server
import json
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigWarning, Settings, load
from metaflow_config._model.table import BY_ENV, FIELDS
from metaflow_config._model.values import thaw
from metaflow_config._snapshot.settings import resolution_of
from tests._fake_kubernetes import expand, fake_cluster, kubeconfig_env, pod_environment
from tests._strategies import travels
from tests.test_metaflow_flows import (
    FLOW,
    SYSROOT,
    Launch,
    _aws_env,
    _aws_launch,
    _boto,
    launch,
    plain,
    reports,
    run,
)

pytestmark = [pytest.mark.slow, pytest.mark.aws]

PARALLEL_FLOW = FLOW.parent / "parallel_flow.py"
SECRET = "plaintext-api-key-4242"
REFERENCE = "{{resolve:ssm:/mf/api-key}}"
DECORATED = "from-environment-decorator"

#: A profile as `configure aws` writes it, with values Metaflow itself never copies into a pod.
PROFILE: dict[str, Any] = {
    "METAFLOW_DEFAULT_DATASTORE": "local",  # the runs say --datastore=s3: Metaflow's value wins
    "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
    "METAFLOW_DATATOOLS_SUFFIX": "from-profile",
    "METAFLOW_S3_RETRY_COUNT": 3,
    "METAFLOW_S3_WORKER_COUNT": 16,
    "METAFLOW_CLIENT_CACHE_MAX_SIZE": 500,
    "METAFLOW_CARD_NO_WARNING": True,
    "METAFLOW_BATCH_JOB_QUEUE": "mf-queue",
    "METAFLOW_DATATOOLS_CLIENT_PARAMS": {"region_name": "us-east-1"},
    "METAFLOW_S3_SERVER_SIDE_ENCRYPTION": "AES256",
    "METAFLOW_KUBERNETES_NAMESPACE": "mf-ns",
    "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": "mf-sa",
    "METAFLOW_CONTACT_INFO": {"Slack": "#ml $(HOME) $$"},  # what Kubernetes would expand
    "METAFLOW_SERVICE_AUTH_KEY": REFERENCE,
    "METAFLOW_DEBUG_S3CLIENT": "off",
}


def _launch(tmp_path: Path, endpoint: str, **env: str) -> Launch:
    _boto(endpoint, "s3").create_bucket(Bucket="mf-bucket")
    ssm = _boto(endpoint, "ssm")
    ssm.put_parameter(Name="/mf/api-key", Value=SECRET, Type="SecureString", Overwrite=True)
    return launch(
        tmp_path,
        {
            **_aws_env(endpoint),
            "METAFLOW_S3_ENDPOINT_URL": endpoint,
            "PROBE_ENVIRONMENT_SUFFIX": DECORATED,
            **env,
        },
        profile=PROFILE,
    )


def _argo_launch(tmp_path: Path, endpoint: str, **env: str) -> Launch:
    """A launch for Argo: the auth key as text, since Argo refuses the reference (see
    test_argo_refuses_a_secret_reference)."""
    return _launch(tmp_path, endpoint, **{"METAFLOW_SERVICE_AUTH_KEY": SECRET, **env})


def _launcher(where: Launch, step: str) -> Settings:
    """What the process that launches ``step`` resolves (it holds the step's @environment)."""
    env = dict(where.env)
    if step == "start":
        env["METAFLOW_DATATOOLS_SUFFIX"] = DECORATED
    return load(env=env, cwd=where.project)


def _raw(s: Settings) -> dict[str, Any]:
    """Every setting of ``s`` as resolved, a secret reference as the reference (nothing fetched)."""
    values = resolution_of(s).values
    return {f.env: thaw(values[f.name]) for f in FIELDS}


def _alone(env: dict[str, str], tmp_path: Path) -> Settings:
    """What a fresh process resolves from ``env`` alone: no profile, no project file."""
    empty = tmp_path / "alone"
    empty.mkdir(exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)  # Metaflow's own task variables
        return load(env=env, home=empty, cwd=empty, profile="")


def _compare(fresh: Settings, launcher: Settings, target: str, **metaflows: Any) -> None:
    """``fresh`` resolves as ``launcher`` on every travelling setting, but ``metaflows``'s."""
    ours, theirs = _raw(fresh), _raw(launcher)
    theirs.update(metaflows)
    differing = {
        name: (ours[name], theirs[name])
        for name in ours
        if travels(BY_ENV[name], target) and ours[name] != theirs[name]
    }
    assert differing == {}
    assert ours["METAFLOW_SERVICE_URL"] == theirs["METAFLOW_SERVICE_INTERNAL_URL"]


def _no_plaintext(text: str) -> None:
    assert SECRET not in text
    assert "{{resolve:ssm:/mf/api-key}}" in text  # the reference travels instead


# --- run --with kubernetes ---------------------------------------------------------------------


def test_kubernetes_pods_resolve_what_the_launcher_resolved(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each Job's pod gets to_env('kubernetes'); resolved alone it gives the launcher's values;
    run from the captured spec, the task sees them in Metaflow's module and in settings."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)  # the test reads the reference too
    where = _launch(tmp_path, aws_env)
    with fake_cluster(tmp_path / "cluster", run=True, **_image(where, tmp_path)) as cluster:
        proc = run(
            where, "--datastore=s3", "run", "--with", "kubernetes", env=kubeconfig_env(cluster)
        )
    assert len(cluster.jobs()) == 2, proc.stdout + proc.stderr
    steps = {}
    for job in cluster.jobs():
        _no_plaintext(json.dumps(job))
        assert job["metadata"]["namespace"] == "mf-ns"
        [c] = job["spec"]["template"]["spec"]["containers"]
        steps[_step_of(c)] = c
    assert set(steps) == {"start", "end"}
    for step, c in steps.items():
        launcher = _launcher(where, step)
        exported = launcher.to_env("kubernetes")
        entries = {e["name"]: e for e in c["env"]}
        names = [e["name"] for e in c["env"]]
        assert len(names) == len(set(names)), "a name given twice"
        # Kubernetes fills the namespace from the pod; Metaflow's own names keep their values
        assert entries["METAFLOW_KUBERNETES_NAMESPACE"]["valueFrom"]["fieldRef"] == {
            "fieldPath": "metadata.namespace"
        }
        assert entries["METAFLOW_DEFAULT_DATASTORE"]["value"] == "s3"
        assert entries["METAFLOW_DEBUG_S3CLIENT"]["value"] == "false"
        if step == "start":
            assert entries["METAFLOW_DATATOOLS_SUFFIX"]["value"] == DECORATED
        assert "METAFLOW_SERVICE_HEADERS" not in entries  # it held the fetched key
        missing = set(exported) - set(entries)
        assert missing == set()
        fields = {"metadata.namespace": "mf-ns"}
        env = pod_environment(c, fields)
        assert env["METAFLOW_CONTACT_INFO"] == exported["METAFLOW_CONTACT_INFO"]  # $ escaped
        _compare(_alone(env, tmp_path), launcher, "kubernetes", METAFLOW_DEFAULT_DATASTORE="s3")
    seen = reports("\n".join(cluster.outputs))
    assert set(seen) == {"start", "end"}, cluster.outputs
    for step, report in seen.items():
        assert report["differing"] == []
        launcher = plain(_launcher(where, step))
        launcher.update(METAFLOW_DEFAULT_DATASTORE="s3")
        assert {
            k: v for k, v in report["settings"].items() if travels(BY_ENV[k], "kubernetes")
        } == {k: v for k, v in launcher.items() if travels(BY_ENV[k], "kubernetes")}
        assert report["settings"]["METAFLOW_S3_RETRY_COUNT"] == 3
        assert report["settings"]["METAFLOW_SERVICE_AUTH_KEY"] == SECRET  # fetched in the task


def test_a_local_run_with_kubernetes_says_its_launch_warning_once(
    aws_env: str, tmp_path: Path
) -> None:
    """``run --with kubernetes`` launches each task from a process of its own: a secret given to
    the pods as text was said by each (siblings do not share what was said). The run says it
    once, first, and its tasks inherit that it was said."""
    params = json.dumps({"region_name": "us-east-1"})  # a secret setting, as text
    where = _launch(tmp_path, aws_env, METAFLOW_DATATOOLS_CLIENT_PARAMS=params)
    with fake_cluster(tmp_path / "cluster", run=True, **_image(where, tmp_path)) as cluster:
        proc = run(
            where, "--datastore=s3", "run", "--with", "kubernetes", env=kubeconfig_env(cluster)
        )
    assert len(cluster.jobs()) == 2, proc.stdout + proc.stderr  # two tasks, two launches
    said = (proc.stdout + proc.stderr).count(
        "METAFLOW_DATATOOLS_CLIENT_PARAMS is secret, and written as text"
    )
    assert said == 1, proc.stdout + proc.stderr


def _image(where: Launch, tmp_path: Path) -> dict[str, str]:
    """What a pod's image and role add to its environment."""
    return {
        **_aws_env(where.env["AWS_ENDPOINT_URL"]),
        "PATH": where.env["PATH"],
        "HOME": str(tmp_path / "pod-home"),
        "METAFLOW_SKIP_INSTALL_DEPENDENCIES": "1",  # the image has the packages
    }


def _step_of(container: dict[str, Any]) -> str:
    """The step a Metaflow container runs (its command says ``step <name>``)."""
    words = " ".join(container["command"]).split()
    return words[words.index("step") + 1]


def test_a_jobset_carries_the_settings_in_both_replicated_jobs(
    aws_env: str, tmp_path: Path
) -> None:
    """@parallel on Kubernetes is a JobSet: control and workers get to_env('kubernetes')."""
    where = _launch(tmp_path, aws_env)
    parallel = Launch(where.env, where.project)
    (where.project / FLOW.name).write_text(PARALLEL_FLOW.read_text())  # the flow run below
    with fake_cluster(tmp_path / "cluster", run=True, **_image(where, tmp_path)) as cluster:
        # start runs as a Job; the fake server does not answer a JobSet's status: the run
        # fails once the JobSet of train is created
        run(
            parallel,
            "--datastore=s3",
            "run",
            "--with",
            "kubernetes",
            env=kubeconfig_env(cluster),
            check=False,
        )
    [jobset] = cluster.jobsets()
    _no_plaintext(json.dumps(jobset))
    exported = _launcher(where, "train").to_env("kubernetes")
    replicated = jobset["spec"]["replicatedJobs"]
    assert [r["name"] for r in replicated] == ["control", "worker"]
    for job in replicated:
        [c] = job["template"]["spec"]["template"]["spec"]["containers"]
        entries = {e["name"]: e for e in c["env"]}
        assert set(exported) - set(entries) == set()
        assert "valueFrom" in entries["METAFLOW_KUBERNETES_NAMESPACE"]
        assert (
            expand(entries["METAFLOW_CONTACT_INFO"]["value"], {})
            == (exported["METAFLOW_CONTACT_INFO"])
        )


def _decorated(step: str) -> dict[str, str]:
    """What ``start``'s @environment sets in its task (Metaflow sets the data root itself)."""
    return {"METAFLOW_DATATOOLS_SUFFIX": DECORATED} if step == "start" else {}


# --- Argo Workflows ----------------------------------------------------------------------------


def _templates(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t["container"] for t in workflow["spec"]["templates"] if "container" in t}


def test_argo_templates_carry_the_settings(aws_env: str, tmp_path: Path) -> None:
    """Every container template of the WorkflowTemplate gets to_env('argo'): the step
    containers and the error-capture hook; Metaflow's own names keep their values."""
    where = _argo_launch(tmp_path, aws_env)
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    workflow = json.loads(proc.stdout[proc.stdout.index("{") :])
    containers = _templates(workflow)
    assert {"start", "end", "error-msg-capture-hook"} <= set(containers)
    launcher = _launcher(where, "end")  # `argo-workflows create` runs no step's @environment
    exported = launcher.to_env("argo")
    for name, c in containers.items():
        entries = {e["name"]: e for e in c["env"]}
        assert set(exported) - set(entries) == set(), name
        assert entries["METAFLOW_USER"]["value"] == "argo-workflows"  # a production run's user
        if name == "error-msg-capture-hook":
            continue
        assert "valueFrom" in entries["METAFLOW_KUBERNETES_NAMESPACE"]
        env = pod_environment(c, {"metadata.namespace": "mf-ns"})
        _compare(
            _alone(env, tmp_path),
            launcher,
            "argo",
            METAFLOW_DEFAULT_DATASTORE="s3",
            METAFLOW_USER="argo-workflows",
            METAFLOW_SERVICE_HEADERS={"x-api-key": SECRET},  # Metaflow merges the key in
            **_decorated(name),
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METAFLOW_SERVICE_URL", "https://svc.example.com/api/$$v1/$(HOME)"),
        ("METAFLOW_SERVICE_HEADERS", '{"x-team-token": "ab$$cd$(HOME)"}'),
    ],
)
def test_a_dollar_in_what_metaflow_writes_into_a_pod_reaches_the_task_as_resolved(
    aws_env: str, tmp_path: Path, name: str, value: str
) -> None:
    """Metaflow writes the service URL and headers into a pod as they are: Kubernetes read
    ``$$`` as ``$`` and expanded ``$(HOME)``, and the task resolved another URL or header than
    the launcher (Metaflow alone too). Each ``$`` of Metaflow's own entries is now ``$$``."""
    where = _argo_launch(tmp_path, aws_env, **{name: value})
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    workflow = json.loads(proc.stdout[proc.stdout.index("{") :])
    container = _templates(workflow)["end"]
    env = pod_environment(container, {"metadata.namespace": "mf-ns"})
    launcher = _launcher(where, "end")
    task = _alone(env, tmp_path)
    if name == "METAFLOW_SERVICE_URL":
        assert task.service.url == launcher.service.url == value
    else:
        assert task.service.headers["x-team-token"] == "ab$$cd$(HOME)"


def test_argo_honours_the_skip_list_and_kubernetes_secrets(aws_env: str, tmp_path: Path) -> None:
    """ARGO_WORKFLOWS_ENV_VARS_TO_SKIP stays out; with Kubernetes Secrets mounted the secret
    settings are left to them (an entry would override what the Secret supplies)."""
    where = _argo_launch(
        tmp_path,
        aws_env,
        METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP="METAFLOW_CONTACT_INFO",
        METAFLOW_KUBERNETES_SECRETS="mf-secrets",
    )
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    workflow = json.loads(proc.stdout[proc.stdout.index("{") :])
    for name, c in _templates(workflow).items():
        entries = {e["name"] for e in c["env"]}
        assert "METAFLOW_CONTACT_INFO" not in entries, name
        if c.get("envFrom"):
            assert "METAFLOW_SERVICE_AUTH_KEY" not in entries, name
            assert "METAFLOW_S3_RETRY_COUNT" in entries, name
        else:
            assert "METAFLOW_SERVICE_AUTH_KEY" in entries, name
    assert any(c.get("envFrom") for c in _templates(workflow).values())


def test_argo_refuses_a_secret_reference(aws_env: str, tmp_path: Path) -> None:
    """Argo reads ``{{...}}`` as its own variable and refuses a workflow holding one it does not
    know: a secret reference is refused at create, saying how to give the secret to the pods;
    mounted as a Kubernetes Secret and skipped, the template is made, with no reference."""
    where = _launch(tmp_path, aws_env)
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json", check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    said = proc.stdout + proc.stderr
    assert "METAFLOW_SERVICE_AUTH_KEY" in said
    assert "METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP" in said
    assert SECRET not in said
    where = _launch(
        tmp_path / "skipped",
        aws_env,
        METAFLOW_KUBERNETES_SECRETS="mf-secrets",
        METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP="METAFLOW_SERVICE_AUTH_KEY",
    )
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    assert "{{resolve" not in proc.stdout
    assert SECRET not in proc.stdout


def test_an_argo_jobset_manifest_carries_the_settings(aws_env: str, tmp_path: Path) -> None:
    """An Argo @parallel step's JobSet manifest (YAML): both jobs get to_env('argo')."""
    import yaml

    where = _argo_launch(tmp_path, aws_env)
    (where.project / FLOW.name).write_text(PARALLEL_FLOW.read_text())
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    workflow = json.loads(proc.stdout[proc.stdout.index("{") :])
    [manifest] = [
        t["resource"]["manifest"] for t in workflow["spec"]["templates"] if "resource" in t
    ]
    count = "{{=asInt(inputs.parameters.workerCount)}}"  # unquoted by Metaflow on purpose
    jobset = yaml.safe_load(manifest.replace(count, repr(count)))
    exported = _launcher(where, "end").to_env("argo")
    for job in jobset["spec"]["replicatedJobs"]:
        [c] = job["template"]["spec"]["template"]["spec"]["containers"]
        entries = {e["name"]: e for e in c["env"]}
        assert set(exported) - set(entries) == set(), job["name"]
        assert entries["METAFLOW_S3_RETRY_COUNT"]["value"] == "3"


def test_argo_refuses_a_template_over_its_size(aws_env: str, tmp_path: Path) -> None:
    """A WorkflowTemplate over Argo's 1 MiB is refused at create, readably, values unshown."""
    big = json.dumps({"x": "y" * 120_000})
    where = _argo_launch(
        tmp_path,
        aws_env,
        METAFLOW_CONTACT_INFO=big,
        METAFLOW_SPIN_DISALLOWED_DECORATORS=json.dumps(["z" * 120_000]),
        METAFLOW_SPIN_ALLOWED_DECORATORS=json.dumps(["y" * 120_000]),
    )
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json", check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "1048576" in proc.stderr
    assert "METAFLOW_CONTACT_INFO" in proc.stderr
    assert "y" * 100 not in proc.stderr + proc.stdout


def test_the_deployer_gets_the_same_template(aws_env: str, tmp_path: Path) -> None:
    """Deployer(...).argo_workflows().create(only_json=True) holds the settings too."""
    where = _argo_launch(tmp_path, aws_env)
    code = (
        "import json\nfrom metaflow import Deployer\n"
        f"d = Deployer({str(where.flow)!r}, show_output=False, datastore='s3')"
        ".argo_workflows().create(only_json=True)\n"
        "print(json.dumps(d.workflow_template))\n"
    )
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=where.env,
        cwd=where.project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    workflow = json.loads(proc.stdout.strip().splitlines()[-1])
    exported = _launcher(where, "end").to_env("argo")
    entries = {e["name"] for e in _templates(workflow)["end"]["env"]}
    assert set(exported) - entries == set()


# --- Airflow -----------------------------------------------------------------------------------


class _Airflow:
    """What Airflow passes to a template (a task instance, a DAG run): anything goes."""

    def __getattr__(self, name: str) -> _Airflow:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> _Airflow:
        return self

    def __sub__(self, other: Any) -> int:
        return 0

    def __str__(self) -> str:
        return "airflow"


def test_airflow_tasks_carry_the_settings(aws_env: str, tmp_path: Path) -> None:
    """airflow create: every task's env_vars get to_env('airflow'), kept out of Jinja; resolved
    alone after Airflow's rendering they give the launcher's values."""
    import jinja2

    where = _launch(tmp_path, aws_env)
    run(where, "--datastore=s3", "airflow", "create", "dag.py")
    text = (where.project / "dag.py").read_text()
    _no_plaintext(text)
    line = next(x for x in text.splitlines() if x.startswith("CONFIG = "))
    config = ast.literal_eval(line[len("CONFIG = ") :])
    assert set(config["states"]) == {"start", "end"}
    launcher = _launcher(where, "end")  # `airflow create` runs no step's @environment
    exported = launcher.to_env("airflow")
    for step, state in config["states"].items():
        entries = state["operator_args"]["env_vars"]
        names = {e["name"] for e in entries}
        assert set(exported) - names == set(), step
        assert "METAFLOW_SERVICE_HEADERS" not in names
        jinja = jinja2.Environment(undefined=jinja2.ChainableUndefined, autoescape=False)  # noqa: S701
        for name in ("json_dump", "run_id_creator", "task_id_creator", "join_list"):
            jinja.filters[name] = str  # the filters of Metaflow's own macros
        airflow = {"task_instance": _Airflow(), "ti": _Airflow(), "dag_run": _Airflow()}
        rendered = {}
        for e in entries:  # Airflow renders each value, then Kubernetes expands it
            text = jinja.from_string(e["value"]).render(**airflow)
            rendered[e["name"]] = expand(text, rendered)
        assert rendered["METAFLOW_SERVICE_AUTH_KEY"] == REFERENCE
        assert rendered["METAFLOW_KUBERNETES_NAMESPACE"] == "mf-ns"  # Airflow has no downward one
        _compare(
            _alone(rendered, tmp_path),
            launcher,
            "airflow",
            METAFLOW_DEFAULT_DATASTORE="s3",
            METAFLOW_DEFAULT_METADATA="service",  # Metaflow's Airflow tasks always say so
            **_decorated(step),
        )


def _start_decorated(imported: str, decorator: str) -> str:
    """A two-step flow whose ``start`` step carries ``decorator`` (``imported`` from metaflow)."""
    return (
        f"from metaflow import FlowSpec, {imported}, step\n\n\n"
        "class ProbeFlow(FlowSpec):\n"
        f"    {decorator}\n"
        "    @step\n"
        "    def start(self):\n"
        "        self.next(self.end)\n\n"
        "    @step\n"
        "    def end(self):\n"
        "        pass\n\n\n"
        'if __name__ == "__main__":\n'
        "    ProbeFlow()\n"
    )


_STEP_SECRET_FLOW = _start_decorated("kubernetes", '@kubernetes(secrets=["db-credentials"])')


def test_a_steps_own_secrets_keep_the_reference_and_say_the_rest(
    aws_env: str, tmp_path: Path
) -> None:
    """A step mounting a Secret of its own (``@kubernetes(secrets=["db-credentials"])``, a
    database password) got neither the auth key's reference nor Metaflow's headers entry
    (removed: it held the fetched key), silently: its task resolved no auth key (pods trial).
    The reference is given (no Secret replaces it); a plain-text secret left to the step's
    Secrets is said, once."""
    where = _launch(tmp_path, aws_env)
    where.flow.write_text(_STEP_SECRET_FLOW)
    proc = run(where, "--datastore=s3", "airflow", "create", "dag.py")
    text = (where.project / "dag.py").read_text()
    line = next(x for x in text.splitlines() if x.startswith("CONFIG = "))
    states = ast.literal_eval(line[len("CONFIG = ") :])["states"]
    start = states["start"]["operator_args"]
    assert start["secrets"] == ["db-credentials"]
    given = {e["name"]: e["value"] for e in start["env_vars"]}
    assert "resolve:ssm:/mf/api-key" in given["METAFLOW_SERVICE_AUTH_KEY"]
    assert "METAFLOW_DATATOOLS_CLIENT_PARAMS" not in given  # left to the step's Secrets ...
    said = proc.stdout + proc.stderr
    assert "METAFLOW_DATATOOLS_CLIENT_PARAMS is set here and not given to the pods of steps" in (
        said
    )  # ... and said
    assert "METAFLOW_DATATOOLS_CLIENT_PARAMS" in {
        e["name"] for e in states["end"]["operator_args"]["env_vars"]
    }


_ALIAS_FLOW = _start_decorated(
    "environment", '@environment(vars={"METAFLOW_JOB_QUEUE_NAME": "gpu-from-decorator"})'
)


def test_an_environment_alias_is_its_setting_in_the_pod(aws_env: str, tmp_path: Path) -> None:
    """A step's ``@environment(vars={"METAFLOW_JOB_QUEUE_NAME": ...})`` (README's alias of the
    job queue) won in the launcher; the pod was also given ``METAFLOW_BATCH_JOB_QUEUE`` from the
    profile, whose own name won in the task (pods trial). The alias counts as its setting."""
    where = _argo_launch(tmp_path, aws_env)
    where.flow.write_text(_ALIAS_FLOW)
    proc = run(where, "--datastore=s3", "argo-workflows", "create", "--only-json")
    containers = _templates(json.loads(proc.stdout[proc.stdout.index("{") :]))
    start = {e["name"]: e.get("value") for e in containers["start"]["env"]}
    assert start["METAFLOW_JOB_QUEUE_NAME"] == "gpu-from-decorator"
    assert "METAFLOW_BATCH_JOB_QUEUE" not in start
    alone = _alone(pod_environment(containers["start"], {"metadata.namespace": "mf-ns"}), tmp_path)
    assert alone.batch.job_queue == "gpu-from-decorator"
    end = {e["name"]: e.get("value") for e in containers["end"]["env"]}
    assert end["METAFLOW_BATCH_JOB_QUEUE"] == "mf-queue"


@pytest.mark.parametrize(
    "urls",
    [
        {
            "METAFLOW_SERVICE_URL": "https://svc.example.com/api",
            "METAFLOW_SERVICE_INTERNAL_URL": "http://mf:Pa55word@svc.internal/api",
        },
        {"METAFLOW_SERVICE_URL": "https://tok3nvalue@svc.example.com/api"},
    ],
    ids=["internal-url-password", "public-url-token"],
)
def test_airflow_writes_a_urls_password_not_its_masked_repr(
    aws_env: str, tmp_path: Path, urls: dict[str, str]
) -> None:
    """Metaflow writes the DAG by ``str()`` of its dict, each value by its ``repr``: the URL
    of Metaflow's module (a ``PasswordURL``, whose ``repr`` masks it) went in as ``****``, and
    every Airflow task would send that password to the service. The DAG holds the URL."""
    where = _launch(tmp_path, aws_env, **urls)
    run(where, "--datastore=s3", "airflow", "create", "dag.py")
    text = (where.project / "dag.py").read_text()
    line = next(x for x in text.splitlines() if x.startswith("CONFIG = "))
    config = ast.literal_eval(line[len("CONFIG = ") :])
    expected = urls.get("METAFLOW_SERVICE_INTERNAL_URL", urls["METAFLOW_SERVICE_URL"])
    for step, state in config["states"].items():
        entries = {e["name"]: e["value"] for e in state["operator_args"]["env_vars"]}
        assert entries["METAFLOW_SERVICE_URL"] == expected, step


# --- AWS Batch and Step Functions: no fetched secret either --------------------------------------


def _states_environments(proc: Any) -> list[dict[str, Any]]:
    """The environment of each state of ``step-functions create --only-json``'s machine (no
    plain-text secret printed anywhere in it)."""
    _no_plaintext(proc.stdout)
    machine = json.loads(proc.stdout[proc.stdout.index("{") :])
    return [
        {e["Name"]: e.get("Value") for e in overrides["ContainerOverrides"]["Environment"]}
        for overrides in (machine["States"][s]["Parameters"] for s in ("start", "end"))
    ]


class _SandboxAuth(http.server.BaseHTTPRequestHandler):
    """Metaflow's sandbox client provider asks ``<SERVICE_URL>/auth/token`` for credentials."""

    def do_GET(self) -> None:
        body = json.dumps(
            {
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
                "region_name": "us-east-1",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_sandbox_key_reference_is_not_written_fetched(aws_env: str, tmp_path: Path) -> None:
    """With the sandbox on, Metaflow merges ``AWS_SANDBOX_API_KEY`` into its headers entry as
    ``x-api-key``: a reference there was written fetched into every state (attacker trial).
    Replaced as the auth key's is; the reference travels and the task fetches it."""
    _boto(aws_env, "ssm").put_parameter(Name="/mf/api-key", Value=SECRET, Type="SecureString")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SandboxAuth)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        where = _aws_launch(
            tmp_path,
            aws_env,
            METAFLOW_AWS_SANDBOX_ENABLED="1",
            METAFLOW_AWS_SANDBOX_REGION="us-east-1",
            METAFLOW_AWS_SANDBOX_API_KEY=REFERENCE,
            METAFLOW_SERVICE_URL=f"http://127.0.0.1:{server.server_address[1]}",
            METAFLOW_AWS_SANDBOX_INTERNAL_SERVICE_URL="https://mf-internal.example.com",
            METAFLOW_AWS_SANDBOX_STACK_NAME="sbx",
        )
        proc = run(where, "--datastore=s3", "step-functions", "create", "--only-json")
    finally:
        server.shutdown()
        server.server_close()
    for env in _states_environments(proc):
        assert env["METAFLOW_AWS_SANDBOX_API_KEY"] == REFERENCE
        assert SECRET not in (env.get("METAFLOW_SERVICE_HEADERS") or "")


def test_a_state_machine_carries_the_reference_not_the_secret(aws_env: str, tmp_path: Path) -> None:
    """Metaflow builds METAFLOW_SERVICE_HEADERS with the fetched auth key merged in: in a state
    machine (hence a Batch job) it is replaced; the reference travels and the task fetches it."""
    _boto(aws_env, "ssm").put_parameter(Name="/mf/api-key", Value=SECRET, Type="SecureString")
    where = _aws_launch(tmp_path, aws_env, METAFLOW_SERVICE_AUTH_KEY=REFERENCE)
    proc = run(where, "--datastore=s3", "step-functions", "create", "--only-json")
    for env in _states_environments(proc):
        assert env["METAFLOW_SERVICE_AUTH_KEY"] == REFERENCE
        assert "METAFLOW_SERVICE_HEADERS" not in env
