"""to_env for Batch and Step Functions: what travels, the 8192-character limit, round trips."""

from __future__ import annotations

import json
import math
import pprint
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from metaflow_config import ConfigError, load
from metaflow_config._model.table import FIELDS
from metaflow_config._snapshot.export import (
    ELSEWHERE,
    OVERRIDES_LIMIT,
    TARGETS,
    check_overrides_size,
)
from tests._remote_helpers import REMOTE, SECRET, _load, assert_same_where_it_travels
from tests._strategies import Config, configs, place, write
from tests.conftest import invoke, write_json

# --- to_env: what travels ---------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_nothing_configured_exports_nothing(tmp_path: Path, target: str) -> None:
    """Defaults and derived values never travel; only what derives from the machine itself.

    ARTIFACT_LOCALROOT derives from the working directory: a local process elsewhere gets it,
    a container (where it is a machine-local path) does not.
    """
    exported = load(env={}, home=tmp_path, cwd=tmp_path).to_env(target)
    cwd = {"METAFLOW_ARTIFACT_LOCALROOT": str(tmp_path)}
    assert exported == (cwd if target == "local" else {})


@pytest.mark.parametrize("target", TARGETS)
def test_derived_values_stay_behind_unless_set(tmp_path: Path, target: str) -> None:
    """DATATOOLS_S3ROOT re-derives from the sysroot; set explicitly, it travels itself."""
    derived = _load(tmp_path, DATASTORE_SYSROOT_S3="s3://mf-bucket/mf").to_env(target)
    derived.pop("METAFLOW_ARTIFACT_LOCALROOT", None)  # from the cwd, for local (see above)
    assert derived == {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/mf"}
    explicit = _load(
        tmp_path, DATASTORE_SYSROOT_S3="s3://mf-bucket/mf", DATATOOLS_S3ROOT="s3://other/d"
    ).to_env(target)
    assert explicit["METAFLOW_DATATOOLS_S3ROOT"] == "s3://other/d"


@pytest.mark.parametrize(
    ("target", "url"),
    [("local", "https://mf.example.com"), ("batch", "http://mf.vpc"), ("sfn", "http://mf.vpc")],
)
def test_containers_get_the_internal_service_url(tmp_path: Path, target: str, url: str) -> None:
    """SERVICE_URL is replaced by SERVICE_INTERNAL_URL for batch and sfn, kept for local."""
    s = _load(tmp_path, SERVICE_URL="https://mf.example.com", SERVICE_INTERNAL_URL="http://mf.vpc")
    assert s.to_env(target)["METAFLOW_SERVICE_URL"] == url


@pytest.mark.parametrize("target", REMOTE)
def test_internal_url_set_explicitly_survives_the_sandbox(tmp_path: Path, target: str) -> None:
    """In the sandbox an explicit SERVICE_INTERNAL_URL still wins in the container."""
    s = _load(
        tmp_path,
        AWS_SANDBOX_ENABLED="true",
        AWS_SANDBOX_INTERNAL_SERVICE_URL="http://sandbox.internal",
        SERVICE_URL="https://mf.example.com",
        SERVICE_INTERNAL_URL="http://mine.internal",
    )
    fresh = load(env=s.to_env(target), home=tmp_path / "empty", cwd=tmp_path)
    assert fresh.service.internal_url == "http://mine.internal"
    assert fresh.service.url == "http://mine.internal"


@pytest.mark.parametrize("target", TARGETS)
def test_machine_local_paths_stay_on_the_machine(tmp_path: Path, target: str) -> None:
    """Every setting marked local (paths) is exported for local and never for containers."""
    local = [f for f in FIELDS if f.local]
    assert {f.name for f in local} >= {"TEMPDIR", "DATASTORE_SYSROOT_LOCAL", "CLIENT_CACHE_PATH"}
    s = _load(tmp_path, **{f.name: f"/home/me/{f.name.lower()}" for f in local})
    exported = s.to_env(target)
    for f in local:
        assert (f.env in exported) == (target == "local"), f.env


@pytest.mark.parametrize("target", TARGETS)
def test_other_platforms_launcher_settings_stay_off_aws_batch(tmp_path: Path, target: str) -> None:
    """A Batch (or Step Functions) task builds no pod spec, template or DAG, and its 8,192
    characters of overrides hold all it is given: a fleet's profile setting Kubernetes', Argo
    Workflows' and Airflow's launchers' settings would pass AWS Batch's limit where Metaflow alone
    does not. What a task reads itself travels: Argo Events' settings (``ArgoEvent`` publishes
    from any step) and the events' prefix. Every other target is given them all."""
    assert ELSEWHERE["batch"] == ("KUBERNETES_", "ARGO_WORKFLOWS_", "AIRFLOW_")
    s = _load(
        tmp_path,
        KUBERNETES_NAMESPACE="mf",
        KUBERNETES_SANDBOX_INIT_SCRIPT="x" * 9000,  # over the limit alone
        ARGO_WORKFLOWS_KUBERNETES_SECRETS="argo-secret",
        AIRFLOW_KUBERNETES_STARTUP_TIMEOUT_SECONDS="120",
        ARGO_EVENTS_WEBHOOK_URL="https://events.example.com/metaflow-event",
        ARGO_EVENTS_WEBHOOK_AUTH="service",
        NAMESPACED_EVENTS_PREFIX="acme",
        BATCH_JOB_QUEUE="q",
    )
    elsewhere = {
        "METAFLOW_KUBERNETES_NAMESPACE",
        "METAFLOW_KUBERNETES_SANDBOX_INIT_SCRIPT",
        "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS",
        "METAFLOW_AIRFLOW_KUBERNETES_STARTUP_TIMEOUT_SECONDS",
    }
    read_by_tasks = {
        "METAFLOW_ARGO_EVENTS_WEBHOOK_URL",
        "METAFLOW_ARGO_EVENTS_WEBHOOK_AUTH",
        "METAFLOW_NAMESPACED_EVENTS_PREFIX",
        "METAFLOW_BATCH_JOB_QUEUE",
    }
    exported = s.to_env(target)
    assert read_by_tasks <= exported.keys()
    if target in ("batch", "sfn"):
        assert not elsewhere & exported.keys()
        shown = invoke("show", "--target", target, env=s.to_env("local")).stdout
        row = next(r for r in shown.splitlines() if r.startswith("METAFLOW_KUBERNETES_NAMESPACE"))
        assert "stays behind: a setting of another platform's launcher" in row
    else:
        assert elsewhere <= exported.keys()


@pytest.mark.parametrize("target", TARGETS)
def test_profile_and_home_never_travel(tmp_path: Path, target: str) -> None:
    """METAFLOW_HOME and METAFLOW_PROFILE choose files on this machine: they stay here."""
    home = tmp_path / "home"
    write_json(home / "config_prod.json", {"METAFLOW_BATCH_JOB_QUEUE": "q-prod"})
    env = {"METAFLOW_HOME": str(home), "METAFLOW_PROFILE": "prod"}
    exported = load(env=env, cwd=tmp_path).to_env(target)
    exported.pop("METAFLOW_ARTIFACT_LOCALROOT", None)
    assert exported == {"METAFLOW_BATCH_JOB_QUEUE": "q-prod"}


@pytest.mark.parametrize("target", TARGETS)
def test_the_user_travels(tmp_path: Path, target: str) -> None:
    """USER derived from $USER on this machine travels: the container's user is someone else."""
    s = load(env={"USER": "alice"}, home=tmp_path, cwd=tmp_path)
    assert s.to_env(target)["METAFLOW_USER"] == "alice"


def test_values_are_serialized_to_parse_back_identically(tmp_path: Path) -> None:
    """Booleans, integers and JSON are written canonically; aliases under the setting's name."""
    home = tmp_path / "home"
    write_json(
        home / "config.json",
        {
            "METAFLOW_BATCH_EMIT_TAGS": 1,
            "METAFLOW_S3_RETRY_COUNT": "3",
            "METAFLOW_BATCH_DEFAULT_TAGS": {"team": "ml", "a": "é"},
            "METAFLOW_S3_VERIFY_CERTIFICATE": "OFF",
        },
    )
    s = load(env={"METAFLOW_JOB_QUEUE_NAME": "old-name"}, home=home, cwd=tmp_path)
    assert s.to_env("batch") == {
        "METAFLOW_S3_VERIFY_CERTIFICATE": "false",
        "METAFLOW_S3_RETRY_COUNT": "3",
        "METAFLOW_BATCH_JOB_QUEUE": "old-name",
        "METAFLOW_BATCH_EMIT_TAGS": "true",
        "METAFLOW_BATCH_DEFAULT_TAGS": '{"a":"\\u00e9","team":"ml"}',
    }


@pytest.mark.parametrize("target", TARGETS)
def test_secrets_travel_but_are_never_shown(tmp_path: Path, target: str) -> None:
    """Secret values are in the export (the container needs them); its repr masks them."""
    s = _load(
        tmp_path,
        SERVICE_AUTH_KEY=SECRET,
        SERVICE_HEADERS={"Authorization": SECRET},
        DATATOOLS_CLIENT_PARAMS={"aws_secret_access_key": SECRET},
        AWS_SANDBOX_API_KEY=SECRET,
        BATCH_JOB_QUEUE="visible-queue",
    )
    exported = s.to_env(target)
    assert exported["METAFLOW_SERVICE_AUTH_KEY"] == SECRET
    assert SECRET in exported["METAFLOW_SERVICE_HEADERS"]
    for shown in (repr(exported), str(exported), f"{exported}", pprint.pformat(exported)):
        assert SECRET not in shown
        assert "visible-queue" in shown
    assert SECRET not in repr(s)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        pytest.param({"x": math.nan}, "DATATOOLS_SESSION_VARS", id="nan"),
        pytest.param({"x": {1: "int key"}}, "DATATOOLS_SESSION_VARS", id="int-key"),
        pytest.param({"x": object()}, "DATATOOLS_SESSION_VARS", id="object"),
    ],
)
def test_a_value_that_would_not_read_back_is_refused(tmp_path: Path, value: Any, name: str) -> None:
    """override() may inject what JSON cannot carry: to_env refuses instead of corrupting it."""
    s = load(env={}, home=tmp_path, cwd=tmp_path, overrides={name: value})
    with pytest.raises(ConfigError, match=f"METAFLOW_{name} \\(override: override\\({name}\\)\\)"):
        s.to_env("batch")


