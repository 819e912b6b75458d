"""Real flows, run by the real ``metaflow`` with the extension: locally, on S3, AWS Batch and SFN.

``tests/flows/probe_flow.py`` reports in every task what it sees (``SEEN <json>``). Locally the
run is a plain ``python flow.py run``. On AWS everything is a moto server on 127.0.0.1
(``AWS_ENDPOINT_URL`` points every boto3 client of every process there): the S3 datastore holds
the artifacts; ``run --with batch`` submits the ``start`` job to moto's Batch, which records it
without running it (no Docker), so the test then runs the job's own command with the job's own
environment, as its container would; ``step-functions create --only-json`` prints the state
machine, whose container environment a fresh process resolves.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import Settings, load
from metaflow_config._model.table import BY_ENV, FIELDS
from tests._strategies import travels
from tests.conftest import write_json

pytestmark = pytest.mark.slow

FLOW = Path(__file__).resolve().parent / "flows" / "probe_flow.py"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/"
SYSROOT = "s3://mf-bucket/metaflow"
_SEEN = re.compile(r"SEEN (\{.*\})\s*$", re.M)


@dataclass(frozen=True)
class Launch:
    """Where and with what a flow is launched: a clean environment and a project directory."""

    env: dict[str, str]
    project: Path

    @property
    def flow(self) -> Path:
        return self.project / FLOW.name

    def settings(self) -> Settings:
        """What the launching machine resolves (the test's own resolution of the same inputs)."""
        return load(env=self.env, cwd=self.project)


def launch(
    tmp_path: Path,
    env: dict[str, str] | None = None,
    *,
    profile: dict[str, Any] | None = None,
    local: dict[str, Any] | None = None,
) -> Launch:
    """A project with the probe flow, a profile and a local config, and a minimal environment."""
    home, project = tmp_path / "mfhome", tmp_path / "project"
    (project / ".metaflow").mkdir(parents=True)
    home.mkdir()
    shutil.copy(FLOW, project / FLOW.name)
    if profile is not None:
        write_json(home / "config.json", profile)
    if local is not None:
        write_json(project / ".metaflow" / "config.json", local)
    base = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LC_ALL": "C.UTF-8",
        "USER": "tester",
        "METAFLOW_HOME": str(home),
    }
    return Launch({**base, **(env or {})}, project)


