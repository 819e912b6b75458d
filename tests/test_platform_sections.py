"""A registered section and the launchers, Runners and the fixture, with the real Metaflow.

What a platform engineer's trial found (each test failed before its fix): a section's secret
key given as text to Argo, Airflow and Kubernetes pods unsaid, and over a mounted Secret; a
Runner (or ``child_env()``) inside ``override(cwd=...)`` reading the working directory's project
file; the fixture not injecting a section's key; a Runner's ``profile=`` inside an ``override()``;
``child_env()`` keeping an old name or a section's key the scope left out. Every flow runs in a
subprocess with its own HOME, METAFLOW_HOME and project folder; S3 is a moto server on
127.0.0.1; no cluster is reached (Argo's ``--only-json``, Airflow's DAG file, the fake cluster).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests._fake_kubernetes import fake_cluster, kubeconfig_env
from tests.test_sections import _install

pytestmark = pytest.mark.slow  # real flows and launches, in subprocesses

PY = sys.executable
BIN = str(Path(PY).parent)
TOKEN = "acme-plaintext-token-4242"


def _flow(start: str, *, decorator: str = "") -> str:
    """A flow file of two steps whose ``start`` runs the lines ``start`` (under ``decorator``)."""
    body = textwrap.indent(textwrap.dedent(start).strip(), " " * 8)
    above = f"    {decorator}\n" if decorator else ""
    return (
        "from metaflow import FlowSpec, kubernetes, step\n\n"
        "class ProbeFlow(FlowSpec):\n"
        f"{above}    @step\n    def start(self):\n{body}\n        self.next(self.end)\n\n"
        "    @step\n    def end(self):\n        pass\n\n"
        'if __name__ == "__main__":\n    ProbeFlow()\n'
    )


FLOW = _flow(
    """
    from metaflow_config import settings
    self.queue = settings.batch.job_queue
    self.retry = settings["METAFLOW_S3_RETRY_COUNT"]
    """
)
#: a start step on Kubernetes, mounting a Secret of its own
K8S_FLOW = _flow("pass", decorator='@kubernetes(secrets=["acme-secret"])')

#: A registered section, as README's "Adding your own settings" declares one.
SECTION = textwrap.dedent(
    """
    from typing import Optional
    from pydantic import SecretStr
    from pydantic_settings import SettingsConfigDict
    from metaflow_config.pydantic import MetaflowBaseSettings

    class Acme(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
        gpu_queue: Optional[str] = None
        api_token: Optional[SecretStr] = None
    """
)


# --- infrastructure -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto(moto_server: str) -> str:
    """The session's moto server, holding the flows' bucket."""
    import boto3

    boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket="mf-bucket")
    return moto_server


def _base_env(tmp: Path, moto_url: str | None = None) -> dict[str, str]:
    home = tmp / "home"
    mfhome = tmp / "mfhome"
    home.mkdir(exist_ok=True)
    mfhome.mkdir(exist_ok=True)
    env = {
        "PATH": f"{BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "USER": "tester",
        "LC_ALL": "C.UTF-8",
        "METAFLOW_HOME": str(mfhome),
    }
    if moto_url:
        env.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": moto_url,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
                "METAFLOW_DEFAULT_DATASTORE": "s3",
                "METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/metaflow",
                "METAFLOW_S3_ENDPOINT_URL": moto_url,
                "METAFLOW_KUBERNETES_NAMESPACE": "mf-ns",
                "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": "mf-sa",
            }
        )
    return env


def _section_package(tmp: Path) -> Path:
    """An installed-like distribution registering the ``Acme`` section (on PYTHONPATH)."""
    root = tmp / "site"
    _install(root, "acme-mf", "acme = acme_mf.config:Acme", SECTION)
    return root


def _project(tmp: Path, flow: str = FLOW) -> Path:
    project = tmp / "project"
    project.mkdir(exist_ok=True)
    (project / "flow.py").write_text(flow)
    return project


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=240, check=False
    )


def _argo(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout[proc.stdout.index("{") :])


def _containers(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t["container"] for t in workflow["spec"]["templates"] if "container" in t}


# --- 1. a registered section's secret field ---------------------------------------------------


def test_registered_secret_is_not_written_silently_into_an_argo_template(
    moto: str, tmp_path: Path
) -> None:
    """A SecretStr field of a registered section, set as text, travels as text into the Argo
    WorkflowTemplate (the tasks need it), and the launch says so, as it does of a built-in
    secret given as text (Metaflow alone writes neither into the template)."""
    env = {
        **_base_env(tmp_path, moto),
        "PYTHONPATH": str(_section_package(tmp_path)),
        "METAFLOW_ACME_API_TOKEN": TOKEN,
    }
    project = _project(tmp_path)
    proc = _run(["flow.py", "argo-workflows", "create", "--only-json"], env, project)
    workflow = _argo(proc)
    assert TOKEN in json.dumps(workflow)  # written as text into the template
    # the launch names it, as it names a built-in secret written as text
    assert "METAFLOW_ACME_API_TOKEN" in proc.stderr, proc.stderr


def test_registered_secret_does_not_override_a_mounted_kubernetes_secret_on_argo(
    moto: str, tmp_path: Path
) -> None:
    """Pods that mount Kubernetes Secrets as environment variables (KUBERNETES_SECRETS) are not
    given the secret settings, a registered section's secret keys included: a plain env entry
    would override what such a Secret supplies under the same name."""
    env = {
        **_base_env(tmp_path, moto),
        "PYTHONPATH": str(_section_package(tmp_path)),
        "METAFLOW_ACME_API_TOKEN": TOKEN,
        "METAFLOW_KUBERNETES_SECRETS": "acme-secret",
    }
    project = _project(tmp_path)
    workflow = _argo(_run(["flow.py", "argo-workflows", "create", "--only-json"], env, project))
    mounted = {n: c for n, c in _containers(workflow).items() if c.get("envFrom")}
    assert mounted  # the step containers mount the Secret
    given = {n: [e["name"] for e in c["env"]] for n, c in mounted.items()}
    assert all("METAFLOW_SERVICE_AUTH_KEY" not in names for names in given.values())  # built-in
    assert {n for n, names in given.items() if "METAFLOW_ACME_API_TOKEN" in names} == set()


def test_registered_secret_is_not_written_silently_into_an_airflow_dag(
    moto: str, tmp_path: Path
) -> None:
    """The same in the DAG file `airflow create` writes: there as text, and said."""
    env = {
        **_base_env(tmp_path, moto),
        "PYTHONPATH": str(_section_package(tmp_path)),
        "METAFLOW_ACME_API_TOKEN": TOKEN,
    }
    project = _project(tmp_path)
    proc = _run(["flow.py", "airflow", "create", "dag.py"], env, project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = (project / "dag.py").read_text()
    line = next(x for x in text.splitlines() if x.startswith("CONFIG = "))
    config = ast.literal_eval(line[len("CONFIG = ") :])
    values = {
        e["name"]: e["value"]
        for state in config["states"].values()
        for e in state["operator_args"]["env_vars"]
    }
    assert values.get("METAFLOW_ACME_API_TOKEN") == TOKEN  # written as text into the DAG
    assert "METAFLOW_ACME_API_TOKEN" in proc.stderr, proc.stderr


def test_registered_secret_does_not_override_a_steps_kubernetes_secret(
    moto: str, tmp_path: Path
) -> None:
    """`run --with kubernetes`, a step with `@kubernetes(secrets=[...])`: the Job's container
    mounts the Secret and is given neither METAFLOW_SERVICE_AUTH_KEY nor the registered secret
    METAFLOW_ACME_API_TOKEN (a plain entry would win over the Secret's)."""
    with fake_cluster(tmp_path / "cluster") as cluster:
        env = {
            **_base_env(tmp_path, moto),
            "PYTHONPATH": str(_section_package(tmp_path)),
            "METAFLOW_ACME_API_TOKEN": TOKEN,
            "METAFLOW_SERVICE_AUTH_KEY": "builtin-key",
            **kubeconfig_env(cluster),
        }
        project = _project(tmp_path, K8S_FLOW)
        _run(["flow.py", "run", "--max-num-splits", "1"], env, project)  # the run's fate is moot
    assert cluster.jobs(), "no Job was created"
    [container] = cluster.jobs()[0]["spec"]["template"]["spec"]["containers"]
    assert container.get("envFrom")  # the step's Secret is mounted
    names = [e["name"] for e in container["env"]]
    assert "METAFLOW_SERVICE_AUTH_KEY" not in names  # a built-in secret is left to the Secret
    assert "METAFLOW_ACME_API_TOKEN" not in names


# --- 2. a Runner (or child_env()) inside override(cwd=...) -------------------------------------

SCOPED_RUN = textwrap.dedent(
    """
    import subprocess, sys
    from pathlib import Path
    from metaflow import Runner
    from metaflow_config import current, override, settings
    from metaflow_config.testing import child_env

    other = Path(sys.argv[1])
    assert settings.batch.job_queue == "cwd-q"          # the working directory's project file
    with override(cwd=other):                           # re-resolve from another project
        assert current().batch.job_queue is None        # ... which sets no queue
        assert current()["METAFLOW_S3_RETRY_COUNT"] == 4
        with Runner("flow.py", show_output=False).run() as running:
            task = running.run["start"].task
            print("RUNNER", task["queue"].data, task["retry"].data)
        done = subprocess.run([sys.executable, "-c",
            "from metaflow_config import settings; print('CHILD', settings.batch.job_queue)"],
            env=child_env(), capture_output=True, text=True)
        print(done.stdout.strip(), done.stderr[-500:])
    """
)


def _trusted_project_file(folder: Path, values: dict[str, Any], home: Path) -> None:
    from metaflow_config.testing import write_local

    write_local(folder, values, trusted_by=home)


def test_a_runner_in_an_override_of_cwd_runs_what_the_scope_resolved(tmp_path: Path) -> None:
    """README: "a metaflow.Runner (or Deployer) made inside a bare override() is given what the
    scope resolved"; child_env() "is the environment a child process (a flow run) needs to
    resolve the snapshot in force". Inside override(cwd=other) the scope resolves other's project
    file (no job queue): the flow's steps and a child_env() process read that one, not the
    working directory's (whose queue is 'cwd-q')."""
    env = _base_env(tmp_path)
    home = Path(env["METAFLOW_HOME"])
    project = _project(tmp_path)
    _trusted_project_file(project, {"BATCH_JOB_QUEUE": "cwd-q"}, home)
    other = tmp_path / "other"
    other.mkdir()
    _trusted_project_file(other, {"S3_RETRY_COUNT": 4}, home)
    (project / "scoped.py").write_text(SCOPED_RUN)
    proc = _run(["scoped.py", str(other)], env, project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RUNNER None 4" in proc.stdout, proc.stdout
    assert "CHILD None" in proc.stdout, proc.stdout


# --- 3. the pytest fixture and marker with a registered section's key ------------------------

SECTION_FLOW = _flow(
    """
    from metaflow_config import settings
    self.gpu_queue = settings["METAFLOW_ACME_GPU_QUEUE"]
    """
)

SECTION_TESTS = textwrap.dedent(
    """
    import pytest
    from metaflow import Runner
    from metaflow_config import override


    def gpu_queue():
        with Runner("flow.py", show_output=False).run() as running:
            assert running.status == "successful"
            return running.run["start"].task["gpu_queue"].data


    def test_override_reaches_the_steps(metaflow_settings):  # passes: the reference
        with override(ACME_GPU_QUEUE="from-override"):
            assert gpu_queue() == "from-override"


    @pytest.mark.metaflow_settings(ACME_GPU_QUEUE="from-marker")
    def test_marker_short_name():
        assert gpu_queue() == "from-marker"


    @pytest.mark.metaflow_settings(METAFLOW_ACME_GPU_QUEUE="from-marker")
    def test_marker_full_name():
        assert gpu_queue() == "from-marker"


    def test_set_short_name(metaflow_settings):
        metaflow_settings.set(ACME_GPU_QUEUE="from-set")
        assert gpu_queue() == "from-set"


    def test_set_full_name(metaflow_settings):
        metaflow_settings.set(METAFLOW_ACME_GPU_QUEUE="from-set")
        assert gpu_queue() == "from-set"
    """
)


def test_the_fixture_and_marker_inject_a_registered_sections_key(tmp_path: Path) -> None:
    """README: a registered section's keys are "injected: override(ACME_GPU_QUEUE="q")", and the
    marker and `metaflow_settings.set()` take "short or full names" as overrides: each of them
    reaches the flow's steps, as override() does (they raised KeyError, "is not a Metaflow
    setting")."""
    env = {**_base_env(tmp_path), "PYTHONPATH": str(_section_package(tmp_path))}
    project = _project(tmp_path, SECTION_FLOW)
    (project / "test_acme.py").write_text(SECTION_TESTS)
    (project / "pytest.ini").write_text("[pytest]\n")
    proc = _run(
        ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "test_acme.py"], env, project
    )
    summary = proc.stdout[-3000:]
    assert "PASSED test_acme.py::test_override_reaches_the_steps" in summary, summary
    assert proc.returncode == 0, summary


# --- 4. Runner(profile=...) inside an unrelated override() -------------------------------------

PROFILE_RUN = textwrap.dedent(
    """
    from metaflow import Runner
    from metaflow_config import override

    def queue(**kwargs):
        with Runner("flow.py", show_output=False, **kwargs).run() as running:
            assert running.status == "successful"
            return running.run["start"].task["queue"].data

    print("PLAIN", queue(profile="other"))
    with override(S3_RETRY_COUNT=4):  # an unrelated setting
        print("SCOPED", queue(profile="other"))
    """
)


def test_a_runners_profile_argument_wins_inside_an_override(tmp_path: Path) -> None:
    """Runner(profile="other") selects config_other.json for the run (Metaflow's Runner sets
    METAFLOW_PROFILE), inside an override() too: the scope is resolved again with that profile,
    so that its values, not the default profile's the scope holds, reach the steps."""
    env = _base_env(tmp_path)
    home = Path(env["METAFLOW_HOME"])
    for name, queue in (("config.json", "default-q"), ("config_other.json", "other-q")):
        (home / name).write_text(json.dumps({"METAFLOW_BATCH_JOB_QUEUE": queue}))
        (home / name).chmod(0o600)
    project = _project(tmp_path)
    (project / "scoped.py").write_text(PROFILE_RUN)
    proc = _run(["scoped.py"], env, project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PLAIN other-q" in proc.stdout, proc.stdout
    assert "SCOPED other-q" in proc.stdout, proc.stdout


# --- 5. show --target / explain --target list the registered keys ---------------------------


def test_show_target_lists_the_registered_keys_a_task_is_given(tmp_path: Path) -> None:
    """`show --target T` is what a task on that target resolves, starting with to_env(T): the
    registered keys it is given are listed (travels), and `explain KEY --target` says so of one,
    as of a built-in setting (both left them out)."""
    env = {
        **_base_env(tmp_path),
        "PYTHONPATH": str(_section_package(tmp_path)),
        "METAFLOW_ACME_GPU_QUEUE": "gpu-q",
    }
    exported = _run(
        ["-c", "from metaflow_config import settings; print(dict(settings.to_env('batch')))"],
        env,
        tmp_path,
    ).stdout
    assert "METAFLOW_ACME_GPU_QUEUE" in exported  # the task is given it
    cli = [f"{BIN}/metaflow-config"]
    assert "METAFLOW_ACME_GPU_QUEUE" in _run([*cli, "show"], env, tmp_path).stdout
    shown = _run([*cli, "show", "--target", "batch", "--json", "--all"], env, tmp_path).stdout
    rows = {row["name"]: row for row in json.loads(shown)["settings"]}
    assert rows["METAFLOW_ACME_GPU_QUEUE"]["from"] == "travels", rows
    explained = _run([*cli, "explain", "ACME_GPU_QUEUE", "--target", "batch"], env, tmp_path)
    assert "on:       an AWS Batch job (batch), from: travels" in explained.stdout, explained


# --- 6. override(env=...) + child_env()/Runner: old names and registered keys stay out ------

ENV_SCOPED = textwrap.dedent(
    """
    import subprocess, sys
    from metaflow import Runner
    from metaflow_config import current, override
    from metaflow_config.testing import child_env

    probe = ("from metaflow_config import settings; "
             "print('CHILD', settings['METAFLOW_ACME_GPU_QUEUE'], settings.datatools.s3root, "
             "settings.batch.job_queue)")
    with override(env={"USER": "tester"}):  # the whole environment: no METAFLOW_* at all
        s = current()
        print("SCOPE", s["METAFLOW_ACME_GPU_QUEUE"], s.datatools.s3root, s.batch.job_queue)
        done = subprocess.run([sys.executable, "-c", probe], env=child_env(),
                              capture_output=True, text=True)
        print(done.stdout.strip())
        with Runner("flow.py", show_output=False).run() as running:
            task = running.run["start"].task
            print("RUNNER", task["gpu_queue"].data, task["s3root"].data, task["queue"].data)
    """
)

ENV_FLOW = _flow(
    """
    from metaflow_config import settings
    self.gpu_queue = settings["METAFLOW_ACME_GPU_QUEUE"]
    self.s3root = settings.datatools.s3root
    self.queue = settings.batch.job_queue
    """
)


def test_child_env_of_an_env_override_leaves_out_old_names_and_registered_keys(
    tmp_path: Path,
) -> None:
    """override(env={...}) resolves from that environment alone. child_env() (and a Runner made
    in the scope) blank out every os.environ variable the scope leaves out that a child would
    apply: an alias (METAFLOW_JOB_QUEUE_NAME), an old name (METAFLOW_DATATOOLS_SYSROOT_S3,
    applied as DATATOOLS_S3ROOT) and a registered section's key (METAFLOW_ACME_GPU_QUEUE)."""
    env = {
        **_base_env(tmp_path),
        "PYTHONPATH": str(_section_package(tmp_path)),
        "METAFLOW_ACME_GPU_QUEUE": "outer-gpu-q",
        "METAFLOW_DATATOOLS_SYSROOT_S3": "s3://outer-bucket/data",
        "METAFLOW_JOB_QUEUE_NAME": "outer-q",
    }
    project = _project(tmp_path, ENV_FLOW)
    (project / "scoped.py").write_text(ENV_SCOPED)
    proc = _run(["-W", "ignore", "scoped.py"], env, project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SCOPE None None None" in proc.stdout, proc.stdout

    assert "CHILD None None None" in proc.stdout, proc.stdout
    assert "RUNNER None None None" in proc.stdout, proc.stdout


# --- 7. show --target: what Metaflow's pod launchers write themselves ---------------------------

#: names Metaflow itself writes into every pod, listed in the skip list
_SKIPPED = "METAFLOW_DATASTORE_SYSROOT_S3,METAFLOW_USER"
#: settings whose task value depends on what Metaflow writes
_WATCHED = (
    "METAFLOW_DATASTORE_SYSROOT_S3",
    "METAFLOW_DATATOOLS_S3ROOT",
    "METAFLOW_CARD_S3ROOT",
    "METAFLOW_USER",
)


def _pod_env(target: str, env: dict[str, str], project: Path, tmp: Path) -> dict[str, str]:
    """The environment of the `end` step's container, as the target's launcher builds it."""
    if target == "airflow":
        done = _run(["flow.py", "airflow", "create", str(tmp / "dag.py")], env, project)
        assert done.returncode == 0, done.stderr
        line = next(x for x in (tmp / "dag.py").read_text().splitlines() if x.startswith("CONFIG"))
        config = ast.literal_eval(line.partition("=")[2].strip())
        return {e["name"]: e["value"] for e in config["states"]["end"]["operator_args"]["env_vars"]}
    if target == "argo":
        done = _run(["flow.py", "argo-workflows", "create", "--only-json"], env, project)
        [end] = [t for t in _argo(done)["spec"]["templates"] if t["name"] == "end"]
        return {
            e["name"]: e["value"] for e in end["container"]["env"] if e.get("value") is not None
        }
    with fake_cluster(tmp / "cluster") as cluster:
        _run(
            ["flow.py", "run", "--with", "kubernetes"], {**env, **kubeconfig_env(cluster)}, project
        )
    [container] = cluster.jobs()[0]["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"] if e.get("value") is not None}


@pytest.mark.parametrize("target", ["kubernetes", "argo", "airflow"])
def test_show_target_agrees_with_the_pod_when_the_skip_list_names_metaflows_own(
    moto: str, tmp_path: Path, target: str
) -> None:
    """ARGO_WORKFLOWS_ENV_VARS_TO_SKIP naming what Metaflow writes itself: Argo's templates leave
    those out, Kubernetes' and Airflow's launchers write them anyway, and Metaflow writes the
    derived roots (and, on Argo and Airflow, USER) whatever the skip list leaves out. `show
    --target` says what a fresh process resolves from exactly the pod's environment (it called
    them left out, and the roots unset)."""
    env = {**_base_env(tmp_path, moto), "METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP": _SKIPPED}
    project = _project(tmp_path)
    pod = _pod_env(target, env, project, tmp_path)
    probe = (
        "import json\nfrom metaflow_config import load\ns = load()\n"
        f"print(json.dumps({{n: s[n] for n in {_WATCHED!r}}}))\n"
    )
    task_home = tmp_path / "task"
    task_home.mkdir()
    resolved = _run(["-c", probe], {**pod, "PATH": env["PATH"], "HOME": str(task_home)}, task_home)
    in_task = json.loads(resolved.stdout)
    rows = _shown(target, env, project)
    said = {n: None if rows[n]["value"] in ("(unset)", "") else rows[n]["value"] for n in _WATCHED}
    assert said == in_task, (said, in_task)
    if target != "argo":  # written by Metaflow, whatever the skip list says
        assert rows["METAFLOW_DATASTORE_SYSROOT_S3"]["from"] == "metaflow", rows


_SSE = "METAFLOW_S3_SERVER_SIDE_ENCRYPTION"


def _shown(target: str, env: dict[str, str], project: Path) -> dict[str, dict[str, str]]:
    """`show --target T --all --json`'s rows, by name."""
    shown = _run(
        [f"{BIN}/metaflow-config", "show", "--target", target, "--all", "--json"], env, project
    )
    return {r["name"]: r for r in json.loads(shown.stdout)["settings"]}


@pytest.mark.parametrize(
    ("target", "skipped", "name", "in_pod"),
    [
        # Metaflow writes METAFLOW_SERVICE_URL from the internal URL, skip list or not
        ("kubernetes", "METAFLOW_SERVICE_URL", "METAFLOW_SERVICE_URL", "http://internal.svc/api"),
        ("airflow", "METAFLOW_SERVICE_URL", "METAFLOW_SERVICE_URL", "http://internal.svc/api"),
        # Airflow's launcher writes no server-side encryption: skip-listed, it is left out
        (
            "airflow",
            "METAFLOW_S3_SERVER_SIDE_ENCRYPTION",
            "METAFLOW_S3_SERVER_SIDE_ENCRYPTION",
            None,
        ),
        # Argo's templates leave out every name the list holds, USER (the runtime's) too
        ("argo", "METAFLOW_USER,USER", "METAFLOW_USER", None),
    ],
)
def test_show_target_says_what_metaflow_writes_under_its_own_rules(
    moto: str, tmp_path: Path, target: str, skipped: str, name: str, in_pod: str | None
) -> None:
    """What each launcher writes, under the name and from the value it writes it with: `show
    --target` agrees with the pod (a review found the public URL said, Airflow said to write
    encryption it does not, and Argo's USER said given where the list names it)."""
    env = {
        **_base_env(tmp_path, moto),
        "METAFLOW_SERVICE_URL": "https://public.example/api",
        "METAFLOW_SERVICE_INTERNAL_URL": "http://internal.svc/api",
        "METAFLOW_S3_SERVER_SIDE_ENCRYPTION": "aws:kms",
        "METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP": skipped,
    }
    project = _project(tmp_path)
    pod = _pod_env(target, env, project, tmp_path)
    assert pod.get(name) == in_pod, pod
    row = _shown(target, env, project)[name]
    assert (None if row["value"] in ("(unset)", "") else row["value"]) == in_pod, row