# --- the Step Functions size limit ------------------------------------------------------------


def _json_length(env: dict[str, str]) -> int:
    items = [{"name": k, "value": v} for k, v in env.items()]
    return len(json.dumps({"environment": items}, ensure_ascii=False, separators=(",", ":")))


@pytest.mark.parametrize("target", ["batch", "sfn"])
@pytest.mark.parametrize("excess", [0, 1])
def test_the_aws_batch_limit_is_8192_characters_of_overrides(excess: int, target: str) -> None:
    """An environment whose overrides JSON is exactly 8192 characters passes; one more fails,
    for a job ``--with batch`` submits as for a state machine's (AWS Batch enforces both)."""
    env = {"METAFLOW_A": "", "METAFLOW_B": "x"}
    env["METAFLOW_A"] = "y" * (OVERRIDES_LIMIT - _json_length(env) + excess)
    assert _json_length(env) == OVERRIDES_LIMIT + excess
    if excess:
        platform = {"batch": "AWS Batch", "sfn": "Step Functions"}[target]
        with pytest.raises(ConfigError, match=f"environment for {platform}: got 8193 characters"):
            check_overrides_size(env, target)
    else:
        check_overrides_size(env, target)


@pytest.mark.parametrize(
    ("target", "platform"), [("sfn", "Step Functions"), ("batch", "AWS Batch")]
)
def test_a_batch_task_counts_its_whole_container_overrides(target: str, platform: str) -> None:
    """The step's command and resources count toward AWS Batch's 8,192 characters, as the
    environment does: an environment well under the limit with a long command is refused, at
    create, naming the largest variables but no value; the same job with a short command passes.
    A job ``--with batch`` submits is held to it as a state machine's task is.
    """
    from types import SimpleNamespace

    from metaflow_config._snapshot.export import check_batch_overrides

    def _check_state_machine_task(job: Any) -> None:
        check_batch_overrides(job.payload["containerOverrides"], target)

    env = [{"name": f"METAFLOW_V{i}", "value": "v" * 100} for i in range(40)]  # ~5 KB
    resources = [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "4096"}]

    def job(command: str) -> Any:
        overrides = {"command": ["bash", "-c", command], "environment": env}
        overrides["resourceRequirements"] = resources
        return SimpleNamespace(payload={"containerOverrides": overrides})

    assert _json_length({e["name"]: e["value"] for e in env}) < OVERRIDES_LIMIT
    _check_state_machine_task(job("python flow.py step start"))
    with pytest.raises(ConfigError) as err:
        _check_state_machine_task(job("c" * 3000))
    text = str(err.value)
    assert f"container overrides for {platform}" in text
    assert "the step's command 3018" in text  # ["bash", "-c", "c..."]
    assert "at most 8192 characters" in text
    assert "largest variables: METAFLOW_V10 (135 chars)" in text
    assert "v" * 100 not in text


