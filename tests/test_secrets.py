"""Secret hygiene: a planted canary never shows, and files holding secrets are private.

A unique canary value goes into every secret setting, in every layer (profile, local, env,
override). Then every public entry point and every command runs, and the canary must appear
nowhere (output, errors, warnings, log records) except where secrets are revealed on purpose:
typed values read in code, ``to_env()``'s values, ``env --reveal-secrets``, the files written.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import uuid
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import (
    ConfigError,
    ConfigWarning,
    Settings,
    current,
    load,
    override,
    settings,
)
from metaflow_config._model.table import FIELDS, SECTIONS
from metaflow_config.testing import trust
from tests.conftest import invoke

SECRETS = [f for f in FIELDS if f.secret]
#: Every canary starts with this: a leak of even a truncated value is caught.
MARK = "SEKRIT"
LAYERS = ("profile", "local", "env", "override")


def _canary(layer: str, name: str) -> str:
    return f"{MARK}{layer}{name.lower()}{uuid.uuid4().hex[:10]}"


def _planted(kind_name: str, canary: str) -> Any:
    """A valid value of a secret setting's kind that carries ``canary``."""
    if kind_name == "string":
        return canary
    if kind_name in ("JSON object of strings", "HTTP headers"):
        return {"Authorization": canary}
    assert kind_name in ("JSON object", "JSON object of boto3 client arguments"), kind_name
    return {"aws_secret_access_key": canary}


@dataclass
class Planted:
    """Where the canaries went, and what each layer holds."""

    home: Path
    project: Path
    canaries: dict[tuple[str, str], str] = field(default_factory=dict)  # (layer, env name)
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def env_text(self, name: str) -> str:
        value = self.layers["env"][name]
        return value if isinstance(value, str) else json.dumps(value)

    @property
    def env(self) -> dict[str, str]:
        return {name: self.env_text(name) for name in self.layers["env"]}

    def winners(self, top: str) -> list[str]:
        """The canaries of layer ``top``: the values in force when it is the highest layer."""
        return [c for (layer, _), c in self.canaries.items() if layer == top]


