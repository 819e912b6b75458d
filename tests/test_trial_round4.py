"""Findings of the fourth round of outside trials (newcomer, attacker, platform, contract).

Each test failed before its fix; the docstring says what a user did and what happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Optional

import pytest

from metaflow_config import ConfigError, load
from tests.conftest import invoke


def _profile() -> Path:
    return Path(os.environ["METAFLOW_HOME"]) / "config.json"


# --- newcomer: a name its service refuses, on every write path -------------------------------


@pytest.mark.parametrize(
    ("item", "said"),
    [
        ("BATCH_JOB_QUEUE=gpu queue", "holds a blank, so it is not a job queue's name"),
        ('BATCH_JOB_QUEUE="gpu-queue"', "is not a job queue's name"),
        ("KUBERNETES_SERVICE_ACCOUNT=My SA", "Kubernetes service account"),
        ("KUBERNETES_NAMESPACE=Team ML", "namespace"),
    ],
)
def test_configure_set_refuses_what_the_prompt_refuses(item: str, said: str) -> None:
    """``configure aws --set 'BATCH_JOB_QUEUE=gpu queue' --yes`` wrote the name the same
    wizard refuses when typed at its prompt (README: ``--set`` "validates every value"); the
    first job failed at AWS Batch. Refused with the form and an example, nothing written."""
    result = invoke("configure", "aws", "--yes", "--set", item)
    assert result.exit_code == 1
    err = result.output + (result.stderr or "")
    assert said in err, err
    assert "Fix: pass --set METAFLOW_" in err
    assert not _profile().exists()


def test_import_warns_of_a_name_its_service_refuses(tmp_path: Path) -> None:
    """``import FILE`` of a profile whose job queue holds a blank wrote it and said nothing:
    it is written as the file says (it is the user's file), with the warning ``check`` gives,
    before the confirmation."""
    source = tmp_path / "team.json"
    source.write_text(json.dumps({"METAFLOW_BATCH_JOB_QUEUE": "gpu queue"}))
    result = invoke("import", str(source), input="y\n")
    assert result.exit_code == 0, result.output
    err = result.stderr or result.output
    assert "Warning: METAFLOW_BATCH_JOB_QUEUE holds a blank" in err, err
    assert "e.g. gpu-queue" in err
    assert json.loads(_profile().read_text())["METAFLOW_BATCH_JOB_QUEUE"] == "gpu queue"


# --- newcomer: the ways out of an invalid configuration, where they work ---------------------


def _import_metaflow(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    env.update(HOME=str(tmp_path / "home"), USER="newcomer", **extra)
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", "import metaflow"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "broken",
    [
        "malformed",
        "a-list",
        "missing-profile",
        "bad-value",
        "not-a-number",
        "nested-too-deep",
        "many-digits",
    ],
)
def test_the_ways_out_said_are_ways_that_work(tmp_path: Path, broken: str) -> None:
    """A flow run on a profile with a trailing comma (or a ``METAFLOW_PROFILE`` not created
    yet) said "`metaflow configure` still runs, to repair it; ... set
    METAFLOW_CONFIG_EXTENSION=0": both failed there too (Metaflow's own reading of the file
    raises). Said only where they work: the extension off, Metaflow then runs."""
    pytest.importorskip("metaflow")
    mfhome = tmp_path / "home" / ".metaflowconfig"
    mfhome.mkdir(parents=True)
    extra: dict[str, str] = {}
    if broken == "missing-profile":
        extra["METAFLOW_PROFILE"] = "prod"
    else:
        text = {
            "malformed": '{"METAFLOW_BATCH_JOB_QUEUE": "q",}\n',
            "a-list": '["METAFLOW_BATCH_JOB_QUEUE"]\n',
            "bad-value": '{"METAFLOW_BATCH_EMIT_TAGS": "maybe"}\n',
            # final trial: Metaflow's from_conf converts it with int(), which raises
            "not-a-number": '{"METAFLOW_S3_RETRY_COUNT": "abc"}\n',
            # hostile files the prediction reads: no crash; what Metaflow's int() takes (past
            # 4,300 digits, Pythons with int()'s digit limit refuse)
            "nested-too-deep": "[" * 100_000,
            "many-digits": json.dumps({"METAFLOW_S3_RETRY_COUNT": "9" * 5000}),
        }[broken]
        (mfhome / "config.json").write_text(text)
    report = _import_metaflow(tmp_path, **extra)
    assert report.returncode == 1, report.stderr
    assert "invalid Metaflow configuration" in report.stderr
    off = _import_metaflow(tmp_path, METAFLOW_CONFIG_EXTENSION="0", **extra)
    works = off.returncode == 0
    # int()'s digit limit (3.11, and the security releases of 3.9 and 3.10) refuses 5,000
    limited = hasattr(sys, "get_int_max_str_digits")
    expected = broken == "bad-value" or (broken == "many-digits" and not limited)
    assert works == expected, off.stderr[-500:]
    offered = "METAFLOW_CONFIG_EXTENSION=0" in report.stderr
    assert offered == works, report.stderr
    assert ("Metaflow's own reading fails on it too" in report.stderr) == (not works)


# --- newcomer: a value refused for the quotes pasted around it says so -----------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METAFLOW_DEFAULT_DATASTORE", '"s3"'),
        ("METAFLOW_BATCH_EMIT_TAGS", '"true"'),
        ("METAFLOW_SERVICE_RETRY_COUNT", "'3'"),
        ("METAFLOW_DATASTORE_SYSROOT_S3", "'s3://bucket/mf'"),
    ],
)
def test_a_value_valid_but_for_its_quotes_says_to_remove_them(name: str, value: str) -> None:
    """``METAFLOW_DEFAULT_DATASTORE='"s3"'`` (an ``env_file`` line keeps its quotes) was refused
    as no plugin name; ``check`` knew the mistake for valid text only. Said in the error."""
    with pytest.raises(ConfigError) as raised:
        load(env={name: value})
    assert "wrapped in quotes" in str(raised.value)


@pytest.mark.parametrize("value", ['"maybe"', '"', "''", '"true'])
def test_quotes_are_said_only_where_removing_them_helps(value: str) -> None:
    """Quotes around a value that is wrong without them too: nothing said of quotes."""
    with pytest.raises(ConfigError) as raised:
        load(env={"METAFLOW_BATCH_EMIT_TAGS": value})
    assert "wrapped in quotes" not in str(raised.value)


# --- attacker: the sandbox's API key as a secret reference -----------------------------------


@pytest.mark.parametrize("target", ["batch", "sfn", "kubernetes", "airflow"])
def test_show_target_with_a_sandbox_key_reference(target: str) -> None:
    """``show --target sfn`` with the sandbox on and ``AWS_SANDBOX_API_KEY`` a reference
    stopped with "unexpected TypeError: Object of type Reference is not JSON serializable":
    Metaflow's headers entry was built with the reference in it. It is replaced, as for the
    auth key's reference: the task gets the reference and fetches it."""
    env = {
        "METAFLOW_AWS_SANDBOX_ENABLED": "1",
        "METAFLOW_AWS_SANDBOX_REGION": "us-east-1",
        "METAFLOW_AWS_SANDBOX_API_KEY": "{{resolve:ssm:/mf/sandbox-key}}",
        "METAFLOW_SERVICE_URL": "https://mf.example.com",
        "METAFLOW_AWS_SANDBOX_INTERNAL_SERVICE_URL": "https://mfi.example.com",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://my-bucket/mf",
    }
    result = invoke("show", "--target", target, "--all", "--json", env=env)
    assert result.exit_code == 0, result.output + (result.stderr or "")
    rows = {row["name"]: row for row in json.loads(result.stdout)["settings"]}
    assert rows["METAFLOW_AWS_SANDBOX_API_KEY"]["value"] == env["METAFLOW_AWS_SANDBOX_API_KEY"]
    assert "x-api-key" not in (rows.get("METAFLOW_SERVICE_HEADERS", {}).get("value") or "")


