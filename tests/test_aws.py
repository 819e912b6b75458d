"""metaflow_config.aws: the boto3 session and clients built from the settings (moto, never AWS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError, Settings, load

BUCKET = "mf-test-bucket"


def _settings(tmp_path: Path, **env: str) -> Settings:
    return load(env={f"METAFLOW_{k}": v for k, v in env.items()}, home=tmp_path / "h", cwd=tmp_path)


class _RecordingSession:
    """Stands in for a boto3 session: records what a client was asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def client(self, name: str, **kwargs: Any) -> str:
        self.calls.append((name, kwargs))
        return "client"


def test_import_metaflow_config_never_imports_boto3(tmp_path: Path) -> None:
    """Resolving, exporting, requiring and every consumer accessor leave boto3 unimported."""
    code = (
        "import sys, json\n"
        "import metaflow_config\n"
        "from metaflow_config import load, ConfigError\n"
        "env = {'METAFLOW_DATASTORE_SYSROOT_S3': 's3://bkt/mf',"
        " 'METAFLOW_S3_ENDPOINT_URL': 'https://minio.example'}\n"
        "s = load(env=env, home=sys.argv[1], cwd=sys.argv[1])\n"
        "s.to_env('batch'); s.to_env('sfn')\n"
        "try:\n    s.require('sfn')\nexcept ConfigError:\n    pass\n"
        "s.s3.client_kwargs; s.s3.upload_args; s.batch.image; s.batch.container_environment()\n"
        "s.sfn.container_environment(); s.sfn.distributed_map_output\n"
        "before = sorted(m for m in ('boto3', 'botocore') if m in sys.modules)\n"
        "import metaflow_config.aws\n"
        "after = sorted(m for m in ('boto3', 'botocore') if m in sys.modules)\n"
        "print(json.dumps([before, after]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
        cwd=tmp_path,
        check=True,
    )
    assert json.loads(out.stdout) == [[], ["boto3", "botocore"]]