def _write_private(path: Path, doc: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(doc, handle)


@pytest.fixture
def planted(tmp_path: Path) -> Planted:
    """Every secret setting set in every layer, each to its own canary (files are 0600)."""
    result = Planted(tmp_path / "home", tmp_path / "project")
    result.home.mkdir()
    result.project.mkdir()
    for layer in LAYERS:
        values = {}
        for setting in SECRETS:
            canary = _canary(layer, setting.name)
            result.canaries[layer, setting.env] = canary
            values[setting.env] = _planted(setting.kind.name, canary)
        # a near-miss key holding a secret value: warned about, value never shown
        values["METAFLOW_SERVICE_AUTH_KEYS"] = _canary(layer, "near-miss")
        result.layers[layer] = values
    _write_private(result.home / "config.json", result.layers["profile"])
    _write_private(result.project / ".metaflow" / "config.json", result.layers["local"])
    trust(result.home, result.project / ".metaflow" / "config.json")  # applied: the canaries show
    return result


def _overrides(p: Planted) -> dict[str, Any]:
    return {k: v for k, v in p.layers["override"].items() if k != "METAFLOW_SERVICE_AUTH_KEYS"}


def assert_clean(text: str, where: str) -> None:
    """No canary, not even truncated, in ``text``."""
    assert MARK not in text, f"a secret leaked into {where}: ...{_around(text)}..."


def _around(text: str) -> str:
    i = text.find(MARK)
    return text[max(0, i - 60) : i + 40]


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Every log record (any logger, DEBUG and up) and every warning, as text, checked at exit."""
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield texts
    texts.extend(str(w.message) for w in caught)
    texts.extend(r.getMessage() for r in caplog.records)
    texts.extend(repr(r.args) for r in caplog.records if r.args)
    for text in texts:
        assert_clean(text, "a log record or warning")


# --- the library ------------------------------------------------------------------------------


def _views(s: Settings) -> list[tuple[str, str]]:
    """Every way a snapshot shows itself to a person, with a label."""
    shown = [("repr(settings)", repr(s)), ("str(settings)", str(s))]
    for attr, _ in SECTIONS:
        section = getattr(s, attr)
        shown.extend([(f"repr(settings.{attr})", repr(section)), (f"str(.{attr})", str(section))])
    for f in FIELDS:
        info = s.explain(f.env)
        shown.extend(
            [
                (f"repr(explain({f.env}))", repr(info)),
                (f"str(explain({f.env}))", str(info)),
                (f"explain({f.env}).shown", info.shown),
                (f"explain({f.env}).shadowed", repr(info.shadowed)),
            ]
        )
    shown.append(("settings.warnings", repr(s.warnings)))
    shown.extend((f"repr(to_env({t!r}))", repr(s.to_env(t))) for t in ("local", "batch", "sfn"))
    for f in SECRETS:  # what code copies out of a secret's JSON object shows none either
        value = s[f.env]
        if isinstance(value, Mapping):
            shown.append((f"dict(settings[{f.env!r}])", repr(dict(value))))
            shown.extend((f"settings[{f.env!r}][{k!r}]", repr(v)) for k, v in value.items())
    return shown


def test_library_views_never_show_a_secret(planted: Planted, captured: list[str]) -> None:
    """repr/str of settings and sections, explain, warnings: the canaries never appear."""
    s = load(env=planted.env, home=planted.home, cwd=planted.project, overrides=_overrides(planted))
    assert (
        s["METAFLOW_SERVICE_AUTH_KEY"] == planted.canaries["override", "METAFLOW_SERVICE_AUTH_KEY"]
    )
    for label, text in _views(s):
        assert_clean(text, label)
    explained = s.explain("METAFLOW_SERVICE_AUTH_KEY")
    assert [sh.source for sh in explained.shadowed] == ["profile", "local", "env"]


def test_what_is_read_out_of_a_secret_object_stays_masked(tmp_path: Path) -> None:
    """A secret's JSON object is masked all the way down: its strings, its objects and its
    arrays, read out one by one or copied (``dict(...)``), show the mask, and are the values."""
    canary = _canary("env", "nested")
    params = {"config": {"retries": {"mode": canary}}, "list": [canary], "n": 3}
    env = {
        "METAFLOW_DATATOOLS_CLIENT_PARAMS": json.dumps(params),
        "METAFLOW_SERVICE_HEADERS": json.dumps({"Authorization": canary}),
    }
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    headers, client = s.service.headers, s["METAFLOW_DATATOOLS_CLIENT_PARAMS"]
    read_out = [
        dict(headers),
        {**headers},
        headers.copy(),
        headers | {},
        {} | headers,
        list(headers.items()),
        list(headers.values()),
        headers.get("Authorization"),
        headers["Authorization"],
        dict(client),
        dict(client["config"]),
        dict(client["config"]["retries"]),
        client["config"]["retries"]["mode"],
        client["list"],
        client["list"][0],
    ]
    for value in read_out:
        assert_clean(repr(value), "a value read out of a secret's object")
    assert headers["Authorization"] == canary  # the value itself, in code
    assert json.loads(json.dumps(client)) == params


def test_to_env_reveals_only_the_values_in_force(planted: Planted, captured: list[str]) -> None:
    """to_env() carries the winning secrets (containers need them), and only those."""
    s = load(env=planted.env, home=planted.home, cwd=planted.project, overrides=_overrides(planted))
    exported = json.dumps(dict(s.to_env("batch")))
    for canary in planted.winners("override"):
        if "near-miss" not in canary:
            assert canary in exported
    for layer in ("profile", "local", "env"):
        for canary in planted.winners(layer):
            assert canary not in exported


def test_process_settings_and_overrides(
    planted: Planted, monkeypatch: pytest.MonkeyPatch, captured: list[str]
) -> None:
    """The process-wide settings and override() scopes show no secret either."""
    for key, value in planted.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("METAFLOW_HOME", str(planted.home))
    monkeypatch.chdir(planted.project)
    settings.reload()
    assert_clean(repr(settings), "repr(settings)")
    assert_clean(repr(settings.service), "repr(settings.service)")
    with override(_overrides(planted)) as scoped:
        for label, text in _views(scoped):
            assert_clean(text, f"{label} in override()")
        assert_clean(repr(current()), "repr(current())")


def _errors(p: Planted) -> Iterator[tuple[str, ConfigError]]:
    """ConfigErrors whose subject is a secret value, one per way a secret can be wrong."""
    bad_env = {
        "METAFLOW_SERVICE_AUTH_KEY": p.env_text("METAFLOW_SERVICE_AUTH_KEY") + "\n",
        "METAFLOW_AWS_SANDBOX_API_KEY": "\0" + p.env_text("METAFLOW_AWS_SANDBOX_API_KEY"),
        "METAFLOW_SERVICE_HEADERS": p.env_text("METAFLOW_SERVICE_HEADERS")[:-1],  # broken JSON
        "METAFLOW_DATATOOLS_CLIENT_PARAMS": json.dumps([p.env_text("METAFLOW_SERVICE_AUTH_KEY")]),
        "METAFLOW_DATATOOLS_SESSION_VARS": json.dumps(p.env_text("METAFLOW_SERVICE_AUTH_KEY")),
    }
    cases: list[tuple[str, dict[str, Any]]] = [
        ("invalid secret env values", {"env": bad_env}),
        (
            "secret values of the wrong JSON type in a file",
            {"env": {}, "home_doc": {s.env: [p.canaries["profile", s.env]] for s in SECRETS}},
        ),
        (
            "an override of an unknown name",
            {"env": {}, "overrides": {"SERVICE_AUTH_KE": p.canaries["override", SECRETS[2].env]}},
        ),
        (
            "strict mode and a near-miss key",
            {"env": {"METAFLOW_SERVICE_AUTH_KEYS": MARK + "strict"}, "strict": True},
        ),
        (
            "a duplicate secret key in a file",
            {
                "env": {},
                "home_text": f'{{"METAFLOW_SERVICE_AUTH_KEY": "{MARK}1", '
                f'"METAFLOW_SERVICE_AUTH_KEY": "{MARK}2"}}',
            },
        ),
    ]
    for label, spec in cases:
        home = p.home.parent / f"home-{abs(hash(label))}"
        home.mkdir()
        if "home_doc" in spec:
            _write_private(home / "config.json", spec["home_doc"])
        if "home_text" in spec:
            (home / "config.json").write_text(spec["home_text"])
        try:
            load(
                env=spec["env"],
                home=home,
                cwd=p.home.parent,
                overrides=spec.get("overrides"),
                strict=spec.get("strict"),
            )
        except ConfigError as exc:
            yield label, exc
        else:
            pytest.fail(f"{label}: no ConfigError")
    s = load(env={"METAFLOW_SERVICE_AUTH_KEY": MARK * 2000}, home=p.home.parent, cwd=p.home.parent)
    with pytest.raises(ConfigError) as too_big:
        s.to_env("sfn")
    yield "the Step Functions size limit", too_big.value
    with pytest.raises(ConfigError) as bad_target:
        s.to_env("lambda")
    yield "an unknown to_env target", bad_target.value
    for capability in ("s3", "batch", "sfn", "sfn-schedule", "sfn-foreach", "service"):
        with pytest.raises(ConfigError) as missing:
            s.require(capability)  # nothing but an auth key is configured: every one fails
        yield f"require({capability!r})", missing.value


def test_error_messages_never_show_a_secret(planted: Planted, captured: list[str]) -> None:
    """Every ConfigError about a secret value masks it: message, repr, each problem."""
    seen = 0
    for label, exc in _errors(planted):
        seen += 1
        assert_clean(str(exc), f"str(ConfigError) of {label}")
        assert_clean(repr(exc), f"repr(ConfigError) of {label}")
        for problem in exc.problems:
            assert_clean(repr(problem), f"repr(Problem) of {label}")
    assert seen >= 8


#: what the machine's environment holds beside Metaflow's: a credential no setting reads
_MACHINE_SECRET = MARK + "-machine-aws-key"


@pytest.mark.parametrize(
    "how",
    [
        "load-env",
        "load-overrides",
        "override-env",
        "override-values",
        "override-env-and-values",
        "override-nested",
        "load-wrong-argument",
        "load-wrong-env-value",
        "override-unknown-name",
        "override-unknown-keyword",
        "override-wrong-env-value",
        "isolated-unknown-name",
    ],
)
def test_no_frame_of_a_resolutions_error_holds_the_environment_or_the_values(
    tmp_path: Path, how: str
) -> None:
    """``pytest -l``, Sentry and rich tracebacks show every frame's locals: a resolution's error
    (an invalid value) leaves no frame holding the caller's environment (the machine's
    credentials) or the values given (a secret's), as a plain ``dict``."""
    from tests._frames import frames_showing, raised

    home = tmp_path / "home"
    good = {"AWS_SECRET_ACCESS_KEY": _MACHINE_SECRET, "METAFLOW_SERVICE_AUTH_KEY": MARK + "-auth"}
    bad = {**good, "METAFLOW_BATCH_EMIT_TAGS": "maybe"}
    values = {"SERVICE_AUTH_KEY": MARK + "-auth", "BATCH_EMIT_TAGS": "maybe"}

    def resolve() -> object:
        # wrong arguments, told before any resolution: the checks hold what the caller gave
        if how == "load-wrong-argument":
            return load(env=dict(good), home=home, cwd=5)  # type: ignore[arg-type]
        if how == "load-wrong-env-value":
            return load(env={**good, "METAFLOW_USER": 5}, home=home)  # type: ignore[dict-item]
        if how == "override-unknown-name":
            return override({"SERVICE_AUTH_KEY": MARK + "-auth", "NOT_A_SETTING": 1})
        if how == "override-unknown-keyword":
            return override(SERVICE_AUTH_KEY=MARK + "-auth", NOT_A_SETTING=1)
        if how == "override-wrong-env-value":
            return override(env={**good, "METAFLOW_USER": 5})  # type: ignore[dict-item]
        if how == "isolated-unknown-name":
            from metaflow_config.testing import isolated

            return isolated(dict(good), SERVICE_AUTH_KEY=MARK + "-auth", NOT_A_SETTING=1)
        if how == "load-env":
            return load(env=dict(bad), home=home)
        if how == "load-overrides":
            return load(env={}, home=home, overrides=dict(values))
        if how == "override-nested":
            with override(SERVICE_AUTH_KEY=MARK + "-outer"), override(BATCH_EMIT_TAGS="maybe"):
                return None
        scopes = {
            "override-env": override(env=dict(bad), home=home),
            "override-values": override(dict(values)),
            "override-env-and-values": override(dict(values), env=dict(good), home=home),
        }
        with scopes[how]:
            return None

    assert frames_showing(raised(resolve), MARK) == []


def test_testing_helpers_never_show_a_secret(planted: Planted, captured: list[str]) -> None:
    """metaflow_config.testing: isolated() snapshots and assert_source() failures are masked."""
    from metaflow_config.testing import assert_source, isolated

    s = isolated(planted.env, home=planted.home, cwd=planted.project, **_overrides(planted))
    assert_clean(repr(s), "repr(isolated(...))")
    for setting in SECRETS:
        with pytest.raises(AssertionError) as failed:
            assert_source(setting.env, "profile", snapshot=s)
        assert_clean(str(failed.value), f"assert_source({setting.env}) failure")


# --- the command line -------------------------------------------------------------------------


@pytest.fixture
def cli_env(planted: Planted, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment of a command: the env-layer canaries, METAFLOW_HOME, cwd."""
    monkeypatch.chdir(planted.project)
    env = dict(planted.env)
    env["METAFLOW_HOME"] = str(planted.home)
    return env


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    """Run ``metaflow-config args`` in-process; return the exit code and stdout + stderr."""

    result = invoke(*args, input=stdin, env=env)
    return result.exit_code, result.stdout + result.stderr


_SECRET_NAMES = [f.env for f in SECRETS]
READ_COMMANDS = [
    pytest.param([], id="bare"),
    pytest.param(["show"], id="show"),
    pytest.param(["show", "--all"], id="show-all"),
    pytest.param(["show", "--json"], id="show-json"),
    pytest.param(["show", "--json", "--all"], id="show-json-all"),
    pytest.param(["explain", *_SECRET_NAMES], id="explain-secrets"),
    pytest.param(["explain", *(f.env for f in FIELDS)], id="explain-all"),
    pytest.param(["env"], id="env"),
    pytest.param(["env", "--format", "dotenv"], id="env-dotenv"),
    pytest.param(["env", "--format", "json"], id="env-json"),
    pytest.param(["env", "--target", "batch"], id="env-batch"),
    pytest.param(["env", "--target", "sfn", "--format", "json"], id="env-sfn"),
    pytest.param(["check"], id="check"),
    pytest.param(["check", "--strict"], id="check-strict"),
    pytest.param(["configure", "show"], id="configure-show"),
    pytest.param(["schema"], id="schema"),
    pytest.param(["docs"], id="docs"),
]


@pytest.mark.parametrize("args", READ_COMMANDS)
def test_commands_never_show_a_secret(
    args: list[str], cli_env: dict[str, str], captured: list[str]
) -> None:
    """Every reading command masks every secret, on stdout and stderr, success or error."""
    code, output = _run(args, cli_env)
    assert code in (0, 1), output
    assert output.strip()
    assert_clean(output, f"metaflow-config {' '.join(args)}")


@pytest.mark.parametrize("fmt", ["shell", "dotenv", "json"])
def test_reveal_secrets_is_the_explicit_exception(
    fmt: str, planted: Planted, cli_env: dict[str, str]
) -> None:
    """``env --reveal-secrets`` prints the secrets in force (so the canaries are live)."""
    code, output = _run(["env", "--reveal-secrets", "--format", fmt], cli_env)
    assert code == 0, output
    for (layer, name), canary in planted.canaries.items():
        if layer == "env":
            assert canary in output or canary in output.replace('\\"', '"'), name
        else:
            assert canary not in output


def test_commands_with_invalid_secrets_mask_them(
    planted: Planted, cli_env: dict[str, str], captured: list[str]
) -> None:
    """An invalid secret makes a command fail with a message that masks it."""
    env = dict(cli_env)
    env["METAFLOW_SERVICE_AUTH_KEY"] += "\n"
    env["METAFLOW_SERVICE_HEADERS"] = env["METAFLOW_SERVICE_HEADERS"][:-1]
    for args in (["show"], ["check"], ["env"], ["explain", "METAFLOW_SERVICE_AUTH_KEY"]):
        code, output = _run(args, env)
        assert code == 1, output
        assert "METAFLOW_SERVICE_AUTH_KEY" in output
        assert_clean(output, f"metaflow-config {' '.join(args)} with an invalid secret")


def test_writing_commands_never_show_a_secret(
    planted: Planted, cli_env: dict[str, str], tmp_path: Path, captured: list[str]
) -> None:
    """configure, export, import and reset mask secrets in what they print, and write 0600."""
    exported = tmp_path / "exported.json"
    source = tmp_path / "team.json"
    source.write_text(json.dumps(planted.layers["profile"]))  # 0644: a file being imported
    runs = [
        ["export", str(exported), "--yes"],
        ["import", str(source), "--profile", "imported", "--yes", "--lenient"],  # a typo'd key
        ["import", str(source), "--profile", "imported", "--merge", "--yes", "--lenient"],
        ["configure", "aws", "--yes", "--set", f"SERVICE_AUTH_KEY={MARK}set"],
        ["configure", "aws", "--profile", "imported", "--yes", "--set", "SERVICE_URL=https://x.io"],
        ["reset", "--profile", "imported", "--yes"],
    ]
    for args in runs:
        code, output = _run(args, cli_env)
        assert code == 0, (args, output)
        assert_clean(output, f"metaflow-config {' '.join(args)}")
    refused = _run(["import", str(source), "--profile", "strict", "--yes"], cli_env)
    assert refused[0] == 1, refused
    assert_clean(refused[1], "metaflow-config import refusing an unknown key")
    for path in (exported, planted.home / "config.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert MARK in exported.read_text()  # the export is a deliberate copy of the secrets


def test_wizard_prompts_mask_current_and_typed_secrets(
    planted: Planted, cli_env: dict[str, str], captured: list[str]
) -> None:
    """The wizard shows a current secret as a masked default and never echoes a typed one."""
    typed = MARK + "typed" + uuid.uuid4().hex[:8]
    answers = [
        "",  # S3: no
        "y",  # the metadata service: yes
        "https://svc.example",  # its URL
        "",  # the internal URL: derived
        typed,  # a new auth key, typed at the (hidden) prompt
        "y",  # write these changes
    ]
    code, output = _run(["configure", "aws"], cli_env, stdin="\n".join(answers) + "\n" * 50)
    assert code == 0, output
    assert "****" in output
    assert_clean(output, "metaflow-config configure aws (interactive)")
    written = json.loads((planted.home / "config.json").read_text())
    assert written["METAFLOW_SERVICE_AUTH_KEY"] == typed  # the answer was taken
    assert stat.S_IMODE((planted.home / "config.json").stat().st_mode) == 0o600


def test_python_dash_m_in_a_subprocess(planted: Planted, tmp_path: Path) -> None:
    """``python -m metaflow_config`` in a fresh process: stdout and stderr are clean."""
    env = {"PATH": os.environ.get("PATH", ""), "METAFLOW_HOME": str(planted.home), **planted.env}
    for args in ([], ["show", "--json"], ["env", "--target", "batch"], ["check"]):
        out = subprocess.run(
            [sys.executable, "-m", "metaflow_config", *args],
            env=env,
            cwd=planted.project,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode in (0, 1), out.stderr
        assert_clean(out.stdout + out.stderr, f"python -m metaflow_config {' '.join(args)}")


# --- file permissions -------------------------------------------------------------------------


def _posix_only() -> None:
    if os.name == "nt":
        pytest.skip("POSIX permission bits only")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
@pytest.mark.parametrize("where", ["profile", "local"])
def test_readable_secret_file_warns(
    where: str, mode: int, planted: Planted, captured: list[str]
) -> None:
    """A file holding secrets that its group or everyone can read gives a ConfigWarning."""
    _posix_only()
    path = (
        planted.home / "config.json"
        if where == "profile"
        else planted.project / ".metaflow" / "config.json"
    )
    path.chmod(mode)
    with pytest.warns(ConfigWarning, match="holds secrets") as record:
        load(env={}, home=planted.home, cwd=planted.project)
    messages = [str(w.message) for w in record if "holds secrets" in str(w.message)]
    assert len(messages) == 1
    assert str(path) in messages[0]
    assert "chmod 600" in messages[0]


def test_private_secret_file_does_not_warn(planted: Planted) -> None:
    """A 0600 file with secrets resolves without a permission warning."""
    _posix_only()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = load(env={}, home=planted.home, cwd=planted.project)
    assert not [w for w in caught if "holds secrets" in str(w.message)]
    assert not [w for w in s.warnings if "holds secrets" in w]


def test_readable_file_without_secrets_does_not_warn(tmp_path: Path) -> None:
    """A world-readable profile that holds no secret is fine (most profiles are)."""
    _posix_only()
    (tmp_path / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q"}')
    (tmp_path / "config.json").chmod(0o644)
    s = load(env={}, home=tmp_path, cwd=tmp_path)
    assert s.batch.job_queue == "q"


def test_files_module_writes_private_files(tmp_path: Path) -> None:
    """Every file the library writes is 0600, whatever the umask and the old file's mode."""
    _posix_only()
    from metaflow_config._sources.writes import update_json, write_json_atomic

    path = tmp_path / "config.json"
    path.write_text("{}")
    path.chmod(0o644)
    old = os.umask(0)
    try:
        write_json_atomic(path, {"METAFLOW_SERVICE_AUTH_KEY": MARK})
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        fresh = tmp_path / "new" / "config_x.json"
        update_json(fresh, lambda doc: {**doc, "METAFLOW_SERVICE_AUTH_KEY": MARK})
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
    finally:
        os.umask(old)


@pytest.mark.parametrize("name", ["METAFLOW_SERVICE_HEADERS", "METAFLOW_DATATOOLS_CLIENT_PARAMS"])
def test_a_number_out_of_range_in_a_secret_is_not_quoted(name: str, tmp_path: Path) -> None:
    """Why a secret's JSON is refused never quotes a piece of it (here: its too-large number)."""
    digits = "31415926535897"
    with pytest.raises(ConfigError) as info:
        load(env={name: f'{{"x": {digits}e99999}}'}, home=tmp_path, cwd=tmp_path)
    assert "out of a float's range" in str(info.value)
    assert digits not in str(info.value)
    assert digits not in repr(info.value.problems)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # the IPv6 grammar's check quotes the host it refuses: a piece of a secret's value
        ("METAFLOW_DATATOOLS_CLIENT_PARAMS", '{"endpoint_url": "http://[1::2::BEEF5EC]:99/"}'),
        ("METAFLOW_DATATOOLS_CLIENT_PARAMS", {"endpoint_url": "http://[1::2::BEEF5EC]:99/"}),
    ],
)
def test_a_check_of_a_secret_quotes_no_piece_of_its_value(
    tmp_path: Path, name: str, value: Any
) -> None:
    """What a kind's check quotes of a value it refuses is masked where the setting is secret."""
    from metaflow_config.testing import write_profile

    env = {name: value} if isinstance(value, str) else {}
    if not isinstance(value, str):
        write_profile(tmp_path, {name: value})
    with pytest.raises(ConfigError) as refused:
        load(env=env, home=tmp_path, cwd=tmp_path)
    assert "BEEF5EC" not in str(refused.value)
    assert "is not an IPv6 address" in str(refused.value)  # the check's own words stay


