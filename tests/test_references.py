"""Secret references: kept in Secrets Manager or SSM, fetched when read, exported as references.

AWS is a moto server on 127.0.0.1 (``AWS_ENDPOINT_URL`` points boto3 there); the secret values
are canaries that must never appear on a surface that shows values.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import metaflow_config.compat as compat
from metaflow_config import ConfigError, Settings, load, override
from metaflow_config._model.references import Reference
from tests.conftest import invoke, write_json

CANARY = "canary-ZQXJ-9f31"
SM = "{{resolve:secretsmanager:mf/auth}}"


def _load(tmp_path: Path, env: dict[str, str] | None = None, **profile: Any) -> Settings:
    home = tmp_path / "home"
    write_json(home / "config.json", {f"METAFLOW_{k}": v for k, v in profile.items()})
    return load(env=dict(os.environ, **(env or {})), home=home, cwd=tmp_path)


# --- syntax, and nothing fetched before a read ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("{{resolve:secretsmanager:mf/auth}}", ("secretsmanager", "mf/auth", "")),
        (
            "{{resolve:secretsmanager:mf/auth:SecretString:key}}",
            ("secretsmanager", "mf/auth", "key"),
        ),
        (
            "{{resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbC}}",
            (
                "secretsmanager",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x-AbC",
                "",
            ),
        ),
        ("{{resolve:ssm:/mf/auth}}", ("ssm", "/mf/auth", "")),
    ],
)
def test_a_reference_stays_a_reference_through_resolution(
    tmp_path: Path, text: str, wanted: tuple[str, str, str]
) -> None:
    """Parsed at resolution, held as a reference: show, explain and to_env give it as written."""
    s = _load(tmp_path, SERVICE_AUTH_KEY=text)
    held = s._resolution.values["SERVICE_AUTH_KEY"]
    assert isinstance(held, Reference)
    assert (held.service, held.name, held.key) == wanted
    assert s.to_env("batch")["METAFLOW_SERVICE_AUTH_KEY"] == text
    assert repr(text) in str(s.explain("SERVICE_AUTH_KEY"))
    assert s._resolution.fetched == {}


@pytest.mark.parametrize(
    "text",
    [
        "{{resolve:secretsmanager:}}",
        "{{resolve:vault:mf/auth}}",
        "prefix {{resolve:ssm:x}}",
        "{{resolve:ssm:x",
        "a {{ stray",
        "{{resolve:secretsmanager:mf/auth:SecretString:}}",
        "{{resolve:ssm:/mf/x}}}",  # a brace too many: no service allows one in a name
        "{{resolve:secretsmanager:{{mf/auth}}",
    ],
)
def test_a_malformed_reference_is_a_config_error_naming_where(tmp_path: Path, text: str) -> None:
    """At resolution, with the file and key it came from."""
    with pytest.raises(ConfigError, match=r"METAFLOW_SERVICE_AUTH_KEY \(profile: .*config\.json"):
        _load(tmp_path, SERVICE_AUTH_KEY=text)
    with pytest.raises(ConfigError, match=r"METAFLOW_BATCH_JOB_QUEUE \(env: METAFLOW_BATCH_JOB"):
        load(env={"METAFLOW_BATCH_JOB_QUEUE": text}, home=tmp_path / "none", cwd=tmp_path)


def test_nothing_imports_boto3_before_a_read(tmp_path: Path) -> None:
    """Resolution, show, explain and to_env of a reference make no AWS call, import no boto3."""
    code = f"""
