"""Live checks (``check --aws``) on a moto account: correct, one thing wrong, credentials, S3."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from metaflow_config._checks.checks import check
from metaflow_config._checks.probes import CHECKS, FAIL, PASS, SKIP, WARN
from tests._checks_helpers import (
    ACCOUNT,
    LOG_GROUP,
    REGION,
    SECRET_KEY,
    Runner,
    _disable_queue,
    assert_no_secrets,
    correct_env,
    failing,
    make_table,
    moto_clients,
    role_arn,
    settings_of,
    trust,
)

pytestmark = [pytest.mark.aws, pytest.mark.usefixtures("_aws_env")]


# --- a correct account, and one thing wrong -----------------------------------------------------


def test_correct_account_passes_every_check(
    aws: Any, run: Runner, service: Any, tmp_path: Path
) -> None:
    """A fully correct account and a live metadata service give PASS on every check."""
    service.key = SECRET_KEY
    settings = settings_of(correct_env(service.url), tmp_path)
    results = run(settings, write_probe=True)
    assert list(results)[:3] == ["aws.credentials", "aws.region", "s3.sysroot"]
    assert set(results) == {c.name for c in CHECKS}
    assert {n: r.detail for n, r in results.items() if r.status != PASS} == {}
    assert results["aws.region"].detail == f"{REGION} (from AWS_DEFAULT_REGION)"
    assert f"account {ACCOUNT}" in results["aws.credentials"].detail
    assert "AES256" in results["s3.write_probe"].detail
    objects = aws("s3").list_objects_v2(Bucket="mf-bucket").get("KeyCount")
    assert objects == 0  # the probe object was deleted
    assert_no_secrets("\n".join(str(r) for r in results.values()))


def _delete_bucket(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("s3").delete_bucket(Bucket="mf-bucket")


def _unknown_queue(client: Callable[[str], Any], env: dict[str, str]) -> None:
    env["METAFLOW_BATCH_JOB_QUEUE"] = "no-such-queue"


def _retrust(role: str, principal: str) -> Callable[[Callable[[str], Any], dict[str, str]], None]:
    def mutate(client: Callable[[str], Any], env: dict[str, str]) -> None:
        client("iam").update_assume_role_policy(RoleName=role, PolicyDocument=trust(principal))

    return mutate


def _delete_role(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("iam").delete_role(RoleName="MetaflowStepFunctionsRole")


def _role_in_other_account(client: Callable[[str], Any], env: dict[str, str]) -> None:
    env["METAFLOW_SFN_IAM_ROLE"] = "arn:aws:iam::999999999999:role/MetaflowStepFunctionsRole"


def _table_without_ttl(client: Callable[[str], Any], env: dict[str, str]) -> None:
    make_table(client("dynamodb"), "no-ttl", key="pathspec")
    env["METAFLOW_SFN_DYNAMO_DB_TABLE"] = "no-ttl"


def _table_ttl_elsewhere(client: Callable[[str], Any], env: dict[str, str]) -> None:
    make_table(client("dynamodb"), "ttl-expires", key="pathspec", ttl="expires")
    env["METAFLOW_SFN_DYNAMO_DB_TABLE"] = "ttl-expires"


def _table_wrong_key(client: Callable[[str], Any], env: dict[str, str]) -> None:
    make_table(client("dynamodb"), "wrong-key", key="run_id", ttl="ttl")
    env["METAFLOW_SFN_DYNAMO_DB_TABLE"] = "wrong-key"


def _table_numeric_key(client: Callable[[str], Any], env: dict[str, str]) -> None:
    make_table(client("dynamodb"), "numeric-key", key="pathspec", key_type="N", ttl="ttl")
    env["METAFLOW_SFN_DYNAMO_DB_TABLE"] = "numeric-key"


def _no_table(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("dynamodb").delete_table(TableName="mf-table")


def _no_log_group(client: Callable[[str], Any], env: dict[str, str]) -> None:
    client("logs").delete_log_group(logGroupName=LOG_GROUP)


def _uncreatable_bucket(client: Callable[[str], Any], env: dict[str, str]) -> None:
    env["METAFLOW_DATASTORE_SYSROOT_S3"] = "s3://My_Bucket/mf"  # an old bucket's name may be so


def _bad_image(client: Callable[[str], Any], env: dict[str, str]) -> None:
    env["METAFLOW_BATCH_CONTAINER_IMAGE"] = "My-Image : latest"


def _bad_registry(client: Callable[[str], Any], env: dict[str, str]) -> None:
    env["METAFLOW_BATCH_CONTAINER_REGISTRY"] = f"https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"


@pytest.mark.parametrize(
    ("mutate", "name", "fix"),
    [
        pytest.param(_delete_bucket, "s3.sysroot", "aws s3 mb s3://mf-bucket", id="no-bucket"),
        pytest.param(
            _uncreatable_bucket,
            "s3.sysroot",
            "S3 creates no bucket of that name (only lowercase letters, digits, '.' and '-'): "
            "correct METAFLOW_DATASTORE_SYSROOT_S3",
            id="no-bucket-of-a-name-s3-refuses",
        ),
        pytest.param(
            _disable_queue,
            "batch.job_queue",
            f"aws batch update-job-queue --job-queue mf-queue --state ENABLED --region {REGION}",
            id="queue-disabled",
        ),
        pytest.param(
            _unknown_queue,
            "batch.job_queue",
            "aws batch create-job-queue --job-queue-name no-such-queue",
            id="queue-missing",
        ),
        pytest.param(
            _retrust("MetaflowBatchRole", "states.amazonaws.com"),
            "batch.job_role",
            "aws iam update-assume-role-policy --role-name MetaflowBatchRole",
            id="job-role-trust",
        ),
        pytest.param(
            _retrust("MetaflowFargateRole", "ec2.amazonaws.com"),
            "batch.fargate_execution_role",
            '"Service":"ecs-tasks.amazonaws.com"',
            id="fargate-role-trust",
        ),
        pytest.param(
            _retrust("MetaflowStepFunctionsRole", "ecs-tasks.amazonaws.com"),
            "sfn.iam_role",
            '"Service":"states.amazonaws.com"',
            id="sfn-role-trust",
        ),
        pytest.param(
            _retrust("MetaflowEventsRole", "states.amazonaws.com"),
            "sfn.events_role",
            "update-assume-role-policy --role-name MetaflowEventsRole",
            id="events-role-trust",
        ),
        pytest.param(
            _role_in_other_account,
            "sfn.iam_role",
            f"export METAFLOW_SFN_IAM_ROLE={role_arn('MetaflowStepFunctionsRole')}",
            id="sfn-role-other-account",
        ),
        pytest.param(
            _delete_role,
            "sfn.iam_role",
            "aws iam create-role --role-name MetaflowStepFunctionsRole",
            id="sfn-role-missing",
        ),
        pytest.param(
            _table_without_ttl,
            "sfn.dynamo_db_table",
            "aws dynamodb update-time-to-live --table-name no-ttl "
            "--time-to-live-specification Enabled=true,AttributeName=ttl",
            id="table-no-ttl",
        ),
        pytest.param(
            _table_ttl_elsewhere,
            "sfn.dynamo_db_table",
            "update-time-to-live --table-name ttl-expires",
            id="table-ttl-other-attribute",
        ),
        pytest.param(
            _table_wrong_key,
            "sfn.dynamo_db_table",
            "set METAFLOW_SFN_DYNAMO_DB_TABLE=<new>",
            id="table-wrong-key",
        ),
        pytest.param(
            _table_numeric_key,
            "sfn.dynamo_db_table",
            "AttributeName=pathspec,AttributeType=S",
            id="table-numeric-key",
        ),
        pytest.param(
            _no_table,
            "sfn.dynamo_db_table",
            "aws dynamodb create-table --table-name mf-table",
            id="table-missing",
        ),
        pytest.param(
            _no_log_group,
            "sfn.execution_log_group",
            f"aws logs create-log-group --log-group-name {LOG_GROUP} --region {REGION}",
            id="log-group-missing",
        ),
        pytest.param(
            _bad_image, "batch.container_image", "METAFLOW_BATCH_CONTAINER_IMAGE=", id="bad-image"
        ),
        pytest.param(
            _bad_registry,
            "batch.container_registry",
            "METAFLOW_BATCH_CONTAINER_REGISTRY=",
            id="registry-with-scheme",
        ),
    ],
)
def test_one_misconfiguration_fails_exactly_its_check(
    aws: Any,
    run: Runner,
    service: Any,
    tmp_path: Path,
    mutate: Callable[[Callable[[str], Any], dict[str, str]], None],
    name: str,
    fix: str,
) -> None:
    """Each single misconfiguration makes exactly its check FAIL, with the fix to run."""
    env = correct_env(service.url)
    mutate(aws, env)
    results = run(settings_of(env, tmp_path))
    assert failing(results) == {name}, {n: r.detail for n, r in results.items()}
    assert fix in results[name].fix
    assert {r.status for r in results.values()} <= {PASS, FAIL, SKIP}


def test_no_credentials_fails_only_the_credentials_check(
    aws: Any, run: Runner, service: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without credentials aws.credentials FAILs (fix: aws configure); AWS checks are SKIPped."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    results = run(settings_of(correct_env(service.url), tmp_path), session=boto3.Session())
    assert failing(results) == {"aws.credentials"}
    creds = results["aws.credentials"]
    assert "Unable to locate credentials" in creds.detail
    assert "aws configure" in creds.fix
    assert "AWS_ACCESS_KEY_ID" in creds.fix
    for name in ("s3.sysroot", "batch.job_queue", "batch.job_role", "sfn.dynamo_db_table"):
        assert results[name].status == SKIP
        assert "credentials" in results[name].detail
    assert results["service.url"].status == PASS  # not an AWS check


def test_missing_aws_profile_is_a_credentials_failure_listing_profiles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An AWS profile that does not exist FAILs aws.credentials, naming the profiles there are."""
    config = tmp_path / "aws-config"
    config.write_text("[profile dev]\nregion = eu-west-1\n", encoding="utf-8")
    settings = settings_of({"METAFLOW_BATCH_JOB_QUEUE": "q"}, tmp_path)
    results = {r.name: r for r in check(settings, profile="prod", timeout=1, deadline=10)}
    assert failing(results) == {"aws.credentials"}
    assert "'prod'" in results["aws.credentials"].detail
    assert "dev" in results["aws.credentials"].detail
    assert "aws configure --profile prod" in results["aws.credentials"].fix
    assert results["batch.job_queue"].status == SKIP