def test_a_secret_maps_wrong_value_is_said_by_its_place_not_its_key() -> None:
    """A header's name is secret (``SERVICE_HEADERS``): a value of the wrong type is told by
    its place in the map, so the fix can be found without the name being shown."""
    given = '{"X-A": "ok", "X-Hidden-Name": 5}'
    with pytest.raises(ConfigError) as refused:
        load(env={"METAFLOW_SERVICE_HEADERS": given}, home="/nonexistent", cwd="/")
    said = str(refused.value)
    assert "X-Hidden-Name" not in said
    assert "the value of item 2: Input should be a valid string" in said


def test_a_readable_file_of_secret_references_is_not_said_to_hold_secrets(
    tmp_path: Path,
) -> None:
    """README's way of keeping secrets out of files: a 0644 profile holding only references
    (where the secrets are kept) holds none, and is not told to be chmod'ed; beside a secret
    given as text, only that one is named."""
    _posix_only()
    home = tmp_path / "home"
    home.mkdir()
    profile = home / "config.json"
    reference = "{{resolve:secretsmanager:mf/service-key}}"
    profile.write_text(json.dumps({"METAFLOW_SERVICE_AUTH_KEY": reference}), encoding="utf-8")
    profile.chmod(0o644)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(env={}, home=home, cwd=tmp_path)
    assert not [w for w in caught if "holds secrets" in str(w.message)]
    profile.write_text(
        json.dumps(
            {"METAFLOW_SERVICE_AUTH_KEY": reference, "METAFLOW_AWS_SANDBOX_API_KEY": "plain-key"}
        ),
        encoding="utf-8",
    )
    with pytest.warns(ConfigWarning, match=r"holds secrets \(METAFLOW_AWS_SANDBOX_API_KEY\) and"):
        load(env={}, home=home, cwd=tmp_path)