import sys
from metaflow_config import load
s = load(env={{"METAFLOW_SERVICE_AUTH_KEY": "{SM}"}}, home="/nonexistent", cwd="/")
s.to_env("batch"); str(s.explain("SERVICE_AUTH_KEY")); repr(s); s.service.url
print("boto3" in sys.modules, "botocore" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_sections_repr_and_equality_never_fetch() -> None:
    """A section's ``repr`` (``str``, ``pprint``, a traceback's locals) shows a secret reference
    as written and ``==`` compares references: no boto3, no AWS call, no error where AWS does
    not answer (here: no region, no credentials)."""
    code = """
import pprint, sys
from metaflow_config import current, load, override
env = {"METAFLOW_SERVICE_AUTH_KEY": "SM"}
other = {"METAFLOW_SERVICE_AUTH_KEY": "{{resolve:ssm:/other}}"}
s, same, different = (load(env=e, home="/nonexistent", cwd="/") for e in (env, env, other))
print(repr(s.service))
print(str(s.service) == repr(s.service) == pprint.pformat(s.service))
print(s.service == same.service, s.service != different.service)
with override(env=env, home="/nonexistent"):
    print(repr(current().service) == repr(s.service))
print("boto3" in sys.modules, "botocore" in sys.modules)
""".replace("SM", SM)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BOTO"))}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f"auth_key={SM!r}" in lines[0]
    assert lines[1:] == ["True", "True True", "True", "False False"]


@pytest.mark.aws
def test_a_fetched_secret_is_not_in_a_sections_repr(aws: Any, tmp_path: Path) -> None:
    """Read, the secret is the section's value; its ``repr`` still shows where it is kept, and
    the section equals that of a snapshot that has not fetched it."""
    aws.client("secretsmanager").create_secret(Name="mf/auth", SecretString=CANARY)
    s = _load(tmp_path, SERVICE_AUTH_KEY=SM)
    assert s.service.auth_key == CANARY
    assert CANARY not in repr(s.service)
    assert f"auth_key={SM!r}" in repr(s.service)
    assert s.service == _load(tmp_path, SERVICE_AUTH_KEY=SM).service


_NOT_SECRET = ("DATASTORE_SYSROOT_S3", "USER", "BATCH_JOB_QUEUE", "SERVICE_URL", "S3_RETRY_COUNT")


@pytest.mark.parametrize("name", _NOT_SECRET)
@pytest.mark.parametrize("layer", ["profile", "env", "override"])
def test_a_reference_outside_a_secret_setting_is_refused(
    tmp_path: Path, name: str, layer: str
) -> None:
    """Only a secret setting fetches a reference: anywhere else it is a ConfigError, said why.

    A reference in an ordinary setting (``METAFLOW_USER``) would have been fetched with the
    user's credentials and printed, logged or stored as an ordinary value.
    """
    reference = "{{resolve:secretsmanager:prod/db-password}}"
    home = tmp_path / "home"
    env: dict[str, str] = {}
    overrides: dict[str, str] = {}
    if layer == "profile":
        write_json(home / "config.json", {f"METAFLOW_{name}": reference})
    elif layer == "env":
        env[f"METAFLOW_{name}"] = reference
    else:
        overrides[name] = reference
    with pytest.raises(ConfigError) as info:
        load(env=env, home=home, cwd=tmp_path, overrides=overrides)
    (problem,) = info.value.problems
    assert problem.setting == f"METAFLOW_{name}"
    assert problem.layer == layer
    assert "it begins a secret reference, which only a secret setting takes" in problem.expected
    assert "METAFLOW_SERVICE_AUTH_KEY" in problem.expected


def test_no_derivation_reads_a_secret_setting() -> None:
    """The table's law that makes references safe to leave out of derivation: no secret base.

    A derived value is computed at resolution (no fetch); were a secret one of its bases, it
    would derive from the reference's text.
    """
    from metaflow_config._model.table import BY_NAME, DERIVED

    for setting in DERIVED:
        assert setting.derive is not None
        assert not [b for b in setting.derive.bases if BY_NAME[b].secret], setting.name


# --- fetching on moto ------------------------------------------------------------------------


@pytest.fixture
def aws(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """boto3 pointed at moto (``AWS_ENDPOINT_URL``); yields a session for setting things up."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)
    return boto3.session.Session(region_name="us-east-1")


@pytest.mark.aws
def test_secrets_manager_plain_and_json_key_and_ssm(aws: Any, tmp_path: Path) -> None:
    """Read through sections, by name, effective headers and compat; the values are the secrets."""
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="mf/auth", SecretString=CANARY)
    sm.create_secret(Name="mf/json", SecretString=json.dumps({"token": CANARY + "-j"}))
    aws.client("ssm").put_parameter(
        Name="/mf/headers", Value=json.dumps({"x-team": CANARY + "-h"}), Type="SecureString"
    )
    s = _load(
        tmp_path,
        SERVICE_AUTH_KEY=SM,
        AWS_SANDBOX_API_KEY="{{resolve:secretsmanager:mf/json:SecretString:token}}",
        SERVICE_HEADERS="{{resolve:ssm:/mf/headers}}",
    )
    assert s.service.auth_key == CANARY
    assert s["METAFLOW_SERVICE_AUTH_KEY"] == CANARY
    assert s.sandbox.api_key == CANARY + "-j"
    assert s.service.headers == {"x-team": CANARY + "-h"}
    assert s.service.effective_headers == {"x-team": CANARY + "-h", "x-api-key": CANARY}
    with override(home=tmp_path / "home", cwd=tmp_path):
        assert compat.SERVICE_AUTH_KEY == CANARY
    surfaces = [
        repr(s),
        str(s.explain("SERVICE_AUTH_KEY")),
        repr(vars(s.service)),
        repr(s.to_env()),
    ]
    assert not [text for text in surfaces if CANARY in text]
    assert "  secret:   a reference: fetched\n" in str(s.explain("SERVICE_AUTH_KEY")) + "\n"


@pytest.mark.aws
def test_a_reference_is_fetched_once_per_snapshot(aws: Any, tmp_path: Path) -> None:
    """Kept for the snapshot's life; reload() fetches again."""
    sm = aws.client("secretsmanager")
    sm.create_secret(Name="mf/auth", SecretString=CANARY)
    s = _load(tmp_path, SERVICE_AUTH_KEY=SM)
    assert s.service.auth_key == CANARY
    sm.delete_secret(SecretId="mf/auth", ForceDeleteWithoutRecovery=True)
    assert s["SERVICE_AUTH_KEY"] == CANARY  # the snapshot's copy
    with pytest.raises(ConfigError, match="an existing secretsmanager entry 'mf/auth'"):
        s.reload()["SERVICE_AUTH_KEY"]


@pytest.mark.aws
@pytest.mark.parametrize(
    ("stored", "text", "match"),
    [
        (None, SM, r"an existing secretsmanager entry 'mf/auth'"),
        (
            '{"other": "x"}',
            "{{resolve:secretsmanager:mf/auth:SecretString:token}}",
            "the key 'token'",
        ),
        ("not json " + CANARY, "{{resolve:secretsmanager:mf/auth:SecretString:t}}", "the key 't'"),
        pytest.param(  # past MAX_JSON_DEPTH (and json's recursion limit before 3.13): a ConfigError
            '{"t": ' + "[" * 5000 + "]" * 5000 + "}",
            "{{resolve:secretsmanager:mf/auth:SecretString:t}}",
            "the key 't'",
            id="nested-too-deeply",
        ),
        (None, "{{resolve:ssm:/mf/none}}", r"an existing ssm entry '/mf/none'"),
    ],
)
def test_a_failed_fetch_names_the_setting_and_the_reference(
    aws: Any, tmp_path: Path, stored: str | None, text: str, match: str
) -> None:
    """Not found, a missing JSON key: a ConfigError naming setting, reference, layer and file."""
    if stored is not None:
        aws.client("secretsmanager").create_secret(Name="mf/auth", SecretString=stored)
    s = _load(tmp_path, SERVICE_AUTH_KEY=text)
    with pytest.raises(ConfigError, match=match) as info:
        s.service.auth_key  # noqa: B018 - the read fetches
    message = str(info.value)
    assert "METAFLOW_SERVICE_AUTH_KEY" in message
    assert text in message
    assert "profile: " in message
    assert "config.json" in message
    assert CANARY not in message


@pytest.mark.aws
@pytest.mark.parametrize(
    ("setting", "stored", "text"),
    [
        pytest.param(
            "SERVICE_AUTH_KEY",
            json.dumps({"other": CANARY + "-other", "db": CANARY}),
            "{{resolve:secretsmanager:mf/auth:SecretString:token}}",
            id="missing-key",
        ),
        pytest.param(
            "SERVICE_AUTH_KEY",
            "not json " + CANARY,
            "{{resolve:secretsmanager:mf/auth:SecretString:token}}",
            id="not-json",
        ),
        pytest.param(
            "SERVICE_HEADERS",
            json.dumps({"h": "[" + CANARY + "]", "other": CANARY + "-other"}),
            "{{resolve:secretsmanager:mf/auth:SecretString:h}}",
            id="key-not-of-the-setting-s-kind",
        ),
        pytest.param(
            "SERVICE_HEADERS",
            "[" + CANARY + "]",
            "{{resolve:secretsmanager:mf/auth}}",
            id="text-not-of-the-setting-s-kind",
        ),
    ],
)
def test_no_frame_a_failed_fetch_passes_through_holds_the_fetched_text(
    aws: Any, tmp_path: Path, setting: str, stored: str, text: str
) -> None:
    """``pytest -l``, Sentry and rich tracebacks show every frame's locals: the secret fetched
    (every key of a shared JSON secret) is no local of a frame the ConfigError passes through."""
    from metaflow_config.aws import fetch_reference
    from tests._frames import frames_showing, raised

    aws.client("secretsmanager").create_secret(Name="mf/auth", SecretString=stored)
    s = _load(tmp_path, **{setting: text})
    error = raised(lambda: s[setting])
    assert "METAFLOW_" + setting in str(error)
    assert frames_showing(error, CANARY) == []
    reference = s._resolution.values[setting]
    if reference.key == "token":  # no such key: aws.fetch_reference fails the same way
        error = raised(lambda: fetch_reference(reference, s, setting, text))
        assert frames_showing(error, CANARY) == []


@pytest.mark.aws
def test_what_is_fetched_is_validated_as_the_setting(aws: Any, tmp_path: Path) -> None:
    """SERVICE_HEADERS must yield a JSON object of strings; the fetched text is never shown."""
    aws.client("ssm").put_parameter(Name="/mf/h", Value="[" + CANARY + "]", Type="SecureString")
    s = _load(tmp_path, SERVICE_HEADERS="{{resolve:ssm:/mf/h}}")
    with pytest.raises(ConfigError, match=r"METAFLOW_SERVICE_HEADERS.*JSON") as info:
        s.service.effective_headers  # noqa: B018
    assert CANARY not in str(info.value)


@pytest.mark.aws
@pytest.mark.parametrize("stored", ["{{resolve:ssm:/mf/other}}", "ab{{cd" + CANARY])
def test_what_is_fetched_is_a_value_whatever_it_holds(
    aws: Any, tmp_path: Path, stored: str
) -> None:
    """A fetched text holding ``{{`` is the secret itself: never a reference fetched again (a
    ``Reference`` whose repr would show it), nor refused as a malformed one."""
    aws.client("ssm").put_parameter(Name="/mf/k", Value=stored, Type="SecureString")
    s = _load(tmp_path, SERVICE_AUTH_KEY="{{resolve:ssm:/mf/k}}")
    assert type(s.service.auth_key) is not Reference
    assert s.service.auth_key == stored
    assert s.service.effective_headers["x-api-key"] == stored
    surfaces = [repr(s.service.auth_key), repr(s.service.effective_headers), repr(s)]
    assert not [text for text in surfaces if stored in text]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.aws
def test_a_server_that_never_answers_is_bounded(
    aws_env: str, silent_server: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Read timeouts and at most one retry: a ConfigError, in bounded time."""
    from metaflow_config._snapshot import fetch

    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_server)
    monkeypatch.setattr(fetch, "FETCH_TIMEOUTS", {"connect_timeout": 1, "read_timeout": 1})
    s = _load(tmp_path, SERVICE_AUTH_KEY=SM)
    start = time.monotonic()
    with pytest.raises(ConfigError, match="within the timeouts"):
        s.service.auth_key  # noqa: B018
    assert time.monotonic() - start < 15


# --- remote containers and the command line -------------------------------------------------------


@pytest.mark.aws
def test_to_env_carries_the_reference_and_the_container_fetches_it(
    aws: Any, aws_env: str, tmp_path: Path
) -> None:
    """The plaintext never enters the job's environment; a fresh process reads the secret."""
    aws.client("secretsmanager").create_secret(Name="mf/auth", SecretString=CANARY)
    s = _load(tmp_path, SERVICE_AUTH_KEY=SM, SERVICE_URL="https://mf.example.com/api")
    exported = s.to_env("batch")
    assert exported["METAFLOW_SERVICE_AUTH_KEY"] == SM
    assert CANARY not in json.dumps(exported)
    container = {
        **exported,
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": aws_env,
    }
    code = "from metaflow_config import settings; print(settings.service.auth_key)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=container, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == CANARY


def test_show_and_env_give_the_reference(tmp_path: Path) -> None:
    """The commands show where the secret is kept; env exports the reference as is."""
    home = Path(os.environ["METAFLOW_HOME"])
    write_json(home / "config.json", {"METAFLOW_SERVICE_AUTH_KEY": SM})
    assert SM in invoke("show").stdout
    assert "fetched when first read (not yet)" in invoke("explain", "SERVICE_AUTH_KEY").stdout
    assert f"METAFLOW_SERVICE_AUTH_KEY='{SM}'" in invoke("env", "--reveal-secrets").stdout
    assert f"METAFLOW_SERVICE_AUTH_KEY='{SM}'" in invoke("env").stdout  # not a secret itself


def test_configure_accepts_a_reference_and_says_it_will_be_fetched() -> None:
    """``--set KEY={{resolve:...}}`` is written as the reference, and said."""
    home = Path(os.environ["METAFLOW_HOME"])
    result = invoke("configure", "aws", "--yes", "--set", f"SERVICE_AUTH_KEY={SM}")
    assert result.exit_code == 0, result.output
    assert "will be fetched from secretsmanager" in result.output
    saved = json.loads((home / "config.json").read_text())
    assert saved["METAFLOW_SERVICE_AUTH_KEY"] == SM


def test_no_region_is_said_as_such_not_as_a_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's NoRegionError: "an AWS region", fixed by setting one (no network blamed)."""
    for key in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    s = _load(tmp_path, SERVICE_AUTH_KEY="{{resolve:ssm:/mf/auth}}")
    with pytest.raises(ConfigError) as caught:
        s.service.auth_key  # noqa: B018
    text = str(caught.value)
    assert "expected an AWS region to fetch it from for {{resolve:ssm:/mf/auth}}" in text
    assert "Fix: set AWS_DEFAULT_REGION (or AWS_REGION)" in text
    assert "timeouts" not in text
    assert "network" not in text