def test_an_aws_profile_named_by_the_environment_is_named_where_it_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`export AWS_PROFILE=prdo` (a typo): the failure names 'prdo' and AWS_PROFILE, lists the
    profiles there are, and the fix names them (it said "AWS profile None", "profiles: unknown"
    and `aws configure --profile None`). A fetch of a secret reference, and the stack import's
    session, say it too (not "check the network")."""
    (tmp_path / "aws-config").write_text("[profile dev]\nregion = eu-west-1\n", encoding="utf-8")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_PROFILE", "prdo")
    settings = settings_of({"METAFLOW_BATCH_JOB_QUEUE": "q"}, tmp_path)
    results = {r.name: r for r in check(settings, timeout=1, deadline=10)}
    creds = results["aws.credentials"]
    assert "'prdo' (AWS_PROFILE)" in creds.detail, creds.detail
    assert "profiles: dev" in creds.detail, creds.detail
    assert "aws configure --profile prdo" in creds.fix
    assert "unset AWS_PROFILE" in creds.fix
    from metaflow_config import ConfigError, load
    from metaflow_config.aws import _plain_session

    referenced = load(
        env={"METAFLOW_SERVICE_AUTH_KEY": "{{resolve:secretsmanager:mf/key}}"},
        home=tmp_path / "home",
        cwd=tmp_path,
    )
    with pytest.raises(ConfigError) as fetched:
        str(referenced.service.auth_key)
    assert "AWS_PROFILE names 'prdo'" in str(fetched.value), str(fetched.value)
    assert "check the network" not in str(fetched.value)
    with pytest.raises(ConfigError, match=r"AWS profile \(AWS_PROFILE\): got 'prdo'"):
        _plain_session("us-west-2", None, "the stack")


def test_a_region_botocore_does_not_know_is_a_warning_with_the_region_meant(
    run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AWS_DEFAULT_REGION=us-weast-2 passed aws.region, and every call then failed as if the
    network did: it is a warning naming the region it is near."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-weast-2")
    results = run(settings_of({}, tmp_path), session=boto3.Session(), capabilities=["s3"])
    region = results["aws.region"]
    assert region.status == WARN, region
    assert "is no region botocore knows" in region.detail
    assert "did you mean us-west-2?" in region.fix


def test_a_missing_queue_or_table_given_as_an_arn_gets_fixes_that_run(
    aws: Any, run: Runner, tmp_path: Path
) -> None:
    """A queue or table kept as its ARN (as a stack import keeps it): the create command takes
    its name, not the ARN (which AWS refuses as a name), and an ARN of another region than the
    session's is said as such, with the region to run in."""
    here = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/mf-missing"
    there = f"arn:aws:batch:eu-west-3:{ACCOUNT}:job-queue/mf-missing"
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/mf-missing"
    for queue in (here, there):
        env = {"METAFLOW_BATCH_JOB_QUEUE": queue, "METAFLOW_SFN_DYNAMO_DB_TABLE": table}
        results = run(settings_of(env, tmp_path), capabilities=["batch", "sfn-foreach"])
        failed = results["batch.job_queue"]
        assert failed.status == FAIL
        assert "--job-queue-name arn:" not in failed.fix
        if queue == here:
            assert "--job-queue-name mf-missing " in failed.fix, failed.fix
        else:
            assert "its ARN names the region eu-west-3" in failed.detail, failed.detail
            assert "AWS_DEFAULT_REGION=eu-west-3" in failed.fix
        assert "--table-name mf-missing " in results["sfn.dynamo_db_table"].fix