def test_child_envs_repr_shows_none_of_the_machines_other_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``child_env()`` holds the whole environment: its ``repr`` (a failed test's locals, a
    log line) showed ``AWS_SECRET_ACCESS_KEY`` and any token in the clear. The machine's
    variables are shown by name only; the settings' as ``to_env`` shows them."""
    import pprint

    from metaflow_config.testing import child_env

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-planted")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_planted")
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "shown-queue")
    monkeypatch.setenv("METAFLOW_SERVICE_AUTH_KEY", "planted-auth-key")
    monkeypatch.setenv("METAFLOW_MYORG_API_TOKEN", "planted-extension-token")  # no setting's
    with pytest.warns(ConfigWarning, match="METAFLOW_MYORG_API_TOKEN"):  # an unknown name
        env = child_env()
    for text in (repr(env), pprint.pformat(env), f"{env!r}", str(env)):
        assert "planted" not in text
        assert "'AWS_SECRET_ACCESS_KEY': ****" in text
        assert "'METAFLOW_MYORG_API_TOKEN': ****" in text
        assert "'METAFLOW_BATCH_JOB_QUEUE': 'shown-queue'" in text
    assert env["AWS_SECRET_ACCESS_KEY"] == "wJalrXUtnFEMI-planted"  # the values, given whole
