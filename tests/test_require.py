"""settings.require(capability): every missing or unusable setting at once, with the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaflow_config import ConfigError, Settings, load, settings
from metaflow_config._snapshot.require import CAPABILITIES, RequirementError, needs
from tests.conftest import invoke, write_json

ROLE = "arn:aws:iam::123456789012:role/"

#: A configuration with everything every capability needs (short names).
COMPLETE = {
    "DATASTORE_SYSROOT_S3": "s3://mf-bucket/metaflow",
    "DEFAULT_DATASTORE": "s3",
    "SERVICE_URL": "https://mf.example.com/api",
    "BATCH_JOB_QUEUE": "mf-queue",
    "ECS_S3_ACCESS_IAM_ROLE": ROLE + "batch",
    "SFN_IAM_ROLE": ROLE + "sfn",
    "EVENTS_SFN_ACCESS_IAM_ROLE": ROLE + "events",
    "SFN_DYNAMO_DB_TABLE": "mf-foreach",
    "KUBERNETES_NAMESPACE": "mf",
    "KUBERNETES_SERVICE_ACCOUNT": "mf-pods",
}

#: What AWS Batch needs (the S3 datastore's root, and as the default datastore).
_BATCH = ["DATASTORE_SYSROOT_S3", "DEFAULT_DATASTORE", "BATCH_JOB_QUEUE", "ECS_S3_ACCESS_IAM_ROLE"]
#: What each capability needs, pinned here so that a change to the table is a visible decision.
EXPECTED = {
    "s3": ["DATASTORE_SYSROOT_S3"],
    "service": ["SERVICE_URL"],
    "batch": _BATCH,
    "sfn": [*_BATCH, "SFN_IAM_ROLE"],
    "sfn-schedule": [*_BATCH, "SFN_IAM_ROLE", "EVENTS_SFN_ACCESS_IAM_ROLE"],
    "sfn-foreach": [*_BATCH, "SFN_IAM_ROLE", "SFN_DYNAMO_DB_TABLE"],
    "kubernetes": ["DATASTORE_SYSROOT_S3", "KUBERNETES_NAMESPACE", "KUBERNETES_SERVICE_ACCOUNT"],
    "argo": [
        "DATASTORE_SYSROOT_S3",
        "KUBERNETES_NAMESPACE",
        "KUBERNETES_SERVICE_ACCOUNT",
        "SERVICE_URL",
    ],
}


def _load(
    tmp_path: Path,
    values: dict[str, str],
    profile: str | None = None,
    overrides: dict[str, str] | None = None,
) -> Settings:
    """Load ``values`` from the profile file (the usual place for them)."""
    name = f"config_{profile}.json" if profile else "config.json"
    write_json(tmp_path / "home" / name, {f"METAFLOW_{k}": v for k, v in values.items()})
    return load(
        env={}, home=tmp_path / "home", cwd=tmp_path, profile=profile or "", overrides=overrides
    )


def test_requirement_error_is_public() -> None:
    """What ``require`` raises is named by the package itself (a ``ConfigError``)."""
    import metaflow_config

    assert metaflow_config.RequirementError is RequirementError
    assert issubclass(metaflow_config.RequirementError, ConfigError)
    assert "RequirementError" in metaflow_config.__all__


def test_the_capability_table_is_what_the_contract_lists() -> None:
    """The capabilities and what each needs (Batch includes the S3 datastore: seed 004)."""
    assert {cap: [n.setting for n in needs(cap)] for cap in CAPABILITIES} == EXPECTED


@pytest.mark.parametrize("capability", list(EXPECTED))
def test_a_complete_configuration_satisfies_every_capability(
    tmp_path: Path, capability: str
) -> None:
    """Nothing is raised when everything the capability needs is set."""
    _load(tmp_path, COMPLETE).require(capability)


def test_argo_needs_every_value_its_templates_can_carry(tmp_path: Path) -> None:
    """A secret reference Argo would read as its own variable (``argo-workflows create``
    refuses it): ``require("argo")`` says so, ``check --require argo`` fails, and ``show
    --target argo`` is an error; left to a mounted Kubernetes Secret, it is ready again."""
    ref = {**COMPLETE, "SERVICE_AUTH_KEY": "{{resolve:ssm:/mf/key}}"}
    s = _load(tmp_path, ref)
    s.require("kubernetes")  # a pod's env takes it: the task fetches it
    with pytest.raises(ConfigError) as info:
        s.require("argo")
    assert "METAFLOW_SERVICE_AUTH_KEY: got a value holding '{{'" in str(info.value)
    env = {"METAFLOW_HOME": str(tmp_path / "home"), "METAFLOW_CONFIG_PROJECT": str(tmp_path)}
    for args in (["check", "--require", "argo"], ["show", "--target", "argo"]):
        result = invoke(*args, env=env)
        assert result.exit_code == 1, result.output
        assert "Argo Workflows can carry" in result.stderr  # click < 8.2 keeps it apart
    mounted = {
        **ref,
        "KUBERNETES_SECRETS": "mf-secrets",
        "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP": "METAFLOW_SERVICE_AUTH_KEY",
    }
    _load(tmp_path, mounted).require("argo")


@pytest.mark.parametrize("capability", ["batch", "sfn"])
def test_aws_batch_needs_its_overrides_within_the_limit(tmp_path: Path, capability: str) -> None:
    """Settings whose container overrides AWS Batch would refuse (8,192 characters) make a
    Batch or Step Functions launch fail: ``require`` says so beside what is missing."""
    big = {**COMPLETE, "BATCH_DEFAULT_TAGS": {f"k{i:02}": "v" * 200 for i in range(45)}}
    with pytest.raises(ConfigError, match="at most 8192 characters of container overrides"):
        _load(tmp_path, big).require(capability)


@pytest.mark.parametrize(
    ("capability", "name"),
    [
        pytest.param(cap, name, id=f"{cap}-without-{name}")
        for cap, names in EXPECTED.items()
        for name in names
    ],
)
def test_each_missing_setting_is_reported_with_how_to_set_it(
    tmp_path: Path, capability: str, name: str
) -> None:
    """Leaving out one needed setting gives one problem: its env var, profile key and file."""
    values = {k: v for k, v in COMPLETE.items() if k != name}
    s = _load(tmp_path, values)
    with pytest.raises(RequirementError) as err:
        s.require(capability)
    env = f"METAFLOW_{name}"
    assert [p.setting for p in err.value.problems] == [env]
    text = str(err.value)
    if name in ("DEFAULT_DATASTORE", "KUBERNETES_NAMESPACE"):  # a default that is no answer
        assert f"{env} (default): got " in text
    else:
        assert f"{env} is not set" in text
    assert f"export {env}=" in text
    assert f'"{env}": ' in text
    assert str(tmp_path / "home" / "config.json") in text
    assert err.value.capability == capability


@pytest.mark.parametrize("capability", list(EXPECTED))
def test_every_missing_setting_comes_in_one_error(tmp_path: Path, capability: str) -> None:
    """With nothing configured, one ConfigError lists everything the capability needs, in order."""
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, {}).require(capability)
    assert [p.setting for p in err.value.problems] == [
        f"METAFLOW_{n}" for n in EXPECTED[capability]
    ]
    assert str(err.value).startswith(
        f"Metaflow is not configured for {CAPABILITIES[capability].title} "
        f"(require({capability!r})): {len(EXPECTED[capability])} problem"
    )


def test_missing_step_functions_role_beats_metaflows_message(tmp_path: Path) -> None:
    """Seed 001: the message names METAFLOW_SFN_IAM_ROLE, the active profile file, and the fix."""
    values = {k: v for k, v in COMPLETE.items() if k != "SFN_IAM_ROLE"}
    s = _load(tmp_path, values, profile="prod")
    with pytest.raises(ConfigError) as err:
        s.require("sfn")
    text = str(err.value)
    profile_file = str(tmp_path / "home" / "config_prod.json")
    assert text == (
        "Metaflow is not configured for AWS Step Functions (require('sfn')): 1 problem\n"
        "  - METAFLOW_SFN_IAM_ROLE is not set: expected an IAM role ARN "
        "arn:aws:iam::<12-digit account>:role/<name>, which AWS Step Functions needs: the role "
        "the state machines run as (trusted by states.amazonaws.com, allowed to submit Batch "
        "jobs and to use the DynamoDB table). Fix: export "
        "METAFLOW_SFN_IAM_ROLE=arn:aws:iam::<account-id>:role/<role-name>, or add "
        '"METAFLOW_SFN_IAM_ROLE": "arn:aws:iam::<account-id>:role/<role-name>" to '
        f"{profile_file} (profile 'prod'), or run `metaflow-config configure aws --profile prod`"
    )


def test_the_wizard_suggested_configures_the_profile_in_force(tmp_path: Path) -> None:
    """The fix names the wizard for the profile the problem is in: the default one without
    ``--profile`` (a named one's fix used to send the user to the default profile)."""
    values = {k: v for k, v in COMPLETE.items() if k != "SFN_IAM_ROLE"}
    with pytest.raises(ConfigError) as default:
        _load(tmp_path, values).require("sfn")
    assert str(default.value).endswith("or run `metaflow-config configure aws`")
    with pytest.raises(ConfigError) as named:
        _load(tmp_path, values, profile="team-prod").require("sfn")
    assert str(named.value).endswith("or run `metaflow-config configure aws --profile team-prod`")


def test_included_settings_say_which_capability_needs_them(tmp_path: Path) -> None:
    """require('sfn') without a job queue says AWS Batch needs it (what it is for)."""
    values = {k: v for k, v in COMPLETE.items() if k != "BATCH_JOB_QUEUE"}
    with pytest.raises(ConfigError, match="which AWS Batch needs: the job queue"):
        _load(tmp_path, values).require("sfn")


def test_an_alias_satisfies_the_requirement(tmp_path: Path) -> None:
    """METAFLOW_JOB_QUEUE_NAME (Metaflow's old name) sets BATCH_JOB_QUEUE for require too."""
    values = {k: v for k, v in COMPLETE.items() if k != "BATCH_JOB_QUEUE"}
    write_json(tmp_path / "home" / "config.json", {f"METAFLOW_{k}": v for k, v in values.items()})
    s = load(env={"METAFLOW_JOB_QUEUE_NAME": "old-queue"}, home=tmp_path / "home", cwd=tmp_path)
    s.require("batch")


def test_unknown_capability_lists_the_known_ones(tmp_path: Path) -> None:
    """A typo in the capability is a ConfigError naming every capability."""
    with pytest.raises(ConfigError, match="'s3', 'service', 'batch', 'sfn'") as err:
        _load(tmp_path, COMPLETE).require("k8s")
    assert not isinstance(err.value, RequirementError)


@pytest.mark.parametrize(
    ("overrides", "setting", "source"),
    [
        pytest.param(
            {"SERVICE_URL": "http://localhost:8080"},
            "METAFLOW_SERVICE_INTERNAL_URL",
            "derived",
            id="service-url-on-localhost",
        ),
        pytest.param(
            {"SERVICE_INTERNAL_URL": "http://127.0.0.1:8080"},
            "METAFLOW_SERVICE_INTERNAL_URL",
            "override",
            id="internal-url-on-loopback",
        ),
        pytest.param(
            {"S3_ENDPOINT_URL": "http://[::1]:9000"},
            "METAFLOW_S3_ENDPOINT_URL",
            "override",
            id="minio-on-loopback",
        ),
    ],
)
def test_containers_cannot_reach_this_machine(
    tmp_path: Path, overrides: dict[str, str], setting: str, source: str
) -> None:
    """For Batch and Step Functions, a URL on localhost is invalid (it is the container there)."""
    s = _load(tmp_path, COMPLETE, overrides=overrides)
    s.require("s3")
    s.require("service")
    for capability in ("batch", "sfn", "sfn-schedule", "sfn-foreach"):
        with pytest.raises(RequirementError) as err:
            s.require(capability)
        [problem] = err.value.problems
        assert (problem.setting, problem.layer) == (setting, source)
        assert "containers can reach" in problem.expected


def test_a_malformed_url_is_not_taken_for_this_machine(tmp_path: Path) -> None:
    """A URL urllib cannot split never reaches the loopback check: its kind refuses it."""
    with pytest.raises(ConfigError, match=r"a '\[' without its '\]'"):
        _load(tmp_path, COMPLETE, overrides={"S3_ENDPOINT_URL": "http://[::1"})


def test_a_reachable_internal_url_fixes_a_local_service_url(tmp_path: Path) -> None:
    """SERVICE_URL on localhost is fine when SERVICE_INTERNAL_URL is what containers get."""
    s = _load(
        tmp_path,
        {
            **COMPLETE,
            "SERVICE_URL": "http://localhost:8080",
            "SERVICE_INTERNAL_URL": "http://10.0.3.7:8080",
        },
    )
    s.require("sfn")


def test_process_wide_settings_require(monkeypatch: pytest.MonkeyPatch) -> None:
    """settings.require works on the process-wide settings and sees the environment."""
    monkeypatch.setenv("METAFLOW_DATASTORE_SYSROOT_S3", "s3://mf-bucket/x")
    settings.require("s3")
    with pytest.raises(ConfigError, match="METAFLOW_BATCH_JOB_QUEUE is not set"):
        settings.require("batch")


def test_closure_is_the_includes_graph_walked_once() -> None:
    """Each capability's closure: itself last, what it includes first, each capability once."""
    from metaflow_config._snapshot.require import closure

    assert closure("s3") == ("s3",)
    assert closure("sfn-foreach") == ("s3", "batch", "sfn", "sfn-foreach")
    for name, cap in CAPABILITIES.items():
        found = closure(name)
        assert found[-1] == name
        assert len(set(found)) == len(found)
        assert set(found) == {name}.union(*(set(closure(i)) for i in cap.includes))


def test_kubernetes_needs_a_namespace_chosen_not_the_default(tmp_path: Path) -> None:
    """KUBERNETES_NAMESPACE's built-in 'default' does not meet require('kubernetes'): a layer
    must set it (to 'default' too); the fix names the variable and the profile, not the wizard."""
    values = {k: v for k, v in COMPLETE.items() if k != "KUBERNETES_NAMESPACE"}
    with pytest.raises(RequirementError) as info:
        _load(tmp_path, values).require("argo")
    [problem] = info.value.problems
    assert problem.setting == "METAFLOW_KUBERNETES_NAMESPACE"
    assert "chosen in a layer (the built-in default is no choice" in problem.expected
    assert "'default' set in a layer is one" in problem.expected
    assert "configure aws" not in problem.fix
    _load(tmp_path, {**values, "KUBERNETES_NAMESPACE": "default"}).require("argo")


def test_argo_tasks_must_reach_the_webhook(tmp_path: Path) -> None:
    """A pod's localhost is the pod: Argo's internal webhook URL must not point at this machine."""
    s = _load(tmp_path, {**COMPLETE, "ARGO_EVENTS_WEBHOOK_URL": "http://localhost:12000/x"})
    s.require("kubernetes")
    with pytest.raises(RequirementError, match="Argo Workflows containers can reach") as info:
        s.require("argo")
    assert [p.setting for p in info.value.problems] == ["METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL"]


def test_a_requirement_error_pickles_whole(tmp_path: Path) -> None:
    """A process pool's worker hands it back as it was raised: the class, the capability and
    every problem."""
    import pickle

    with pytest.raises(RequirementError) as caught:
        load(env={}, home=tmp_path, cwd=tmp_path).require("sfn")
    again = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - its own bytes
    assert type(again) is RequirementError
    assert (again.capability, again.problems, str(again)) == (
        "sfn",
        caught.value.problems,
        str(caught.value),
    )
