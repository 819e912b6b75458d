"""Findings of the third round of outside trials (a newcomer on 3.9/3.13, an attacker, a
platform engineer), each fixed at its root; every test here failed before its fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from metaflow_config import ConfigError, load


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> str:
    """``metaflow-config ARGS`` in a fresh home and an empty working directory: its output."""
    home = tmp_path / "home"
    (home / ".metaflowconfig").mkdir(parents=True, exist_ok=True)
    work = tmp_path / "work"
    (work / ".metaflow").mkdir(parents=True, exist_ok=True)  # stops the project-file search
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "METAFLOW_HOME": str(home / ".metaflowconfig"),
        "USER": "alice",
        "LANG": "C.UTF-8",
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "metaflow_config", *args],
        cwd=work,
        env=base,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.stdout + done.stderr


# --- a name given with its value (a line of `env` output pasted back) ------------------------


@pytest.mark.parametrize("command", ["get", "explain"])
@pytest.mark.parametrize(
    ("given", "secret", "meant"),
    [
        ("METAFLOW_SERVICE_AUTH_KEY=abc-secret-123", "abc-secret-123", "METAFLOW_SERVICE_AUTH_KEY"),
        ("BATCH_JOB_QUEUE=gpu-secret", "gpu-secret", "METAFLOW_BATCH_JOB_QUEUE"),
        ("https://alice:pw-secret-9@mf.example.com", "pw-secret-9", None),
    ],
)
def test_a_name_pasted_with_its_value_is_told_by_its_name_alone(
    tmp_path: Path, command: str, given: str, secret: str, meant: str | None
) -> None:
    said = _cli(tmp_path, command, given)
    assert "is not a Metaflow setting" in said
    assert secret not in said
    if meant is not None:
        assert f"did you mean {meant}?" in said
        assert "what follows '=' is a value" in said


def test_settings_and_override_say_no_pasted_value() -> None:
    settings = load(env={}, home="/nonexistent")
    with pytest.raises(KeyError) as missing:
        settings["METAFLOW_SERVICE_AUTH_KEY=abc-secret"]
    assert "abc-secret" not in str(missing.value)
    assert "did you mean METAFLOW_SERVICE_AUTH_KEY?" in str(missing.value)
    with pytest.raises(ConfigError) as refused:
        load(env={}, home="/nonexistent", overrides={"METAFLOW_SERVICE_AUTH_KEY=abc-sec": 1})
    assert "abc-sec" not in str(refused.value)
    assert "METAFLOW_SERVICE_AUTH_KEY=****" in str(refused.value)


# --- names a service refuses by their form: `check` said "ready" -----------------------------

_BATCH_READY = {
    "METAFLOW_DEFAULT_DATASTORE": "s3",
    "METAFLOW_DATASTORE_SYSROOT_S3": "s3://my-bucket/metaflow",
    "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": "arn:aws:iam::123456789012:role/batch",
}


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METAFLOW_BATCH_JOB_QUEUE", "team-queue "),
        ("METAFLOW_BATCH_JOB_QUEUE", "team queue"),
        ("METAFLOW_BATCH_JOB_QUEUE", "arn:aws:batch:us-east-1:123456789012:job-queue/a b"),
        ("METAFLOW_KUBERNETES_NAMESPACE", "My Team"),
        ("METAFLOW_KUBERNETES_NAMESPACE", "data-"),
        ("METAFLOW_KUBERNETES_SERVICE_ACCOUNT", "Metaflow_SA"),
        ("METAFLOW_KUBERNETES_LABELS", "bad key=x"),
        ("METAFLOW_KUBERNETES_LABELS", "team=ml,,app=mf"),
        ("METAFLOW_KUBERNETES_LABELS", "team=-ml"),
        ("METAFLOW_KUBERNETES_ANNOTATIONS", "team=ml,,app=mf"),
        ("METAFLOW_KUBERNETES_ANNOTATIONS", "bad key=x"),
    ],
)
def test_check_warns_of_a_name_its_service_refuses(tmp_path: Path, name: str, value: str) -> None:
    said = _cli(tmp_path, "check", "--require", "s3", env={**_BATCH_READY, name: value})
    warned = [line for line in said.splitlines() if line.startswith(f"Warning: {name} ")]
    assert warned, said
    assert "set it to such a name" in warned[0]
    assert f"(set in env: {name})" in warned[0]
    assert value.strip() not in warned[0].replace(name, "")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METAFLOW_BATCH_JOB_QUEUE", "gpu_queue-2"),
        ("METAFLOW_BATCH_JOB_QUEUE", "arn:aws-cn:batch:cn-north-1:123456789012:job-queue/q"),
        ("METAFLOW_KUBERNETES_NAMESPACE", "ml-team"),
        ("METAFLOW_KUBERNETES_SERVICE_ACCOUNT", "metaflow.sa-1"),
        ("METAFLOW_KUBERNETES_LABELS", "team=ml,app.kubernetes.io/part-of=metaflow,empty="),
        ("METAFLOW_KUBERNETES_ANNOTATIONS", "note=any text: here,example.com/cost=42"),
    ],
)
def test_a_name_its_service_takes_is_not_warned_of(name: str, value: str) -> None:
    from metaflow_config._checks.probes_service import malformed_name

    assert malformed_name(name, value) is None
    assert malformed_name(name, " " + value) is not None


def test_the_wizard_refuses_a_name_its_service_refuses(tmp_path: Path) -> None:
    said = _cli(
        tmp_path,
        "configure",
        "aws",
        env={"AWS_DEFAULT_REGION": "us-east-1"},
        # S3 yes: root, role; Batch yes: queue "gpu queue" refused, then a good one
        stdin="y\ns3://b/m\n\nn\ny\narn:aws:iam::123456789012:role/b\ngpu queue\ngpu-queue\n",
    )
    assert "METAFLOW_BATCH_JOB_QUEUE holds a blank, so it is not a job queue's name" in said


# --- the wizard's advice for an invalid value no question asks ------------------------------


def test_the_wizard_says_the_command_that_corrects_a_value_no_question_asks(tmp_path: Path) -> None:
    home = tmp_path / "home" / ".metaflowconfig"
    home.mkdir(parents=True)
    (home / "config_p.json").write_text('{"METAFLOW_BATCH_EMIT_TAGS": "maybe"}')
    (home / "config_p.json").chmod(0o600)
    said = _cli(tmp_path, "configure", "aws", "-p", "p", stdin="y\n-\nn\n")
    assert "no question asks METAFLOW_BATCH_EMIT_TAGS" in said
    assert "metaflow-config configure aws -p p --set METAFLOW_BATCH_EMIT_TAGS=<boolean>" in said
    assert "answer the capability" not in said  # none of its invalid values is asked


# --- the pytest plugin, vars() of a scope -----------------------------------------------------


def test_vars_of_an_override_show_no_value_nor_the_environment() -> None:
    import pprint

    from metaflow_config import override

    scope = override(SERVICE_AUTH_KEY="KEY-OV-5521", SERVICE_URL="https://u:PW-OV-5521@h.example")
    switched = override(env={"METAFLOW_SERVICE_AUTH_KEY": "KEY-ENV", "AWS_SECRET_ACCESS_KEY": "AK"})
    shown = pprint.pformat(vars(scope)) + pprint.pformat(vars(switched))
    for secret in ("KEY-OV-5521", "PW-OV-5521", "KEY-ENV", "'AK'"):
        assert secret not in shown
    assert "an environment of 2 variables" in shown  # what it holds, counted
    with scope as settings:  # what it holds still applies
        assert str(settings.service.auth_key) == "KEY-OV-5521"


# --- messages: the same on every Python -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"team": "ml",}', "a trailing comma"),
        ('{"team": "ml" // ours\n}', "comments are not JSON"),
        ("{'team': 'ml'}", "single quotes are not JSON"),
        ('{"team": "ml"', "the text ends early"),
        ("team=ml", 'write a JSON object, {"key": "value"}'),
    ],
)
def test_a_json_values_mistake_is_said_as_a_json_files_is(text: str, said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(env={"METAFLOW_BATCH_DEFAULT_TAGS": text}, home="/nonexistent")
    assert said in str(caught.value)
    assert "Expecting" not in str(caught.value)  # Python's own words, which differ by version


def test_a_profile_option_before_the_command_reads_on_every_click(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Click 8.1 (the newest on Python 3.9) ends its message without a full stop."""
    import click

    from metaflow_config.cli import _Group

    def click_8_1(self: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
        raise click.NoSuchOption("-p", "No such option: -p", None, ctx)

    monkeypatch.setattr(click.Group, "parse_args", click_8_1)
    group = _Group("metaflow-config")
    ctx = click.Context(group, info_name="metaflow-config")
    with pytest.raises(click.NoSuchOption) as caught:
        group.parse_args(ctx, ["-p", "prod", "show"])
    assert "No such option: -p. -p is an option of each command" in caught.value.format_message()


def test_a_compat_names_typo_says_the_name_meant() -> None:
    import metaflow_config.compat as compat

    with pytest.raises(AttributeError, match="did you mean 'BATCH_JOB_QUEUE'"):
        compat.BATCH_JOB_QUEU  # noqa: B018


@pytest.mark.skipif(sys.version_info >= (3, 10), reason="Python 3.10+ says it in the traceback")
def test_a_sections_attribute_typo_says_the_attribute_meant_on_3_9() -> None:
    settings = load(env={}, home="/nonexistent")
    with pytest.raises(AttributeError, match="did you mean 'job_queue'"):
        settings.batch.job_queu  # noqa: B018


def test_a_section_keeps_no_attribute_hook_where_python_says_it() -> None:
    """A ``__getattr__`` on a section's class would cost every read its specialized load."""
    from metaflow_config._model.table import SECTIONS

    hooked = [n for n, cls in SECTIONS if "__getattr__" in vars(cls) or hasattr(cls, "__getattr__")]
    assert (hooked == []) is (sys.version_info >= (3, 10))


# --- a registered section: its value said as the CLI says it, its import failure located -------


def test_an_explanation_says_a_registered_keys_value_as_the_command_does(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_sections import ACME, installed

    for _ in installed(
        tmp_path_factory, monkeypatch, "acme-mf", "acme = acme_mf.config:Acme", ACME
    ):
        settings = load(env={"METAFLOW_ACME_SPOT": "yes"}, home="/nonexistent")
        assert str(settings.explain("METAFLOW_ACME_SPOT")).splitlines()[0] == (
            "METAFLOW_ACME_SPOT = true"
        )
        assert str(settings.explain("METAFLOW_ACME_COST_CENTER")).splitlines()[0] == (
            "METAFLOW_ACME_COST_CENTER = ml"
        )


def test_a_section_that_fails_to_import_is_said_with_its_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    from metaflow_config._sources import sections
    from tests.test_sections import ACME, _install

    _install(tmp_path, "acme-bad", "acme = acme_bad.config:Acme", "X = 1\nRATE = 1 / 0\n" + ACME)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    sections.reset()
    try:
        with pytest.raises(ConfigError) as caught:
            load(env={"METAFLOW_ACME_GPU_QUEUE": "a100"}, home="/nonexistent")
        said = str(caught.value)
        assert "ZeroDivisionError" in said
        assert f"at {tmp_path / 'acme_bad' / 'config.py'}:2" in said
    finally:
        for name in [m for m in sys.modules if m.startswith("acme_bad")]:
            del sys.modules[name]
        sections.reset()


def test_a_derived_value_holding_a_reference_mark_is_refused_as_a_layers_is(
    tmp_path: Path,
) -> None:
    """``$USER`` = ``ci-{{user}}`` (a template left unrendered): exported as METAFLOW_USER, the
    task refused it ('{{' begins a secret reference); the launcher now refuses it too, saying
    what it derives from, and a value set in a layer still exports and round-trips."""
    with pytest.raises(ConfigError) as caught:
        load(env={"USER": "ci-{{user}}"}, home=tmp_path / "home", cwd=tmp_path)
    said = str(caught.value)
    assert "METAFLOW_USER (derived: USER)" in said
    assert "a value without '{{'" in said
    settings = load(env={"USER": "ci-{{user}}", "METAFLOW_USER": "ci"}, home=tmp_path, cwd=tmp_path)
    again = load(env=dict(settings.to_env("batch")), home=tmp_path / "home", cwd=tmp_path)
    assert again["USER"] == settings["USER"] == "ci"


def test_check_says_no_flow_runs_beside_a_second_copy_of_this_extension(tmp_path: Path) -> None:
    """A second checkout of this repository (or a clone, with the package installed from a
    wheel): Metaflow stops with its raw RuntimeError; ``check`` said only "review them"."""
    import shutil

    import metaflow_extensions.metaflow_config as ours

    pytest.importorskip("metaflow")
    work = tmp_path / "work"
    (work / ".metaflow").mkdir(parents=True)
    source = next(p for p in ours.__path__ if os.path.isdir(os.path.join(p, "config")))
    shutil.copytree(source, work / "metaflow_extensions" / "metaflow_config")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "USER": "alice"}
    metaflow = subprocess.run(
        [sys.executable, "-c", "import metaflow"],
        cwd=work,
        env={**env, "METAFLOW_HOME": str(tmp_path / "mf")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Conflicts in 'metaflow_extensions'" in metaflow.stderr  # what Metaflow does there
    said = _cli(tmp_path, "check")  # in tmp_path/work, as above
    assert "is another package of this package's Metaflow extension" in said
    assert "Metaflow refuses to start here" in said