def run(
    where: Launch, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``python flow.py ARGS`` in the project, with the launch environment (and ``env``)."""
    proc = subprocess.run(
        [sys.executable, str(where.flow), *args],
        env={**where.env, **(env or {})},
        cwd=where.project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def reports(output: str) -> dict[str, dict[str, Any]]:
    """The ``SEEN`` reports of a run's output, by step."""
    found = [json.loads(m) for m in _SEEN.findall(output)]
    return {r["step"]: r for r in found}


def plain(s: Settings) -> dict[str, Any]:
    """Every setting of ``s`` as a task reports it (JSON values)."""
    return json.loads(json.dumps({f.env: s[f.env] for f in FIELDS}, default=repr))


# --- locally ---------------------------------------------------------------------------------


def test_local_run_every_task_uses_the_resolution(tmp_path: Path) -> None:
    """Profile, local file, alias, strict booleans: Metaflow in each task holds compat's names."""
    where = launch(
        tmp_path,
        {"METAFLOW_JOB_QUEUE_NAME": "queue-by-alias", "METAFLOW_BATCH_EMIT_TAGS": "no"},
        profile={"METAFLOW_SFN_IAM_ROLE": ROLE + "sfn", "METAFLOW_S3_RETRY_COUNT": 5},
        local={"METAFLOW_S3_RETRY_COUNT": 3},
    )
    proc = run(where, "run")
    seen = reports(proc.stdout + proc.stderr)
    assert set(seen) == {"start", "end"}
    expected = plain(where.settings())
    for report in seen.values():
        assert report["differing"] == []
        assert report["metaflow"] == {
            "BATCH_JOB_QUEUE": "queue-by-alias",
            "BATCH_EMIT_TAGS": False,
            "USER": "tester",
        }
        assert report["settings"] == expected
    assert seen["end"]["settings"]["METAFLOW_S3_RETRY_COUNT"] == 3


def test_a_broken_configuration_stops_the_run_before_any_step(tmp_path: Path) -> None:
    """Every problem is printed, no traceback, exit status 1, and no task starts."""
    where = launch(
        tmp_path,
        {"METAFLOW_BATCH_EMIT_TAGS": "maybe"},
        profile={"METAFLOW_DATASTORE_SYSROOT_S3": "my-bucket/mf"},
    )
    proc = run(where, "run", check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "Task is starting" not in proc.stdout + proc.stderr
    assert "2 problems" in proc.stderr
    assert "METAFLOW_BATCH_EMIT_TAGS (env: METAFLOW_BATCH_EMIT_TAGS)" in proc.stderr
    assert "config.json:METAFLOW_DATASTORE_SYSROOT_S3" in proc.stderr


def test_a_malformed_profile_stops_the_run_readably(tmp_path: Path) -> None:
    """Metaflow's own reading trips over the JSON first; the report is ours, with the line."""
    where = launch(tmp_path)
    (tmp_path / "mfhome" / "config.json").write_text("{'METAFLOW_BATCH_JOB_QUEUE': 'q'}")
    proc = run(where, "run", check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "Task is starting" not in proc.stdout + proc.stderr
    assert "config.json" in proc.stderr
    assert proc.stderr.startswith("invalid Metaflow configuration: ")


def test_an_unknown_key_is_warned_once_per_run(tmp_path: Path) -> None:
    """The launching process warns; its tasks (same environment) do not warn again."""
    where = launch(tmp_path, {"METAFLOW_BATCH_EMIT_TAGSS": "1"})
    proc = run(where, "run")
    output = proc.stdout + proc.stderr
    assert output.count("did you mean METAFLOW_BATCH_EMIT_TAGS?") == 1, output
    assert set(reports(output)) == {"start", "end"}


def test_the_command_lines_variables_warn_nowhere(tmp_path: Path) -> None:
    """A run given its parameters and max workers as variables, whose flow file sets another
    parameter's after ``import metaflow``: no warning printed, none in any task's stored log,
    and the parameters took the variables' values."""
    where = launch(tmp_path, {"METAFLOW_RUN_ALPHA": "5", "METAFLOW_RUN_MAX_WORKERS": "2"})
    flow = where.project / "parameter_flow.py"
    shutil.copy(FLOW.parent / "parameter_flow.py", flow)
    run_id_file = tmp_path / "run_id"
    proc = subprocess.run(
        [sys.executable, str(flow), "run", "--run-id-file", str(run_id_file)],
        env=where.env,
        cwd=where.project,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert output.count("PARAMETERS alpha=5 late=late") == 2, output
    assert "Warning" not in output
    run_id = run_id_file.read_text(encoding="utf-8").strip()
    for step_name in ("start", "end"):
        logs = subprocess.run(
            [sys.executable, str(flow), "logs", f"{run_id}/{step_name}", "--stderr"],
            env=where.env,
            cwd=where.project,
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        assert "Warning" not in logs.stdout + logs.stderr, logs.stdout
    stored = list((where.project / ".metaflow" / "ParameterFlow").rglob("*stderr*"))
    assert stored, "no stored stderr log found"
    for path in stored:
        assert b"Warning" not in path.read_bytes(), path


def test_switched_off_metaflow_resolves_on_its_own(tmp_path: Path) -> None:
    """METAFLOW_CONFIG_EXTENSION=0: the tasks see Metaflow's own values (the alias unread)."""
    where = launch(tmp_path, {"METAFLOW_JOB_QUEUE_NAME": "q", "METAFLOW_BATCH_EMIT_TAGS": "no"})
    proc = run(where, "run", env={"METAFLOW_CONFIG_EXTENSION": "0"})
    seen = reports(proc.stdout + proc.stderr)["start"]
    assert seen["metaflow"]["BATCH_JOB_QUEUE"] is None
    assert seen["metaflow"]["BATCH_EMIT_TAGS"] is True
    assert {"BATCH_EMIT_TAGS", "BATCH_JOB_QUEUE"} <= set(seen["differing"])


# --- on AWS (moto) -----------------------------------------------------------------------------


def _aws_env(endpoint: str) -> dict[str, str]:
    """Credentials for moto and every boto3 client pointed at it (never real AWS)."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    }


def _boto(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _aws_account(endpoint: str) -> None:
    """The bucket, roles, network, compute environment and job queue a Batch flow needs."""
    _boto(endpoint, "s3").create_bucket(Bucket="mf-bucket")
    iam = _boto(endpoint, "iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for name in ("batch-service", "task", "sfn", "events", "fargate"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    ec2 = _boto(endpoint, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="mf", Description="mf", VpcId=vpc)["GroupId"]
    batch = _boto(endpoint, "batch")
    batch.create_compute_environment(
        computeEnvironmentName="mf-ce",
        type="MANAGED",
        state="ENABLED",
        computeResources={
            "type": "FARGATE",
            "maxvCpus": 4,
            "subnets": [subnet],
            "securityGroupIds": [group],
        },
        serviceRole=ROLE + "batch-service",
    )
    batch.create_job_queue(
        jobQueueName="mf-queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "mf-ce"}],
    )


#: A profile as `metaflow-config configure aws` writes it, with values Metaflow never exports.
AWS_PROFILE = {
    "METAFLOW_DEFAULT_DATASTORE": "local",  # the runs say --datastore=s3: Metaflow's value wins
    "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
    "METAFLOW_DATATOOLS_SUFFIX": "from-profile",
    "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": ROLE + "task",
    "METAFLOW_ECS_FARGATE_EXECUTION_ROLE": ROLE + "fargate",
    "METAFLOW_SFN_IAM_ROLE": ROLE + "sfn",
    "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": ROLE + "events",
    "METAFLOW_SFN_DYNAMO_DB_TABLE": "mf-sfn-table",
    "METAFLOW_BATCH_DEFAULT_TAGS": {"team": "ml"},
    "METAFLOW_BATCH_EMIT_TAGS": False,
    "METAFLOW_CONTACT_INFO": {"Slack": "#ml"},
    # Metaflow reads both as true, and its launchers copy its reading into every task
    "METAFLOW_DEBUG_S3CLIENT": "off",
    "METAFLOW_CONDA_USE_FAST_INIT": "no",
}


def _aws_launch(tmp_path: Path, endpoint: str, **env: str) -> Launch:
    _aws_account(endpoint)
    return launch(
        tmp_path,
        {
            **_aws_env(endpoint),
            "METAFLOW_S3_ENDPOINT_URL": endpoint,
            "METAFLOW_JOB_QUEUE_NAME": "mf-queue",  # the alias: Metaflow alone would not read it
            "PROBE_ENVIRONMENT_SUFFIX": "from-environment-decorator",
            **env,
        },
        profile=AWS_PROFILE,
    )


@pytest.mark.aws
def test_s3_datastore_artifact_reads_back_with_our_client(aws_env: str, tmp_path: Path) -> None:
    """Metaflow writes the run to S3 where the settings say; aws.s3_client() reads it back."""
    import gzip
    import pickle

    from metaflow_config import aws

    where = _aws_launch(tmp_path, aws_env)
    proc = run(where, "--datastore=s3", "run")
    seen = reports(proc.stdout + proc.stderr)["start"]
    assert seen["differing"] == []
    s = where.settings()
    client = aws.s3_client(s)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="mf-bucket")["Contents"]]
    [index] = [
        k for k in keys if re.fullmatch(r"metaflow/ProbeFlow/\d+/start/\d+/0\.data\.json", k)
    ]
    objects = json.loads(client.get_object(Bucket="mf-bucket", Key=index)["Body"].read())
    sha = objects["objects"]["seen"]
    blob = client.get_object(Bucket="mf-bucket", Key=f"metaflow/ProbeFlow/data/{sha[:2]}/{sha}")
    artifact = pickle.loads(gzip.decompress(blob["Body"].read()))  # noqa: S301 - our own run
    assert artifact == seen
    assert artifact["settings"]["METAFLOW_BATCH_JOB_QUEUE"] == "mf-queue"


def _submitted_start_job(endpoint: str) -> dict[str, Any]:
    batch = _boto(endpoint, "batch")
    ids = [
        summary["jobId"]
        for status in ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING", "SUCCEEDED")
        for summary in batch.list_jobs(jobQueue="mf-queue", jobStatus=status)["jobSummaryList"]
    ]
    jobs = [j for j in batch.describe_jobs(jobs=ids)["jobs"] if "start" in j["jobName"]]
    assert len(jobs) == 1, jobs
    job: dict[str, Any] = jobs[0]
    return job


def _in_the_container(job: dict[str, Any], endpoint: str, root: Path) -> dict[str, Any]:
    """Run the job's command with the job's environment, as its container would; its report."""
    env = {e["name"]: e["value"] for e in job["container"]["environment"]}
    env.pop("AWS_BATCH_JOB_ID", None)  # moto's: it makes Metaflow ask for the ECS metadata
    env.update(_aws_env(endpoint))  # the container's role
    env["PATH"] = f"{Path(sys.executable).parent}:/usr/bin:/bin"
    env["HOME"] = str(root)
    env["METAFLOW_SKIP_INSTALL_DEPENDENCIES"] = "1"  # the image has the packages
    root.mkdir()
    proc = subprocess.run(
        job["container"]["command"],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return reports(proc.stdout)["start"]


def _travelling(values: dict[str, Any], target: str) -> dict[str, Any]:
    return {k: v for k, v in values.items() if travels(BY_ENV[k], target)}


def _as_in_the_task(s: Settings, target: str, **task: Any) -> dict[str, Any]:
    """What a task must resolve: the launcher's values that travel, and what the task sets."""
    expected = _travelling(plain(s), target)
    expected.update(task)
    return expected


@pytest.mark.aws
def test_batch_job_carries_the_settings_and_its_task_resolves_them(
    aws_env: str, tmp_path: Path
) -> None:
    """to_env('batch') reaches the job; Metaflow's own names and @environment keep their values."""
    where = _aws_launch(tmp_path, aws_env)
    s = where.settings()
    proc = run(where, "--datastore=s3", "run", "--with", "batch", check=False)
    assert "Task is starting (status SUCCEEDED)" in proc.stdout + proc.stderr  # moto ran nothing
    job = _submitted_start_job(aws_env)
    env = {e["name"]: e["value"] for e in job["container"]["environment"]}
    assert env["METAFLOW_DEFAULT_DATASTORE"] == "s3"  # Metaflow's, not the profile's "local"
    assert env["METAFLOW_DATATOOLS_SUFFIX"] == "from-environment-decorator"
    exported = s.to_env("batch")
    kept = {"METAFLOW_DEFAULT_DATASTORE", "METAFLOW_DATATOOLS_SUFFIX"}
    assert {k: env.get(k) for k in exported if k not in kept} == {
        k: v for k, v in exported.items() if k not in kept
    }
    assert env["METAFLOW_BATCH_JOB_QUEUE"] == "mf-queue"  # via the alias, which Metaflow ignores
    entries = job["container"]["environment"]
    assert [e["value"] for e in entries if e["name"] == "METAFLOW_DEBUG_S3CLIENT"] == ["false"]
    assert [e["value"] for e in entries if e["name"] == "METAFLOW_CONDA_USE_FAST_INIT"] == ["false"]
    seen = _in_the_container(job, aws_env, tmp_path / "container")
    assert seen["differing"] == []
    assert _travelling(seen["settings"], "batch") == _as_in_the_task(
        s,
        "batch",
        METAFLOW_DEFAULT_DATASTORE="s3",
        METAFLOW_DATATOOLS_SUFFIX="from-environment-decorator",
        METAFLOW_DATATOOLS_S3ROOT=SYSROOT + "/from-environment-decorator",
        METAFLOW_DEFAULT_METADATA="local",
        METAFLOW_CARD_S3ROOT=SYSROOT + "/mf.cards",
        METAFLOW_USER="tester",
    )


_RESOLVE = """
import json
from metaflow_config import settings
from metaflow_config._model.table import FIELDS
print(json.dumps({f.env: settings[f.env] for f in FIELDS}, default=repr))
"""


@pytest.mark.aws
def test_state_machine_tasks_carry_the_settings(aws_env: str, tmp_path: Path) -> None:
    """step-functions create puts to_env('sfn') in every task; a fresh process resolves it."""
    where = _aws_launch(tmp_path, aws_env)
    s = where.settings()
    proc = run(where, "--datastore=s3", "step-functions", "create", "--only-json")
    machine = json.loads(proc.stdout[proc.stdout.index("{") :])
    exported = s.to_env("sfn")
    for state in ("start", "end"):
        entries = machine["States"][state]["Parameters"]["ContainerOverrides"]["Environment"]
        env = {e["Name"]: e.get("Value", e.get("Value.$")) for e in entries}
        assert env["METAFLOW_USER"] == "SFN"  # a production run's user, Metaflow's
        assert env["METAFLOW_DEFAULT_DATASTORE"] == "s3"
        decorated = {"METAFLOW_DATATOOLS_SUFFIX": "from-environment-decorator"}
        for name, value in exported.items():
            if name not in ("METAFLOW_USER", "METAFLOW_DEFAULT_DATASTORE"):
                wanted = decorated.get(name, value) if state == "start" else value
                assert env.get(name) == wanted, (state, name)
    entries = machine["States"]["end"]["Parameters"]["ContainerOverrides"]["Environment"]
    task_env = {e["Name"]: e["Value"] for e in entries if "Value" in e}
    task_env.update(PATH="/usr/bin:/bin", HOME=str(tmp_path / "container"))
    fresh = subprocess.run(
        [sys.executable, "-c", _RESOLVE],
        env=task_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert _travelling(json.loads(fresh.stdout), "sfn") == _as_in_the_task(
        s,
        "sfn",
        METAFLOW_DEFAULT_DATASTORE="s3",
        METAFLOW_DEFAULT_METADATA="local",
        METAFLOW_CARD_S3ROOT=SYSROOT + "/mf.cards",
        METAFLOW_DATATOOLS_S3ROOT=SYSROOT + "/from-profile",
        METAFLOW_USER="SFN",
    )


@pytest.mark.aws
def test_state_machine_over_the_limit_is_refused_at_create(aws_env: str, tmp_path: Path) -> None:
    """Step Functions' 8,192 characters are checked by step-functions create, readably."""
    where = _aws_launch(tmp_path, aws_env, METAFLOW_CONTACT_INFO=json.dumps({"x": "y" * 9000}))
    proc = run(where, "--datastore=s3", "step-functions", "create", "--only-json", check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert "8192" in proc.stderr
    assert "METAFLOW_CONTACT_INFO" in proc.stderr
    assert "y" * 100 not in proc.stderr


def _chain_flow(steps: int) -> str:
    """A linear flow of ``steps`` steps and ``end``."""
    names = ["start", *(f"s{i}" for i in range(1, steps)), "end"]
    body = "".join(
        f"    @step\n    def {name}(self):\n        self.next(self.{after})\n\n"
        for name, after in zip(names, names[1:])
    )
    return (
        "from metaflow import FlowSpec, step\n\n\nclass ChainFlow(FlowSpec):\n"
        f"{body}    @step\n    def end(self):\n        pass\n\n\n"
        'if __name__ == "__main__":\n    ChainFlow()\n'
    )


@pytest.mark.aws
def test_a_state_machine_over_step_functions_definition_limit_is_refused_at_create(
    aws_env: str, tmp_path: Path
) -> None:
    """Each state's overrides within AWS Batch's 8,192 characters, but every one of 101 states
    carries a 3,500-character value: the definition passes Step Functions' 1 MiB, which only
    CreateStateMachine refused (`step-functions create --only-json` printed it). It is refused
    when built, naming the largest variables, never their values (platform5 trial)."""
    where = _aws_launch(
        tmp_path,
        aws_env,
        METAFLOW_CONTACT_INFO=json.dumps({"x": "y" * 3500}),
        METAFLOW_SFN_COMPRESS_STATE_MACHINE="true",  # each state's command is short then
    )
    where.flow.write_text(_chain_flow(100))  # Metaflow's own states: about 0.8 MB
    proc = run(where, "--datastore=s3", "step-functions", "create", "--only-json", check=False)
    assert proc.returncode != 0, proc.stdout[-300:]
    assert "Traceback" not in proc.stderr
    assert "Step Functions state machine definition" in proc.stderr
    assert "1048576" in proc.stderr
    assert "METAFLOW_CONTACT_INFO" in proc.stderr
    assert "y" * 100 not in proc.stderr
    assert "{" not in proc.stdout  # no definition printed