def test_region_comes_from_aws_default_region(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's region is boto3's: AWS_DEFAULT_REGION when set."""
    from metaflow_config import aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert aws.region(_settings(tmp_path)) == "eu-west-3"


def test_region_comes_from_the_aws_config_file(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without AWS_DEFAULT_REGION, boto3 reads ~/.aws/config (and AWS_PROFILE's section)."""
    from metaflow_config import aws

    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = ap-south-1\n\n[profile other]\nregion = sa-east-1\n")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    s = _settings(tmp_path)
    assert aws.region(s) == "ap-south-1"
    monkeypatch.setenv("AWS_PROFILE", "other")
    assert aws.region(s) == "sa-east-1"


def test_region_is_none_when_nothing_configures_one(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No region anywhere: None, not a guess of ours."""
    from metaflow_config import aws

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert aws.region(_settings(tmp_path)) is None


def test_sandbox_region_is_given_to_the_session(aws_env: str, tmp_path: Path) -> None:
    """In Metaflow's AWS sandbox, AWS_SANDBOX_REGION is the session's region."""
    from metaflow_config import aws

    s = _settings(tmp_path, AWS_SANDBOX_ENABLED="true", AWS_SANDBOX_REGION="us-west-2")
    assert aws.region(s) == "us-west-2"


def test_s3_client_gets_endpoint_verify_retries_and_params(tmp_path: Path) -> None:
    """The S3 client receives S3_ENDPOINT_URL, S3_VERIFY_CERTIFICATE, the retry config, params."""
    from botocore.config import Config

    from metaflow_config import aws

    s = _settings(
        tmp_path,
        S3_ENDPOINT_URL="https://minio.example:9000",
        S3_VERIFY_CERTIFICATE="false",
        S3_CLIENT_RETRY_CONFIG='{"max_attempts": 3, "mode": "standard"}',
        DATATOOLS_CLIENT_PARAMS='{"region_name": "eu-central-1"}',
    )
    recorder = _RecordingSession()
    aws.s3_client(s, boto_session=recorder, aws_session_token="tok")
    [(name, kwargs)] = recorder.calls
    config = kwargs.pop("config")
    assert name == "s3"
    assert kwargs == {
        "endpoint_url": "https://minio.example:9000",
        "verify": False,
        "region_name": "eu-central-1",
        "aws_session_token": "tok",
    }
    assert isinstance(config, Config)
    assert config.retries == {"max_attempts": 3, "mode": "standard"}


def test_s3_client_keeps_retries_of_the_client_params_and_merges_a_given_config(
    tmp_path: Path,
) -> None:
    """Retries set in DATATOOLS_CLIENT_PARAMS win over S3_CLIENT_RETRY_CONFIG; config= merges."""
    from botocore.config import Config

    from metaflow_config import aws

    s = _settings(
        tmp_path,
        DATATOOLS_CLIENT_PARAMS='{"config": {"retries": {"max_attempts": 1}}}',
    )
    assert s.s3.client_kwargs["config"] == {"retries": {"max_attempts": 1}}
    recorder = _RecordingSession()
    aws.client("s3", s, boto_session=recorder, config=Config(connect_timeout=7))
    config = recorder.calls[0][1]["config"]
    assert config.retries == {"max_attempts": 1}
    assert config.connect_timeout == 7


def test_bad_botocore_config_in_client_params_is_a_config_error(tmp_path: Path) -> None:
    """An unknown Config argument names DATATOOLS_CLIENT_PARAMS, masked (it may hold secrets):
    not the key botocore refused either (a key of a secret map is not shown), nor botocore's
    error as the context."""
    from metaflow_config import aws

    s = _settings(
        tmp_path,
        DATATOOLS_CLIENT_PARAMS='{"aws_secret_access_key": "s3cr3t", "config": {"bogus": 1}}',
    )
    with pytest.raises(ConfigError, match="METAFLOW_DATATOOLS_CLIENT_PARAMS") as err:
        aws.s3_client(s, boto_session=_RecordingSession())
    assert "s3cr3t" not in str(err.value)
    assert "bogus" not in str(err.value)
    assert "botocore refused one of its keys" in str(err.value)
    assert err.value.__context__ is None
    assert err.value.__cause__ is None


@pytest.mark.aws
def test_write_and_read_under_the_datatools_root(aws_env: str, tmp_path: Path) -> None:
    """An object written under DATATOOLS_S3ROOT through the settings' client reads back (MinIO)."""
    from metaflow_config import aws

    s = _settings(tmp_path, DATASTORE_SYSROOT_S3=f"s3://{BUCKET}/metaflow", S3_ENDPOINT_URL=aws_env)
    s3 = aws.s3_client(s)
    assert s3.meta.endpoint_url == aws_env
    # botocore normalises max_attempts (retries) into total_max_attempts (attempts)
    assert s3.meta.config.retries == {"total_max_attempts": 11, "mode": "adaptive"}
    s3.create_bucket(Bucket=BUCKET)
    root = s.s3.datatools_root
    assert root == f"s3://{BUCKET}/metaflow/data"
    bucket, _, prefix = root[len("s3://") :].partition("/")
    key = f"{prefix}/hello.txt"
    s3.put_object(Bucket=bucket, Key=key, Body=b"hello metaflow", **s.s3.upload_args)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"hello metaflow"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/")["Contents"]
    assert [o["Key"] for o in listed] == ["metaflow/data/hello.txt"]


@pytest.mark.aws
def test_uploads_carry_server_side_encryption(aws_env: str, tmp_path: Path) -> None:
    """upload_args puts S3_SERVER_SIDE_ENCRYPTION on an upload_file upload."""
    from metaflow_config import aws

    s = _settings(
        tmp_path,
        DATASTORE_SYSROOT_S3=f"s3://{BUCKET}/mf",
        S3_ENDPOINT_URL=aws_env,
        S3_SERVER_SIDE_ENCRYPTION="AES256",
    )
    assert s.s3.upload_args == {"ServerSideEncryption": "AES256"}
    s3 = aws.s3_client(s)
    s3.create_bucket(Bucket=BUCKET)
    source = tmp_path / "artifact.bin"
    source.write_bytes(b"\x00" * 64)
    s3.upload_file(str(source), BUCKET, "mf/artifact.bin", ExtraArgs=s.s3.upload_args)
    head = s3.head_object(Bucket=BUCKET, Key="mf/artifact.bin")
    assert head["ServerSideEncryption"] == "AES256"


@pytest.mark.aws
def test_other_clients_use_the_session_region(aws_env: str, tmp_path: Path) -> None:
    """aws.client() builds any service's client in boto3's region, without the S3 settings."""
    from metaflow_config import aws

    s = _settings(tmp_path, S3_ENDPOINT_URL="https://minio.example")
    sfn = aws.client("stepfunctions", s, endpoint_url=aws_env)
    assert sfn.meta.region_name == "us-east-1"
    assert sfn.meta.endpoint_url == aws_env
    assert sfn.list_state_machines()["stateMachines"] == []


def test_settings_default_to_the_snapshot_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a snapshot, the clients use the process-wide settings (and its overrides)."""
    from metaflow_config import aws, override

    monkeypatch.setenv("METAFLOW_S3_ENDPOINT_URL", "https://a.example")
    recorder = _RecordingSession()
    aws.s3_client(boto_session=recorder)
    with override(S3_ENDPOINT_URL="https://b.example"):
        aws.s3_client(boto_session=recorder)
    assert [kw["endpoint_url"] for _, kw in recorder.calls] == [
        "https://a.example",
        "https://b.example",
    ]


# --- what boto3 refuses is a ConfigError --------------------------------------------------------

CANARY = "ZQXJ"  # in every secret a test below writes: text no output holds by chance


@pytest.fixture
def boto_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3 with a region and no AWS files, credentials or instance metadata (clients are
    made, never used)."""
    for key in list(os.environ):
        if key.startswith(("AWS_", "BOTO_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


def _hides_boto3s_error(err: ConfigError) -> None:
    """No text of ``err`` holds the canary, and no exception chain keeps boto3's error."""
    texts = [str(err), repr(err), *(str(p) for p in err.problems), *map(repr, err.problems)]
    for text in texts:
        assert CANARY not in text, text
    assert err.__cause__ is None
    assert err.__context__ is None


@pytest.mark.usefixtures("boto_env")
@pytest.mark.parametrize(
    ("params", "said"),
    [
        pytest.param({"region_name": 5}, "TypeError", id="region-a-number"),
        pytest.param({f"{CANARY}_kw": 1}, "unexpected keyword argument '****'", id="unknown-key"),
        pytest.param(
            {"aws_secret_access_key": [f"{CANARY}-secret"]},
            "PartialCredentialsError",
            id="partial-credentials",
        ),
        pytest.param(
            {"region_name": f"{CANARY} x"}, "Provided region_name '****'", id="region-quoted"
        ),
        pytest.param({"region_name": "Z Q"}, "region_name '****'", id="short-secret"),
        pytest.param({"api_version": 5}, "TypeError", id="api-version-a-number"),
    ],
)
def test_client_params_boto3_refuses_are_a_config_error(
    tmp_path: Path, params: dict[str, Any], said: str
) -> None:
    """``aws.s3_client()`` of DATATOOLS_CLIENT_PARAMS that ``check`` calls valid but boto3
    refuses raised boto3's error (``TypeError``, ``PartialCredentialsError``), which can quote
    the secret setting: it is a ConfigError naming the setting, its layer and its location,
    boto3's words masked, no chain keeping them."""
    from metaflow_config import aws

    s = _settings(tmp_path, DATATOOLS_CLIENT_PARAMS=json.dumps(params))
    with pytest.raises(ConfigError) as err:
        aws.s3_client(s)
    (problem,) = err.value.problems
    assert (problem.setting, problem.layer, problem.location) == (
        "METAFLOW_DATATOOLS_CLIENT_PARAMS",
        "env",
        "METAFLOW_DATATOOLS_CLIENT_PARAMS",
    )
    assert problem.value == "****"
    assert "it refused the S3 client made from METAFLOW_DATATOOLS_CLIENT_PARAMS" in str(problem)
    assert said in problem.expected
    assert "Z Q" not in str(err.value)
    _hides_boto3s_error(err.value)


@pytest.mark.usefixtures("boto_env")
def test_a_profiles_client_params_are_named_by_file_and_key(tmp_path: Path) -> None:
    """The setting's location is the profile file and key, as every other error says it."""
    from metaflow_config import aws
    from metaflow_config.testing import write_profile

    home = tmp_path / "home"
    path = write_profile(home, {"DATATOOLS_CLIENT_PARAMS": {f"{CANARY}": 1}})
    s = load(env={}, home=home, cwd=tmp_path)
    with pytest.raises(ConfigError) as err:
        aws.client("s3", s)
    (problem,) = err.value.problems
    assert (problem.layer, problem.location) == (
        "profile",
        f"{path}:METAFLOW_DATATOOLS_CLIENT_PARAMS",
    )
    _hides_boto3s_error(err.value)


@pytest.mark.usefixtures("boto_env")
def test_the_sandbox_region_boto3_refuses_is_a_config_error(tmp_path: Path) -> None:
    """Any client made in the sandbox gets AWS_SANDBOX_REGION: one boto3 refuses is said so."""
    from metaflow_config import aws

    s = _settings(tmp_path, AWS_SANDBOX_ENABLED="true", AWS_SANDBOX_REGION="us east 1")
    with pytest.raises(ConfigError, match="METAFLOW_AWS_SANDBOX_REGION") as err:
        aws.client("batch", s)
    assert "InvalidRegionError" in err.value.problems[0].expected
    _hides_boto3s_error(err.value)


@pytest.mark.usefixtures("boto_env")
def test_arguments_of_the_call_boto3_refuses_are_said_as_the_calls(tmp_path: Path) -> None:
    """What the caller gave (an endpoint botocore refuses, printing its password; a keyword it
    does not take) is an error of the call's arguments, not of a setting held to botocore's
    rules (S3_ENDPOINT_URL)."""
    from metaflow_config import aws

    s = _settings(tmp_path, S3_ENDPOINT_URL="http://minio:9000")
    for kwargs in ({"endpoint_url": f"https://u:{CANARY}@my_host"}, {f"{CANARY}_kw": 1}):
        with pytest.raises(ConfigError, match=r"^invalid argument: s3_client\(\.\.\.\)") as err:
            aws.s3_client(s, **kwargs)
        assert "S3_ENDPOINT_URL" not in str(err.value)
        _hides_boto3s_error(err.value)


@pytest.mark.usefixtures("boto_env")
def test_what_no_setting_gave_is_boto3s_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A region boto3 refuses from AWS_DEFAULT_REGION is boto3's business: its error as it is."""
    from botocore.exceptions import InvalidRegionError

    from metaflow_config import aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us east 1")
    with pytest.raises(InvalidRegionError):
        aws.s3_client(_settings(tmp_path))
    assert aws.s3_client(_settings(tmp_path), region_name="eu-west-1") is not None