def test_over_the_limit_names_the_largest_variables_never_their_values(tmp_path: Path) -> None:
    """For sfn, a payload over 8192 characters is one ConfigError listing the largest variables."""
    s = _load(
        tmp_path,
        SERVICE_AUTH_KEY=SECRET * 200,
        BATCH_DEFAULT_TAGS={f"k{i:02}": "v" * 100 for i in range(30)},
        BATCH_JOB_QUEUE="q",
    )
    local = s.to_env("local")  # a local run takes it
    assert len(local["METAFLOW_SERVICE_AUTH_KEY"]) == 200 * len(SECRET)
    with pytest.raises(ConfigError) as err:
        s.to_env("sfn")
    with pytest.raises(ConfigError) as batch:
        s.to_env("batch")  # AWS Batch enforces it for a job --with batch submits too
    text = str(err.value)
    assert "environment for AWS Batch" in str(batch.value)
    assert SECRET not in str(batch.value)
    sized = {k: v for k, v in local.items() if k != "METAFLOW_ARTIFACT_LOCALROOT"}
    assert f"{_json_length(sized)} characters in 3 variables" in text
    assert "at most 8192 characters" in text
    key = len('{"name":"METAFLOW_SERVICE_AUTH_KEY","value":""},') + 200 * len(SECRET)
    assert "largest: METAFLOW_SERVICE_AUTH_KEY (" in text
    assert f"METAFLOW_SERVICE_AUTH_KEY ({key} chars), METAFLOW_BATCH_DEFAULT_TAGS (" in text
    assert "METAFLOW_BATCH_JOB_QUEUE (" in text
    assert SECRET not in text


