"""Remote execution: to_env for Batch and Step Functions, the consumers' accessors, round trips.

The AWS tests run on a moto server on 127.0.0.1 (``aws_env``): a Batch job and a Step Functions
state machine carry ``to_env``, what the APIs give back becomes the whole environment of a fresh
process, and that process resolves what this one did.
"""

from __future__ import annotations

import json
import math
import os
import pprint
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from metaflow_config import ConfigError, ConfigWarning, Settings, load
from metaflow_config._fields import Setting
from metaflow_config._kinds import thaw
from metaflow_config._settings import SFN_ENV_LIMIT, TARGETS, check_sfn_size
from metaflow_config._table import BY_NAME, FIELDS
from tests._strategies import Config, configs, place, write
from tests.conftest import write_json

ROLE = "arn:aws:iam::123456789012:role/"
REMOTE = ("batch", "sfn")
SECRET = "s3cr3t-api-key-0123456789"


def _load(tmp_path: Path, **values: Any) -> Settings:
    """Values (short names) from the environment; JSON-valued ones given as objects."""
    env = {f"METAFLOW_{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    return load(env=env, home=tmp_path / "home", cwd=tmp_path)


def _machine_local(field: Setting) -> bool:
    bases = field.derive.bases if field.derive else ()
    return field.local or any(_machine_local(BY_NAME[b]) for b in bases)


def travels(field: Setting, target: str) -> bool:
    """Whether ``field`` must read back the same from ``to_env(target)`` (design section 5).

    Everything for ``local``; for containers all but machine-local paths, what derives from
    them, and SERVICE_URL (which becomes the internal URL there).
    """
    if target == "local":
        return True
    return not _machine_local(field) and field.name != "SERVICE_URL"


def assert_same_where_it_travels(
    fresh: Settings | dict[str, Any], s: Settings, target: str
) -> None:
    """``fresh`` resolves like ``s`` on every setting that travels to ``target``."""
    for field in FIELDS:
        if travels(field, target):
            assert thaw(fresh[field.env]) == thaw(s[field.env]), (target, field.env)
    if target != "local":
        expected_url = s.service.internal_url or s.service.url
        assert fresh["METAFLOW_SERVICE_URL"] == expected_url


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


@pytest.mark.parametrize("excess", [0, 1])
def test_the_sfn_limit_is_8192_characters_of_overrides(excess: int) -> None:
    """An environment whose overrides JSON is exactly 8192 characters passes; one more fails."""
    env = {"METAFLOW_A": "", "METAFLOW_B": "x"}
    env["METAFLOW_A"] = "y" * (SFN_ENV_LIMIT - _json_length(env) + excess)
    assert _json_length(env) == SFN_ENV_LIMIT + excess
    if excess:
        with pytest.raises(ConfigError, match="8193 characters"):
            check_sfn_size(env)
    else:
        check_sfn_size(env)


def test_over_the_limit_names_the_largest_variables_never_their_values(tmp_path: Path) -> None:
    """For sfn, a payload over 8192 characters is one ConfigError listing the largest variables."""
    s = _load(
        tmp_path,
        SERVICE_AUTH_KEY=SECRET * 200,
        BATCH_DEFAULT_TAGS={f"k{i:02}": "v" * 100 for i in range(30)},
        BATCH_JOB_QUEUE="q",
    )
    batch = s.to_env("batch")  # Batch itself takes it
    assert len(batch["METAFLOW_SERVICE_AUTH_KEY"]) == 200 * len(SECRET)
    with pytest.raises(ConfigError) as err:
        s.to_env("sfn")
    text = str(err.value)
    assert f"{_json_length(batch)} characters in 3 variables" in text
    assert "at most 8192 characters" in text
    key = len('{"name":"METAFLOW_SERVICE_AUTH_KEY","value":""},') + 200 * len(SECRET)
    assert "largest: METAFLOW_SERVICE_AUTH_KEY (" in text
    assert f"METAFLOW_SERVICE_AUTH_KEY ({key} chars), METAFLOW_BATCH_DEFAULT_TAGS (" in text
    assert "METAFLOW_BATCH_JOB_QUEUE (" in text
    assert SECRET not in text


# --- the consumers' accessors -----------------------------------------------------------------


def test_s3_datastore_accessors(tmp_path: Path) -> None:
    """sysroot, datatools and card roots, client kwargs (a fresh copy) and upload arguments."""
    s = _load(
        tmp_path,
        DATASTORE_SYSROOT_S3="s3://mf-bucket/mf/",
        S3_ENDPOINT_URL="https://minio.example",
        S3_SERVER_SIDE_ENCRYPTION="aws:kms",
    )
    assert (s.s3.sysroot, s.s3.datatools_root, s.s3.card_root) == (
        "s3://mf-bucket/mf/",
        "s3://mf-bucket/mf/data",
        "s3://mf-bucket/mf/mf.cards",
    )
    kwargs = s.s3.client_kwargs
    assert kwargs == {
        "endpoint_url": "https://minio.example",
        "config": {"retries": {"max_attempts": 10, "mode": "adaptive"}},
    }
    kwargs["config"]["retries"]["max_attempts"] = 0
    assert s.s3.client_retry_config == {"max_attempts": 10, "mode": "adaptive"}
    assert s.s3.upload_args == {"ServerSideEncryption": "aws:kms"}
    assert _load(tmp_path).s3.upload_args == {}


@pytest.mark.parametrize(
    ("env", "requested", "image"),
    [
        pytest.param({}, None, "python:{}.{}".format(*sys.version_info[:2]), id="python-fallback"),
        pytest.param(
            {"BATCH_CONTAINER_REGISTRY": "123.dkr.ecr.us-east-1.amazonaws.com/"},
            None,
            "123.dkr.ecr.us-east-1.amazonaws.com/python:{}.{}".format(*sys.version_info[:2]),
            id="fallback-with-registry",
        ),
        pytest.param(
            {"BATCH_CONTAINER_IMAGE": "mf/img:1", "BATCH_CONTAINER_REGISTRY": "reg.io"},
            None,
            "reg.io/mf/img:1",
            id="configured-with-registry",
        ),
        pytest.param(
            {
                "DEFAULT_CONTAINER_IMAGE": "other.io/img@sha256:ab",
                "BATCH_CONTAINER_REGISTRY": "r.io",
            },
            None,
            "other.io/img@sha256:ab",
            id="image-names-its-registry",
        ),
        pytest.param(
            {"BATCH_CONTAINER_IMAGE": "mf/img:1", "BATCH_CONTAINER_REGISTRY": "reg.io"},
            "localhost:5000/step:2",
            "localhost:5000/step:2",
            id="step-image",
        ),
    ],
)
def test_batch_image(
    tmp_path: Path, env: dict[str, str], requested: str | None, image: str
) -> None:
    """The image falls back to python:<major>.<minor>; the registry prefixes images without one."""
    s = _load(tmp_path, **env)
    assert s.batch.image_for(requested) == image
    if requested is None:
        assert s.batch.image == image


def test_batch_tags_need_emit_tags(tmp_path: Path) -> None:
    """BATCH_DEFAULT_TAGS are the job tags with BATCH_EMIT_TAGS; without it, a warning, no tags."""
    tags = {"team": "ml"}
    assert _load(tmp_path, BATCH_DEFAULT_TAGS=tags, BATCH_EMIT_TAGS="1").batch.job_tags == tags
    with pytest.warns(ConfigWarning, match="METAFLOW_BATCH_EMIT_TAGS is off"):
        assert _load(tmp_path, BATCH_DEFAULT_TAGS=tags).batch.job_tags == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _load(tmp_path).batch.job_tags == {}


def test_batch_container_environment(tmp_path: Path) -> None:
    """The job's environment list is to_env('batch') plus the launcher's variables (they win)."""
    s = _load(tmp_path, BATCH_JOB_QUEUE="q", DEFAULT_DATASTORE="local", SERVICE_AUTH_KEY=SECRET)
    env = s.batch.container_environment({"METAFLOW_DEFAULT_DATASTORE": "s3", "AWS_X": "1"})
    assert env == [
        {"name": "METAFLOW_DEFAULT_DATASTORE", "value": "s3"},
        {"name": "METAFLOW_SERVICE_AUTH_KEY", "value": SECRET},
        {"name": "METAFLOW_BATCH_JOB_QUEUE", "value": "q"},
        {"name": "AWS_X", "value": "1"},
    ]


@pytest.mark.parametrize(
    ("env", "flow", "name"),
    [
        pytest.param({}, "MyFlow", "MyFlow", id="no-prefix"),
        pytest.param({"SFN_STATE_MACHINE_PREFIX": "team"}, "MyFlow", "team_MyFlow", id="prefix"),
        pytest.param(
            {"SFN_STATE_MACHINE_PREFIX": "team"}, "team_MyFlow", "team_MyFlow", id="not-twice"
        ),
        pytest.param(
            {"AWS_SANDBOX_ENABLED": "true", "AWS_SANDBOX_STACK_NAME": "sbx"},
            "MyFlow",
            "sbx_MyFlow",
            id="sandbox-stack",
        ),
    ],
)
def test_state_machine_name(tmp_path: Path, env: dict[str, str], flow: str, name: str) -> None:
    """The state machine of a flow carries SFN_STATE_MACHINE_PREFIX (the sandbox's stack name)."""
    assert _load(tmp_path, **env).sfn.state_machine_name(flow) == name


@pytest.mark.parametrize(
    ("prefix", "flow", "match"),
    [
        pytest.param("t", "a/b", "state machine name", id="slash-in-name"),
        pytest.param("x" * 70, "F" * 10, "at most 80 characters, found 81", id="too-long"),
    ],
)
def test_invalid_state_machine_names(tmp_path: Path, prefix: str, flow: str, match: str) -> None:
    """A name AWS would refuse is a ConfigError naming what is at fault."""
    s = _load(tmp_path, SFN_STATE_MACHINE_PREFIX=prefix)
    with pytest.raises(ConfigError, match=match):
        s.sfn.state_machine_name(flow)


@pytest.mark.parametrize("prefix", ["my team", "a/b", "x" * 80])
def test_invalid_state_machine_prefix_fails_resolution(tmp_path: Path, prefix: str) -> None:
    """A prefix no state machine name could carry is refused when settings resolve."""
    with pytest.raises(ConfigError, match="METAFLOW_SFN_STATE_MACHINE_PREFIX"):
        _load(tmp_path, SFN_STATE_MACHINE_PREFIX=prefix)


def test_step_functions_accessors(tmp_path: Path) -> None:
    """Roles, table, distributed-map output, logging configuration, compression flag."""
    s = _load(
        tmp_path,
        DATASTORE_SYSROOT_S3="s3://mf-bucket/mf",
        SFN_IAM_ROLE=ROLE + "sfn",
        EVENTS_SFN_ACCESS_IAM_ROLE=ROLE + "events",
        SFN_DYNAMO_DB_TABLE="mf-table",
        SFN_EXECUTION_LOG_GROUP_ARN="arn:aws:logs:us-east-1:123456789012:log-group:/mf/sfn",
        SFN_COMPRESS_STATE_MACHINE="yes",
    )
    sfn = s.sfn
    assert (sfn.iam_role, sfn.events_role, sfn.dynamo_db_table) == (
        ROLE + "sfn",
        ROLE + "events",
        "mf-table",
    )
    assert sfn.distributed_map_output == ("mf-bucket", "mf/sfn_distributed_map_output")
    assert sfn.compress_state_machine is True
    assert sfn.logging_configuration(False) == {"level": "OFF"}
    assert sfn.logging_configuration(True) == {
        "level": "ALL",
        "includeExecutionData": True,
        "destinations": [
            {
                "cloudWatchLogsLogGroup": {
                    "logGroupArn": "arn:aws:logs:us-east-1:123456789012:log-group:/mf/sfn:*"
                }
            }
        ],
    }
    assert _load(tmp_path).sfn.distributed_map_output is None


def test_execution_logging_without_a_log_group_says_how_to_set_it(tmp_path: Path) -> None:
    """Asking for execution history without SFN_EXECUTION_LOG_GROUP_ARN names it and the fix."""
    with pytest.raises(ConfigError, match="METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN is not set") as e:
        _load(tmp_path).sfn.logging_configuration(True)
    assert "export METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN=arn:aws:logs:" in str(e.value)


def test_sfn_container_environment_counts_the_launchers_variables(tmp_path: Path) -> None:
    """ContainerOverrides.Environment is PascalCase; the limit applies to it with the extras."""
    s = _load(tmp_path, BATCH_JOB_QUEUE="q")
    assert s.sfn.container_environment({"METAFLOW_CODE_URL": "s3://b/c"}) == [
        {"Name": "METAFLOW_BATCH_JOB_QUEUE", "Value": "q"},
        {"Name": "METAFLOW_CODE_URL", "Value": "s3://b/c"},
    ]
    with pytest.raises(ConfigError, match="largest: METAFLOW_CODE_URL"):
        s.sfn.container_environment({"METAFLOW_CODE_URL": "s3://b/" + "c" * SFN_ENV_LIMIT})


# --- the round trip, as a property ------------------------------------------------------------

#: The settings whose export is subtle (URLs, sandbox, aliases, local paths, derived, secrets).
_SUBTLE = [
    f"METAFLOW_{n}"
    for n in (
        "SERVICE_URL",
        "SERVICE_INTERNAL_URL",
        "AWS_SANDBOX_ENABLED",
        "AWS_SANDBOX_INTERNAL_SERVICE_URL",
        "AWS_SANDBOX_STACK_NAME",
        "SFN_STATE_MACHINE_PREFIX",
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


_SERVICE = [
    f"METAFLOW_{n}"
    for n in (
        "SERVICE_URL",
        "SERVICE_INTERNAL_URL",
        "AWS_SANDBOX_ENABLED",
        "AWS_SANDBOX_INTERNAL_SERVICE_URL",
        "AWS_SANDBOX_STACK_NAME",
        "SFN_STATE_MACHINE_PREFIX",
        "SERVICE_AUTH_KEY",
        "AWS_SANDBOX_API_KEY",
    )
]


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


# --- Batch and Step Functions on moto, then a fresh process -----------------------------------

_RESOLVE_IN_A_FRESH_PROCESS = """
import json, sys
from metaflow_config import load
from metaflow_config._table import FIELDS
s = load(home=sys.argv[1], cwd=sys.argv[2])
print(json.dumps({f.env: s[f.env] for f in FIELDS}))
"""


def _everywhere(tmp_path: Path, endpoint: str) -> Settings:
    """A configuration spread over every layer, with every kind of value that travels."""
    home, project = tmp_path / "home", tmp_path / "project"
    write_json(
        home / "config_prod.json",
        {
            "METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/metaflow",
            "METAFLOW_BATCH_JOB_QUEUE": "shadowed-by-the-alias",
            "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": ROLE + "mf-batch",
            "METAFLOW_SFN_IAM_ROLE": ROLE + "mf-sfn",
            "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": ROLE + "mf-events",
            "METAFLOW_SERVICE_URL": "https://mf.example.com/api",
            "METAFLOW_SERVICE_INTERNAL_URL": "http://mf-internal.vpc:8080/api",
            "METAFLOW_SERVICE_AUTH_KEY": SECRET,
            "METAFLOW_SERVICE_HEADERS": {"x-team": "ml", "x-note": 'a "quoted" é'},
            "METAFLOW_BATCH_EMIT_TAGS": True,
            "METAFLOW_BATCH_DEFAULT_TAGS": {"team": "ml", "cost-center": "42"},
            "METAFLOW_S3_CLIENT_RETRY_CONFIG": {"max_attempts": 4, "mode": "standard"},
            "METAFLOW_CLIENT_CACHE_MAX_FLOWDATASTORE_COUNT": 7,
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": "/home/me/mf",
            "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN": (
                "arn:aws:logs:us-east-1:123456789012:log-group:/mf/sfn:*"
            ),
            "METAFLOW_SFN_STATE_MACHINE_PREFIX": "team",
        },
    )
    write_json(
        project / ".metaflow" / "config.json",
        {
            "METAFLOW_DATATOOLS_SUFFIX": "datasets",
            "METAFLOW_S3_SERVER_SIDE_ENCRYPTION": "aws:kms",
            "METAFLOW_DEFAULT_DATASTORE": "s3",
        },
    )
    env = {
        "METAFLOW_HOME": str(home),
        "METAFLOW_PROFILE": "prod",
        "METAFLOW_JOB_QUEUE_NAME": "mf-queue",
        "METAFLOW_S3_ENDPOINT_URL": endpoint,
        "METAFLOW_S3_VERIFY_CERTIFICATE": "no",
        "METAFLOW_DEBUG_S3CLIENT": "on",
        "METAFLOW_TEMPDIR": "/scratch/tmp",
        "USER": "alice",
    }
    overrides = {
        "SFN_DYNAMO_DB_TABLE": "mf-foreach",
        "DATATOOLS_CLIENT_PARAMS": {"region_name": "us-east-1"},
        "SPIN_ALLOWED_DECORATORS": ["card", "timeout"],
        "KUBERNETES_SHARED_MEMORY": 256,
    }
    return load(env=env, cwd=project, overrides=overrides)


def _resolve_fresh(env: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """Resolve in a new process whose environment is exactly ``env`` (no profile file)."""
    empty = tmp_path / "container"
    empty.mkdir(exist_ok=True)
    out = subprocess.run(
        [sys.executable, "-c", _RESOLVE_IN_A_FRESH_PROCESS, str(empty / "home"), str(empty)],
        capture_output=True,
        text=True,
        env=env,
        cwd=empty,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _check_what_came_back(
    came_back: dict[str, str], s: Settings, target: str, tmp_path: Path
) -> None:
    metaflow = {k: v for k, v in came_back.items() if k.startswith("METAFLOW_")}
    assert metaflow == s.to_env(target)
    assert "METAFLOW_DATASTORE_SYSROOT_LOCAL" not in metaflow
    assert "METAFLOW_TEMPDIR" not in metaflow
    assert metaflow["METAFLOW_SERVICE_URL"] == "http://mf-internal.vpc:8080/api"
    fresh = _resolve_fresh(came_back, tmp_path)
    assert_same_where_it_travels(fresh, s, target)
    assert fresh["METAFLOW_DATATOOLS_S3ROOT"] == "s3://mf-bucket/metaflow/datasets"
    assert fresh["METAFLOW_DATASTORE_SYSROOT_LOCAL"] is None


@pytest.mark.aws
def test_batch_job_environment_resolves_the_same_in_the_container(
    aws_env: str, tmp_path: Path
) -> None:
    """A Batch job submitted with to_env('batch') gives it back intact; a fresh process agrees."""
    from metaflow_config import aws

    s = _everywhere(tmp_path, aws_env)
    iam = aws.client("iam", s, endpoint_url=aws_env)
    service_role = iam.create_role(
        RoleName="batch-service", AssumeRolePolicyDocument=json.dumps({"Statement": []})
    )["Role"]["Arn"]
    batch = aws.client("batch", s, endpoint_url=aws_env)
    batch.create_compute_environment(
        computeEnvironmentName="mf-ce", type="UNMANAGED", state="ENABLED", serviceRole=service_role
    )
    batch.create_job_queue(
        jobQueueName=s.batch.job_queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "mf-ce"}],
    )
    definition = batch.register_job_definition(
        jobDefinitionName="mf-job",
        type="container",
        containerProperties={
            "image": s.batch.image,
            "jobRoleArn": s.batch.job_role,
            "command": ["true"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "1"},
                {"type": "MEMORY", "value": "512"},
            ],
        },
    )
    job = batch.submit_job(
        jobName="start",
        jobQueue=s.batch.job_queue,
        jobDefinition=definition["jobDefinitionArn"],
        containerOverrides={
            "environment": s.batch.container_environment({"AWS_DEFAULT_REGION": aws.region(s)})
        },
        tags=s.batch.job_tags,
    )
    [described] = batch.describe_jobs(jobs=[job["jobId"]])["jobs"]
    assert described["jobQueue"].endswith(":job-queue/mf-queue")
    assert described["tags"] == {"team": "ml", "cost-center": "42"}
    came_back = {e["name"]: e["value"] for e in described["container"]["environment"]}
    assert came_back["AWS_DEFAULT_REGION"] == "us-east-1"
    _check_what_came_back(came_back, s, "batch", tmp_path)


@pytest.mark.aws
def test_state_machine_environment_resolves_the_same_in_the_container(
    aws_env: str, tmp_path: Path
) -> None:
    """A state machine whose Batch task carries to_env('sfn') reads back; a fresh process agrees."""
    from metaflow_config import aws

    s = _everywhere(tmp_path, aws_env)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {
            "JobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/mf-job:1",
            "JobName": "start",
            "JobQueue": s.batch.job_queue,
            "ContainerOverrides": {"Environment": s.sfn.container_environment()},
        },
        "End": True,
    }
    sfn = aws.client("stepfunctions", s, endpoint_url=aws_env)
    created = sfn.create_state_machine(
        name=s.sfn.state_machine_name("RemoteFlow"),
        definition=json.dumps({"StartAt": "start", "States": {"start": task}}),
        roleArn=s.sfn.iam_role,
        loggingConfiguration=s.sfn.logging_configuration(True),
    )
    described = sfn.describe_state_machine(stateMachineArn=created["stateMachineArn"])
    assert described["name"] == "team_RemoteFlow"
    assert described["roleArn"] == ROLE + "mf-sfn"
    overrides = json.loads(described["definition"])["States"]["start"]["Parameters"]
    came_back = {e["Name"]: e["Value"] for e in overrides["ContainerOverrides"]["Environment"]}
    _check_what_came_back(came_back, s, "sfn", tmp_path)


def test_the_fresh_process_sees_only_its_environment(tmp_path: Path) -> None:
    """The subprocess helper really isolates: an empty environment resolves to the defaults."""
    fresh = _resolve_fresh({}, tmp_path)
    baseline = load(env={}, home=tmp_path / "none", cwd=tmp_path / "container")
    assert fresh == {f.env: thaw(baseline[f.env]) for f in FIELDS}
    assert os.environ.get("METAFLOW_HOME")  # while this process has one (conftest)