@pytest.mark.parametrize("missing", [True, False])
def test_metaflow_configure_offers_reset_only_of_a_file_there(
    tmp_path: Path, missing: bool
) -> None:
    """``metaflow configure show`` with a ``METAFLOW_PROFILE`` not created yet said to start the
    profile again with ``metaflow-config reset``, which answers "Nothing to reset"."""
    pytest.importorskip("metaflow")
    mfhome = tmp_path / "home" / ".metaflowconfig"
    mfhome.mkdir(parents=True)
    if not missing:
        (mfhome / "config_prod.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q",}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    env.update(HOME=str(tmp_path / "home"), USER="newcomer", METAFLOW_PROFILE="prod")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("metaflow")), "configure", "show"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "cannot run on it either" in done.stderr, done.stderr
    assert ("metaflow-config reset" in done.stderr) == (not missing)


# --- contract: settings handed to a process pool inside override() ---------------------------


def _pickled_in_a_thread(payload: object, *, context: bool = False) -> list[object]:
    import contextvars
    import pickle
    import threading

    out: list[object] = []

    def work() -> None:
        back = pickle.loads(pickle.dumps(payload))  # noqa: S301 - its own pickle
        out.append(back["METAFLOW_BATCH_JOB_QUEUE"])  # type: ignore[index]

    target = contextvars.copy_context().run if context else None
    thread = threading.Thread(target=(lambda: target(work)) if target else work)
    thread.start()
    thread.join()
    return out