# --- the round trip, as a property ------------------------------------------------------------

#: The service URLs and the sandbox, which interact (the internal URL and the prefix derive).
_SANDBOX = (
    "SERVICE_URL",
    "SERVICE_INTERNAL_URL",
    "AWS_SANDBOX_ENABLED",
    "AWS_SANDBOX_INTERNAL_SERVICE_URL",
    "AWS_SANDBOX_STACK_NAME",
    "SFN_STATE_MACHINE_PREFIX",
)
#: The settings whose export is subtle (URLs, sandbox, aliases, local paths, derived, secrets).
_SUBTLE = [
    f"METAFLOW_{n}"
    for n in (
        *_SANDBOX,
        "DATASTORE_SYSROOT_S3",
        "DATATOOLS_SUFFIX",
        "DATATOOLS_S3ROOT",
        "DATASTORE_SYSROOT_LOCAL",
        "DATATOOLS_LOCALROOT",
        "ARTIFACT_LOCALROOT",
        "USER",
        "BATCH_JOB_QUEUE",
        "SERVICE_AUTH_KEY",
        "SERVICE_HEADERS",
        "DEFAULT_CONTAINER_IMAGE",
        "BATCH_CONTAINER_IMAGE",
        "CLIENT_CACHE_MAX_FLOWDATASTORE_COUNT",
    )
]
_NAMES = st.sampled_from(_SUBTLE) | st.sampled_from([f.env for f in FIELDS])


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    config=configs(names=_NAMES, max_settings=10),
    user=st.none() | st.sampled_from(["alice", "root", "bob smith"]),
    alias=st.booleans(),
)
def test_to_env_round_trips_for_every_target(config: Config, user: str | None, alias: bool) -> None:
    """load(env=s.to_env(t)) equals s on what travels, for settings from every layer."""
    with place() as where:
        kwargs = write(where, config)
        if user is not None:
            kwargs["env"]["USER"] = user
        queue = kwargs["env"].pop("METAFLOW_BATCH_JOB_QUEUE", None)
        if queue is not None:
            kwargs["env"]["METAFLOW_JOB_QUEUE_NAME" if alias else "METAFLOW_BATCH_JOB_QUEUE"] = (
                queue
            )
        s = load(**kwargs)
        for target in TARGETS:
            exported = s.to_env(target)
            assert not {"METAFLOW_HOME", "METAFLOW_PROFILE"} & set(exported)
            assert all(isinstance(v, str) and v and "\0" not in v for v in exported.values())
            if target != "local":
                assert not [f.env for f in FIELDS if f.local and f.env in exported]
            fresh = load(env=exported, home=where.elsewhere, cwd=where.elsewhere, profile="")
            assert_same_where_it_travels(fresh, s, target)


_SERVICE = [f"METAFLOW_{n}" for n in (*_SANDBOX, "SERVICE_AUTH_KEY", "AWS_SANDBOX_API_KEY")]


@hypothesis_settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=configs(names=st.sampled_from(_SERVICE), max_settings=len(_SERVICE)))
def test_service_and_sandbox_round_trip(config: Config) -> None:
    """The service URLs and the sandbox, which interact, resolve the same in every container."""
    with place() as where:
        s = load(**write(where, config))
        for target in TARGETS:
            fresh = load(env=s.to_env(target), home=where.elsewhere, cwd=where.elsewhere)
            assert_same_where_it_travels(fresh, s, target)
            assert fresh.service.effective_headers == s.service.effective_headers