def test_region_source_names_the_profile_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Runner
) -> None:
    """A region from the AWS config file is reported with the file and the profile section."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    (tmp_path / "aws-config").write_text("[profile dev]\nregion = eu-west-1\n", encoding="utf-8")
    settings = settings_of({}, tmp_path)
    session = boto3.Session(profile_name="dev")
    results = run(settings, session=session, capabilities=["s3"])
    assert results["aws.region"].status == PASS
    assert results["aws.region"].detail.startswith("eu-west-1 (from ")
    assert "[profile dev]" in results["aws.region"].detail


def test_no_region_fails_the_region_check_and_skips_regional_checks(
    aws: Any, run: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No region anywhere: aws.region FAILs with the variable to set; Batch is SKIPped."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    env = {"METAFLOW_BATCH_JOB_QUEUE": "mf-queue"}
    results = run(settings_of(env, tmp_path), session=boto3.Session())
    assert results["aws.region"].status == FAIL
    assert "AWS_DEFAULT_REGION" in results["aws.region"].fix
    assert results["batch.job_queue"].status == SKIP
    assert "region" in results["batch.job_queue"].detail


# --- S3 ---------------------------------------------------------------------------------------


def test_write_probe_puts_and_deletes_under_the_prefix(
    aws: Any, moto_url: str, tmp_path: Path
) -> None:
    """--write-probe writes one object under the sysroot prefix and deletes it again."""
    env = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/team/metaflow"}
    seen: list[str] = []
    session = boto3.Session()

    def factory(service: str, **kwargs: Any) -> Any:
        client = moto_clients(session, moto_url)(service, **kwargs)
        client.meta.events.register(
            "before-parameter-build.s3.PutObject",
            lambda params, **_: seen.append(f"{params['Bucket']}/{params['Key']}"),
        )
        return client

    results = check(
        settings_of(env, tmp_path),
        ["s3"],
        write_probe=True,
        session=session,
        client_factory=factory,
    )
    assert {r.name: r.status for r in results}["s3.write_probe"] == PASS
    assert len(seen) == 1
    assert seen[0].startswith("mf-bucket/team/metaflow/.metaflow-config-probe-")
    assert aws("s3").list_objects_v2(Bucket="mf-bucket").get("KeyCount") == 0


def test_write_probe_is_skipped_unless_asked(aws: Any, run: Runner, tmp_path: Path) -> None:
    """Without write_probe no object is written and s3.write_probe is SKIP."""
    env = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/metaflow"}
    results = run(settings_of(env, tmp_path), capabilities=["s3"])
    assert results["s3.write_probe"].status == SKIP
    assert results["s3.sysroot"].status == PASS


def test_bucket_in_another_region_warns(aws: Any, run: Runner, tmp_path: Path) -> None:
    """A sysroot bucket in another region than the compute is a WARN naming both regions."""
    aws("s3").create_bucket(
        Bucket="mf-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    env = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-eu/metaflow"}
    result = run(settings_of(env, tmp_path), capabilities=["s3"])["s3.sysroot"]
    assert result.status == WARN
    assert "eu-west-1" in result.detail
    assert REGION in result.detail


def test_a_secret_reference_that_cannot_be_fetched_fails_its_check(
    aws: Any, run: Runner, service: Any, tmp_path: Path
) -> None:
    """check --aws fetches every reference in force: a missing secret FAILs, naming the setting."""
    aws("secretsmanager").delete_secret(SecretId="mf/sandbox-key", ForceDeleteWithoutRecovery=True)
    results = run(settings_of(correct_env(service.url), tmp_path))
    assert failing(results) == {"secrets.references"}
    result = results["secrets.references"]
    assert "METAFLOW_AWS_SANDBOX_API_KEY: FAIL" in result.detail
    assert "mf/sandbox-key" in result.detail
    assert "METAFLOW_AWS_SANDBOX_API_KEY: create it" in result.fix


@pytest.mark.parametrize(
    ("bucket", "refused"),
    [
        ("mf-bucket", ""),
        ("My_Bucket", "only lowercase letters"),
        ("192.168.5.4", "not an IP address"),
        ("xn--bucket", "(xn--)"),
        ("sthree-bucket", "(sthree-)"),
        ("bucket-s3alias", "(-s3alias)"),
        ("bucket--ol-s3", "(--ol-s3)"),
        ("bucket.mrap", "(.mrap)"),
        ("ab", "2 characters"),
        ("a..b", "two dots"),
    ],
)
def test_a_bucket_s3_would_not_create_is_told_so(bucket: str, refused: str) -> None:
    """``check --aws`` offers ``aws s3 mb`` only for a name S3 creates a bucket of."""
    from metaflow_config._checks.probes_aws import _uncreatable

    said = _uncreatable(bucket)
    assert (said == "") if not refused else (refused in said), said