def test_settings_pickled_by_a_pools_thread_inside_an_override_warns() -> None:
    """``with override(BATCH_JOB_QUEUE="gpu"): pool.submit(work, settings)``: the pool pickles
    its arguments in a thread of its own, where no override is in force, and the worker read
    ``None``, silently. Said, with the fix: pass ``current()``."""
    from metaflow_config import ConfigWarning, current, override, settings

    with override(BATCH_JOB_QUEUE="gpu"):
        with pytest.warns(ConfigWarning, match=r"pass metaflow_config\.current\(\)"):
            assert _pickled_in_a_thread(settings) == [None]
        assert _pickled_in_a_thread(current()) == ["gpu"]  # the fix said
        assert _pickled_in_a_thread(settings, context=True) == ["gpu"]  # a copied context


def test_settings_pickled_where_no_override_is_alive_does_not_warn() -> None:
    """No override anywhere: the process-wide snapshot is the one meant, in any thread."""
    import warnings

    from metaflow_config import settings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _pickled_in_a_thread(settings) == [None]


# --- contract: cwd= as home= is taken ---------------------------------------------------------


def test_a_cwd_given_with_a_tilde_finds_its_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``load(cwd="~/proj")`` searched ``<cwd>/~/proj``, silently no project (``home="~/..."``
    is expanded); ``override(cwd=...)`` the same."""
    from metaflow_config import override

    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "proj" / ".metaflow").mkdir(parents=True)
    (tmp_path / "proj" / ".metaflow" / "config.json").write_text('{"METAFLOW_S3_WORKER_COUNT": 7}')
    assert load(cwd="~/proj")["METAFLOW_S3_WORKER_COUNT"] == 7
    with override(cwd="~/proj") as snap:
        assert snap["METAFLOW_S3_WORKER_COUNT"] == 7


@pytest.mark.parametrize("kind", ["missing", "a-file"])
def test_a_cwd_that_is_no_directory_is_an_invalid_argument(tmp_path: Path, kind: str) -> None:
    """``load(cwd=...)`` of a folder that is not there (a typo) read no project, silently."""
    from metaflow_config import override

    where = tmp_path / "nope"
    if kind == "a-file":
        where.write_text("")
    for call in (lambda: load(cwd=where), lambda: override(cwd=str(where)).__enter__()):
        with pytest.raises(ConfigError, match=r"invalid argument.*cwd=.*an existing directory"):
            call()


# --- contract: iterating a snapshot -----------------------------------------------------------


def test_iterating_settings_is_pythons_not_iterable() -> None:
    """``list(settings)`` said "invalid argument: settings[name]: got 0": Python's fallback
    to ``__getitem__`` with 0, 1, ... A snapshot is not iterable (``items()`` is)."""
    from metaflow_config import settings

    for snapshot in (load(env={}), settings):
        with pytest.raises(TypeError, match="not iterable"):
            list(snapshot)  # type: ignore[call-overload]
        assert dict(snapshot.items())["METAFLOW_BATCH_JOB_QUEUE"] is None


# --- contract: the snapshot's keyword, as testing names it ------------------------------------


@pytest.mark.parametrize("call", ["s3_client", "client"])
def test_an_aws_helper_given_snapshot_says_settings(call: str) -> None:
    """``aws.s3_client(snapshot=s)`` (``testing``'s helpers name the snapshot so) said only
    "unexpected keyword argument '****'" (a caller's keyword may come from a secret dict, so
    boto3's quotes stay masked). The one keyword of this package's own vocabulary is said."""
    pytest.importorskip("boto3")
    from metaflow_config import aws

    snapshot = load(env={"AWS_DEFAULT_REGION": "us-east-1"})
    args = () if call == "s3_client" else ("batch",)
    with pytest.raises(ConfigError, match=rf"{call}\(snapshot=\.\.\.\).*settings="):
        getattr(aws, call)(*args, snapshot=snapshot)


# --- contract: a wrong argument to a public helper is a ConfigError ---------------------------


def test_wrong_arguments_to_the_helpers_are_invalid_arguments() -> None:
    """``LayerSource(A, "defaults")`` and ``assert_source(..., "environment")`` raised
    ``ValueError``; ``child_env(base=5)`` an ``AttributeError``: README says a wrong argument
    to a call is a ``ConfigError`` headed "invalid argument"."""
    pytest.importorskip("pydantic_settings")
    from metaflow_config import testing
    from metaflow_config.pydantic import LayerSource, MetaflowBaseSettings

    class A(MetaflowBaseSettings):
        pass

    calls = [
        lambda: LayerSource(A, "defaults"),
        lambda: testing.assert_source("BATCH_JOB_QUEUE", "environment"),
        lambda: testing.child_env(base=5),  # type: ignore[arg-type]
        lambda: testing.child_env(base={"METAFLOW_X": 5}),  # type: ignore[dict-item]
    ]
    for call in calls:
        with pytest.raises(ConfigError, match=r"^invalid argument: "):
            call()


# --- contract: where in a registered section's nested value a problem is ---------------------


def test_a_nested_fields_problem_says_where_it_is() -> None:
    """A section's nested model refused for its ``count``: the error said "METAFLOW_ACME_GPU:
    got ****; expected a whole number" (masked: the model holds a secret), naming no field.
    The place is said: a nested model's fields and a list's items; a secret map's keys not."""
    pytest.importorskip("pydantic_settings")
    from pydantic import BaseModel, SecretStr
    from pydantic_settings import SettingsConfigDict

    from metaflow_config import override
    from metaflow_config.pydantic import MetaflowBaseSettings

    class Gpu(BaseModel):
        count: int = 1
        token: Optional[SecretStr] = None

    class Acme(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
        gpu: Gpu = Gpu()
        hdrs: dict[str, SecretStr] = {}  # noqa: RUF012 - a model's default
        ids: list[int] = []  # noqa: RUF012

    env = {
        "METAFLOW_ACME_GPU": json.dumps({"count": "x", "token": "t0k"}),
        "METAFLOW_ACME_HDRS": json.dumps({"sekrit-header": 5}),
        "METAFLOW_ACME_IDS": '[1, 2, "three"]',
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not registered: "not a setting"
        with override(env=env), pytest.raises(ConfigError) as raised:
            Acme()
    said = str(raised.value)
    assert "(at .count)" in said
    assert "(at [2])" in said
    assert "(at [...])" in said
    assert "sekrit" not in said
    assert "t0k" not in said


# --- contract: help() of the public objects ----------------------------------------------------


def test_help_shows_settings_and_its_sections_in_their_own_words() -> None:
    """``help(settings)`` showed the proxy's internals ("while their sections are not
    cached") and its methods as properties without signatures; ``help(settings.batch)``
    listed none of the section's settings."""
    import pydoc

    from metaflow_config import Settings, settings

    text = pydoc.render_doc(settings, renderer=pydoc.plaintext)
    assert "not cached" not in text
    assert Settings.__doc__.splitlines()[0] in text  # type: ignore[union-attr]
    assert "explain(self, name: 'str') -> 'Explanation'" in text
    section = pydoc.render_doc(settings.batch, renderer=pydoc.plaintext)
    assert "job_queue: METAFLOW_BATCH_JOB_QUEUE. AWS Batch job queue" in section
    assert type(settings.batch).__doc__.startswith("AWS Batch")  # type: ignore[union-attr]


def test_override_given_strict_says_where_strictness_is_set() -> None:
    """``override(strict=True)`` (``load`` takes it) said "strict: expected the name of a
    setting"; it says that a scope takes no ``strict=``, and where strictness is set."""
    from metaflow_config import override

    with pytest.raises(
        ConfigError, match=r"^invalid argument: override\(strict=\.\.\.\).*load\(\)"
    ):
        override(strict=True)


# --- wild profiles: what Metaflow alone reads, this package refuses ---------------------------


def _metaflow(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    env.update(HOME=str(tmp_path / "home"), USER="migrating", **extra)
    command = (
        [str(Path(sys.executable).with_name("metaflow")), *args]
        if args
        else [
            sys.executable,
            "-c",
            "import metaflow",
        ]
    )
    return subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_metaflow_configure_runs_on_a_profile_name_only_metaflow_takes(tmp_path: Path) -> None:
    """``METAFLOW_PROFILE="my team" metaflow configure show``: refused here (a name with a
    blank), read by Metaflow alone; ``metaflow configure`` said it could not run, though it is
    how a profile is repaired. It runs on Metaflow's own reading of the profile."""
    pytest.importorskip("metaflow")
    mfhome = tmp_path / "home" / ".metaflowconfig"
    mfhome.mkdir(parents=True)
    (mfhome / "config_my team.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "gpu-queue"}')
    done = _metaflow(tmp_path, "configure", "show", METAFLOW_PROFILE="my team")
    assert done.returncode == 0, done.stderr
    assert "METAFLOW_BATCH_JOB_QUEUE=gpu-queue" in done.stdout
    assert "runs on Metaflow's own reading" in done.stderr


def test_a_profile_over_the_cap_is_one_metaflow_alone_reads(tmp_path: Path) -> None:
    """A 1.5 MB profile (a CA bundle pasted in an extension's key): refused here, read by
    Metaflow alone, yet the report said Metaflow's own reading fails too. The switch is
    offered, and works."""
    pytest.importorskip("metaflow")
    mfhome = tmp_path / "home" / ".metaflowconfig"
    mfhome.mkdir(parents=True)
    big = {"METAFLOW_BATCH_JOB_QUEUE": "q", "METAFLOW_ACME_CA_BUNDLE": "x" * 1_500_000}
    (mfhome / "config.json").write_text(json.dumps(big))
    report = _metaflow(tmp_path)
    assert report.returncode == 1
    assert "METAFLOW_CONFIG_EXTENSION=0" in report.stderr, report.stderr
    assert _metaflow(tmp_path, METAFLOW_CONFIG_EXTENSION="0").returncode == 0


@pytest.mark.parametrize(
    "command",
    [
        ["configure", "aws", "--yes", "--set", "BATCH_JOB_QUEUE=gpu"],
        ["migrate", "--yes"],
        ["trust"],
        ["reset"],  # final trial: the removal asked first, then failed with the bare error
    ],
)
def test_a_read_only_home_is_said_before_any_change(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A ``METAFLOW_HOME`` on a read-only NFS mount: the changes were listed, then "Error:
    Read-only file system". Refused first, with the way out (a home of one's own)."""
    from metaflow_config._sources import writable

    home = Path(os.environ["METAFLOW_HOME"])
    (home / "config.json").write_text('{"METAFLOW_DATATOOLS_SYSROOT_S3": "s3://b/mf/data"}')
    (Path.cwd() / ".metaflow").mkdir()
    (Path.cwd() / ".metaflow" / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q"}')
    monkeypatch.setattr(
        writable, "on_read_only_mount", lambda path: str(path).startswith(str(home))
    )
    result = invoke(*command)
    said = result.output + (result.stderr or "")
    assert result.exit_code == 1, said
    assert "mounted read-only" in said
    assert 'export METAFLOW_HOME="$HOME/.metaflowconfig-mine"' in said
    assert "Changes to" not in said


@pytest.mark.parametrize("count", [3, 4, 1000, 5001])
def test_a_value_of_many_quotes_is_an_error_not_a_recursion(count: int) -> None:
    """Review: ``METAFLOW_S3_RETRY_COUNT`` of 1,000 quotes raised ``RecursionError``: the quote
    hint validated the value without its quotes, which hinted again, one level a pair."""
    with pytest.raises(ConfigError, match="METAFLOW_S3_RETRY_COUNT"):
        load(env={"METAFLOW_S3_RETRY_COUNT": "'" * count})
    with pytest.raises(ConfigError, match="wrapped in quotes"):
        load(env={"METAFLOW_S3_RETRY_COUNT": "'3'"})


def test_a_nested_choice_is_not_said_to_be_invalid_json() -> None:
    """Review: a section's nested ``Literal`` refused said "expected 'fast' or 'slow' (not
    valid JSON (a bare word ...))": the whole field's JSON diagnosis ran on the part."""
    pytest.importorskip("pydantic_settings")
    from typing import Literal

    from pydantic import BaseModel
    from pydantic_settings import SettingsConfigDict

    from metaflow_config import override
    from metaflow_config.pydantic import MetaflowBaseSettings

    class Gpu(BaseModel):
        mode: Literal["fast", "slow"] = "fast"

    class Zed(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ZED_")
        gpu: Gpu = Gpu()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not registered: "not a setting"
        with (
            override(env={"METAFLOW_ZED_GPU": '{"mode": "medium"}'}),
            pytest.raises(ConfigError) as raised,
        ):
            Zed()
    said = str(raised.value)
    assert "(at .mode)" in said
    assert "JSON" not in said


def test_migrate_renames_no_value_its_setting_refuses() -> None:
    """A 2.2 wizard's ``METAFLOW_DATATOOLS_SYSROOT_S3: "acme-mf/metaflow/data"`` (no s3://,
    a key no Metaflow release read): ``migrate`` renamed it to the key Metaflow reads, and
    Metaflow alone went from the working derived root to the broken one. Refused, nothing
    written, with the fix."""
    doc = {
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://acme-mf/metaflow",
        "METAFLOW_DATATOOLS_SYSROOT_S3": "acme-mf/metaflow/data",
    }
    _profile().write_text(json.dumps(doc))
    result = invoke("migrate", "--yes")
    said = result.output + (result.stderr or "")
    assert result.exit_code == 1, said
    assert "correct (or remove) METAFLOW_DATATOOLS_SYSROOT_S3" in said
    assert json.loads(_profile().read_text()) == doc


@pytest.mark.parametrize("target", ["kubernetes", "airflow"])
def test_a_sections_secret_is_told_the_secrets_its_target_mounts(target: str) -> None:
    """Pods trial: off Argo, the advice for a section's secret named
    ARGO_WORKFLOWS_KUBERNETES_SECRETS, which no pod of those targets mounts."""
    from metaflow_config._snapshot.taskenv import _secrets_text

    text = _secrets_text(["METAFLOW_ACME_API_TOKEN"], target, references=False)
    assert "ARGO_WORKFLOWS_KUBERNETES_SECRETS" not in text
    assert "@kubernetes(secrets=[...])" in text
    argo = _secrets_text(["METAFLOW_ACME_API_TOKEN"], "argo", references=False)
    assert "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS" in argo


# --- final trial: bypasses of the day's fixes ------------------------------------------------


def test_a_steps_variable_under_an_old_key_the_environment_ignores() -> None:
    """``@environment(vars={"METADATA_SERVICE_NUM_RETRIES": "7"})``: an old name of the retry
    count that the environment layer does not read (no prefix). Counted as the setting, the
    container was not given ``METAFLOW_SERVICE_RETRY_COUNT``: the task resolved the default."""
    from metaflow_config._snapshot.settings import resolution_of
    from metaflow_config._snapshot.taskenv import TaskEnv

    step_var = {"METADATA_SERVICE_NUM_RETRIES": "7"}
    assert load(env=step_var)["METAFLOW_SERVICE_RETRY_COUNT"] == 5
    launcher = load(env={"METAFLOW_SERVICE_RETRY_COUNT": "2"})
    for target in ("batch", "kubernetes", "argo", "airflow"):
        given = TaskEnv(resolution_of(launcher), target).missing(list(step_var))
        assert given.get("METAFLOW_SERVICE_RETRY_COUNT") == "2", target
    applied = {"METAFLOW_DATATOOLS_SYSROOT_S3": "s3://b/data"}  # one the environment applies
    given = TaskEnv(resolution_of(launcher), "argo").missing(list(applied))
    assert "METAFLOW_DATATOOLS_S3ROOT" not in given


def test_the_sandbox_key_left_to_mounted_secrets_is_said() -> None:
    """Sandbox on, its key plain, pods mounting ``KUBERNETES_SECRETS``: the pod is not given the
    key (left to the Secret), and the launch said nothing, taking it as carried by Metaflow's
    headers entry; Metaflow's task reads the setting itself (its S3 clients' sandbox calls)."""
    from metaflow_config._snapshot.settings import resolution_of
    from metaflow_config._snapshot.taskenv import TaskEnv

    launcher = load(
        env={
            "METAFLOW_AWS_SANDBOX_ENABLED": "true",
            "METAFLOW_AWS_SANDBOX_REGION": "us-west-2",
            "METAFLOW_AWS_SANDBOX_API_KEY": "sbx-plain-key",
            "METAFLOW_SERVICE_URL": "https://mf.example.com",
            "METAFLOW_KUBERNETES_SECRETS": "mf-secrets",
        }
    )
    for target in ("kubernetes", "airflow"):
        task = TaskEnv(resolution_of(launcher), target)
        assert "METAFLOW_AWS_SANDBOX_API_KEY" not in task.missing([], mounted=True)
        assert "METAFLOW_AWS_SANDBOX_API_KEY" in task.left_to_secrets()


def test_a_union_members_tag_is_no_place_in_the_nested_path() -> None:
    """``counts: Union[int, List[int]]`` given ``[1, "x"]`` said ``(at )`` and
    ``(at ['list[int]'][1])``: pydantic's tag of a generic member was taken for a key."""
    pytest.importorskip("pydantic_settings")
    from typing import Dict, List, Union  # noqa: UP035 - typing's generics, as users write them

    from pydantic_settings import SettingsConfigDict

    from metaflow_config import override
    from metaflow_config.pydantic import MetaflowBaseSettings

    class Zed(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ZED_")
        counts: Union[int, List[int]] = 1  # noqa: UP006 (3.9)
        maps: Union[int, Dict[str, int]] = 1  # noqa: UP006 (3.9)

    said = []
    for env in ({"METAFLOW_ZED_COUNTS": '[1, "x"]'}, {"METAFLOW_ZED_MAPS": '{"k": "v"}'}):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # not registered: "not a setting"
            with override(env=env), pytest.raises(ConfigError) as raised:
                Zed()
        said.append(str(raised.value))
    assert "(at )" not in "".join(said)
    assert "list[int]" not in said[0]
    assert "(at [1])" in said[0]
    assert "(at ['k'])" in said[1]


def test_a_home_of_no_user_is_not_blamed_on_home() -> None:
    """``load(home="~nosuchuser/x")`` said "$HOME is unset or relative" where it is set."""
    with pytest.raises(ConfigError, match="names no user's home"):
        load(home="~nosuchuser-zz9/x")
