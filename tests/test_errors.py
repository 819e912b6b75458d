"""Bad input: every problem of a resolution in one ConfigError naming setting, layer and fix."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError, ConfigWarning, load, override
from tests.conftest import write_json


def _load_env(tmp_path: Path, **env: str) -> object:
    return load(env={f"METAFLOW_{k}": v for k, v in env.items()}, home=tmp_path, cwd=tmp_path)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        pytest.param("BATCH_EMIT_TAGS", "maybe", "a boolean", id="bool-junk"),
        pytest.param("S3_RETRY_COUNT", "5.7", "a whole number", id="int-fraction"),
        pytest.param("S3_RETRY_COUNT", "-1", "from 0 to 12", id="int-negative"),
        pytest.param("DATASTORE_SYSROOT_S3", "bucket/prefix", "an S3 URL", id="s3-no-scheme"),
        pytest.param("DATASTORE_SYSROOT_S3", "s3://a:b/x", "an S3 URL", id="s3-colon-in-bucket"),
        pytest.param(
            "SFN_IAM_ROLE", "arn:aws:iam::123:role/x", "IAM role ARN", id="arn-short-acct"
        ),
        pytest.param("SFN_IAM_ROLE", "arn:aws:s3:::bucket", "IAM role ARN", id="arn-wrong-service"),
        pytest.param(
            "SFN_EXECUTION_LOG_GROUP_ARN",
            "/aws/states/x",
            "log-group ARN",
            id="log-group-name-not-arn",
        ),
        pytest.param("BATCH_DEFAULT_TAGS", '{"a": 1}', "AWS tags", id="tags-int-value"),
        pytest.param("BATCH_DEFAULT_TAGS", "{nope", "not valid JSON", id="tags-bad-json"),
        pytest.param(
            "BATCH_DEFAULT_TAGS",
            '{"a": "b\x01c"}',
            "not valid JSON (a control character in a string",
            id="tags-control-character",
        ),
        pytest.param("BATCH_DEFAULT_TAGS", '{"aws:x": "y"}', "reserved", id="tags-aws-prefix"),
        pytest.param("SERVICE_HEADERS", "[1]", "JSON object", id="headers-list"),
        pytest.param("S3_CLIENT_RETRY_CONFIG", '{"mode": "fast"}', "adaptive", id="retry-mode"),
        pytest.param(
            "S3_CLIENT_RETRY_CONFIG", '{"max_atempts": 3}', "max_attempts", id="retry-typo-key"
        ),
        pytest.param("S3_SERVER_SIDE_ENCRYPTION", "aes256", "one of", id="choice-case"),
        pytest.param("SERVICE_URL", "metadata.example.com", "URL", id="url-no-scheme"),
    ],
)
def test_bad_env_value(tmp_path: Path, name: str, value: str, expected: str) -> None:
    """A bad environment value names the variable, the env layer and what was expected."""
    with pytest.raises(ConfigError) as info:
        _load_env(tmp_path, **{name: value})
    (problem,) = info.value.problems
    assert problem.setting == f"METAFLOW_{name}"
    assert (problem.layer, problem.location) == ("env", f"METAFLOW_{name}")
    assert expected in problem.expected
    assert f"METAFLOW_{name}" in problem.fix
    assert f"METAFLOW_{name}" in str(info.value)


def test_all_problems_reported_together(tmp_path: Path) -> None:
    """Three bad values in two layers give one ConfigError with three problems."""
    home = tmp_path / "home"
    write_json(home / "config.json", {"METAFLOW_S3_RETRY_COUNT": 5.7, "METAFLOW_SFN_IAM_ROLE": "x"})
    with pytest.raises(ConfigError) as info:
        load(env={"METAFLOW_BATCH_EMIT_TAGS": "junk"}, home=home, cwd=tmp_path)
    problems = {p.setting: p for p in info.value.problems}
    assert set(problems) == {
        "METAFLOW_S3_RETRY_COUNT",
        "METAFLOW_SFN_IAM_ROLE",
        "METAFLOW_BATCH_EMIT_TAGS",
    }
    retry = problems["METAFLOW_S3_RETRY_COUNT"]
    assert retry.layer == "profile"
    assert retry.location == f"{home / 'config.json'}:METAFLOW_S3_RETRY_COUNT"
    assert "3 problems" in str(info.value)


def test_shadowed_bad_value_warns_but_does_not_block(tmp_path: Path) -> None:
    """A bad profile value hidden by a good env value warns (latent) but does not fail."""
    home = tmp_path / "home"
    write_json(home / "config.json", {"METAFLOW_BATCH_EMIT_TAGS": "junk"})
    with pytest.warns(ConfigWarning, match="not in force: the env layer sets it"):
        s = load(env={"METAFLOW_BATCH_EMIT_TAGS": "on"}, home=home, cwd=tmp_path)
    assert s.batch.emit_tags is True


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        pytest.param(
            {"METAFLOW_DATATOOLS_SUFFIX": "a b"},
            "METAFLOW_DATATOOLS_S3ROOT",
            id="suffix-with-space",
        ),
        pytest.param({"USER": "ann\nx"}, "METAFLOW_USER", id="user-with-newline"),
    ],
)
def test_derived_values_are_validated(tmp_path: Path, env: dict[str, str], setting: str) -> None:
    """A derived value no layer could set is an error naming the derivation."""
    env = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://bucket/x", **env}
    with pytest.raises(ConfigError) as info:
        load(env=env, home=tmp_path, cwd=tmp_path)
    (problem,) = info.value.problems
    assert (problem.setting, problem.layer) == (setting, "derived")
    assert "set it explicitly" in problem.fix


@pytest.mark.parametrize("name", ["we\nird", "esc\x1b[0m", "line\u2028sep"])
def test_a_working_directory_no_value_could_name_is_dot(tmp_path: Path, name: str) -> None:
    """A working directory whose path is not one line of plain text (a cloned repository's
    folder may be named so) blocks nothing: the local root derived from it is ``.``, which
    names the same directory, and its origin says why; it is exported as such."""
    work = tmp_path / name
    work.mkdir()
    s = load(env={}, home=tmp_path, cwd=work)
    assert s["ARTIFACT_LOCALROOT"] == "."
    assert "not one line of plain text" in s.explain("ARTIFACT_LOCALROOT").location
    assert s.to_env("local")["METAFLOW_ARTIFACT_LOCALROOT"] == "."
    assert load(env={}, home=tmp_path, cwd=tmp_path)["ARTIFACT_LOCALROOT"] == str(tmp_path)


def test_runtime_prefix_does_not_hide_a_typo(tmp_path: Path) -> None:
    """METAFLOW_DEBUG_S3CLEINT is a typo of a setting, not one of Metaflow's runtime variables."""
    with pytest.warns(ConfigWarning, match="did you mean METAFLOW_DEBUG_S3CLIENT"):
        load(env={"METAFLOW_DEBUG_S3CLEINT": "1"}, home=tmp_path, cwd=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(env={"METAFLOW_CONDA_ENVS_DIRNAME": "envs"}, home=tmp_path, cwd=tmp_path)


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"JOB_QUEUE_NAME": "alias", "BATCH_JOB_QUEUE": "own"}, id="alias-first"),
        pytest.param({"BATCH_JOB_QUEUE": "own", "JOB_QUEUE_NAME": "alias"}, id="own-first"),
    ],
)
def test_override_alias_never_beats_own_name(tmp_path: Path, overrides: dict[str, str]) -> None:
    """In overrides, as in every layer, the setting's own name beats its alias in any order."""
    s = load(env={}, home=tmp_path, cwd=tmp_path, overrides=overrides)
    assert s.batch.job_queue == "own"


@pytest.mark.parametrize(
    ("json_value", "expected"),
    [
        pytest.param(0, False, id="json-zero"),
        pytest.param(True, True, id="json-true"),
        pytest.param("off", False, id="string-off"),
        pytest.param("No", False, id="string-No"),
    ],
)
def test_bool_from_file(tmp_path: Path, json_value: object, expected: bool) -> None:
    """Booleans in files: JSON true/false, 0/1 and the boolean words (Metaflow crashes on 0)."""
    home = tmp_path / "home"
    write_json(home / "config.json", {"METAFLOW_BATCH_EMIT_TAGS": json_value})
    assert load(env={}, home=home, cwd=tmp_path).batch.emit_tags is expected


def test_secret_value_masked_in_error(tmp_path: Path) -> None:
    """A bad secret value is never shown in the error."""
    with pytest.raises(ConfigError) as info:
        _load_env(tmp_path, SERVICE_HEADERS='{"Authorization": 12345678}')
    assert "12345678" not in str(info.value)
    assert "****" in str(info.value)


def test_missing_named_profile_lists_existing(tmp_path: Path) -> None:
    """A named profile that does not exist is an error listing the profiles that do."""
    home = tmp_path / "home"
    write_json(home / "config.json", {})
    write_json(home / "config_dev.json", {})
    with pytest.raises(ConfigError) as info:
        load(env={"METAFLOW_PROFILE": "prod"}, home=home, cwd=tmp_path)
    text = str(info.value)
    assert "config.json (the default), dev" in text
    assert str(home / "config_prod.json") in text
    assert "configure aws --profile prod" in text


def test_missing_default_profile_is_fine(tmp_path: Path) -> None:
    """No config.json at all is local mode, not an error."""
    assert load(env={}, home=tmp_path / "nowhere", cwd=tmp_path).defaults.metadata == "local"


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    """Malformed JSON names the file, line and column."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text('{\n  "METAFLOW_BATCH_JOB_QUEUE": "q",\n}\n')
    with pytest.raises(ConfigError) as info:
        load(env={}, home=home, cwd=tmp_path)
    (problem,) = info.value.problems
    assert problem.location == str(home / "config.json")
    assert "line 2, column 34" in problem.expected  # at the comma, on every Python


def test_unknown_key_warns_with_suggestion(tmp_path: Path) -> None:
    """An unknown METAFLOW_* variable warns with a did-you-mean."""
    with pytest.warns(ConfigWarning, match="did you mean METAFLOW_BATCH_JOB_QUEUE"):
        s = _load_env(tmp_path, BATCH_JOB_QUEU="q")
    assert s.warnings  # type: ignore[attr-defined]


@pytest.mark.parametrize("scoped", [False, True], ids=["load", "override"])
def test_a_warning_names_the_line_of_code_that_resolved(tmp_path: Path, scoped: bool) -> None:
    """A ConfigWarning is attributed to the caller outside the package, wherever in the
    package's subpackages the resolution ran."""
    from metaflow_config import override, settings

    env = {"METAFLOW_BATCH_JOB_QUEU": "q"}

    def resolve() -> None:
        if scoped:
            with override(env=env, home=tmp_path, cwd=tmp_path):
                settings.batch.job_queue  # noqa: B018
        else:
            load(env=env, home=tmp_path, cwd=tmp_path)

    with pytest.warns(ConfigWarning) as caught:
        resolve()
    assert {w.filename for w in caught} == {__file__}


def test_unknown_key_in_file_warns(tmp_path: Path) -> None:
    """A key of a profile file that is no setting warns, naming the file."""
    home = tmp_path / "home"
    write_json(home / "config.json", {"METAFLOW_DATASTORE_SYSROOT": "s3://bucket/x"})
    with pytest.warns(ConfigWarning, match="config.json") as record:
        load(env={}, home=home, cwd=tmp_path)
    assert "METAFLOW_DATASTORE_SYSROOT_S3" in str(record[0].message)


@pytest.mark.parametrize(
    "strict",
    [
        pytest.param({"strict": True}, id="load-strict"),
        pytest.param({"env_strict": "1"}, id="env-strict"),
    ],
)
def test_unknown_key_is_error_in_strict_mode(tmp_path: Path, strict: dict[str, object]) -> None:
    """In strict mode an unknown key is a ConfigError."""
    env = {"METAFLOW_BATCH_JOB_QUEU": "q"}
    if "env_strict" in strict:
        env["METAFLOW_CONFIG_STRICT"] = str(strict["env_strict"])
    with pytest.raises(ConfigError, match="did you mean METAFLOW_BATCH_JOB_QUEUE"):
        load(env=env, home=tmp_path, cwd=tmp_path, strict=strict.get("strict"))  # type: ignore[arg-type]


def test_runtime_variables_are_not_unknown(tmp_path: Path) -> None:
    """Variables Metaflow sets in tasks (METAFLOW_RUN_ID, ...) are not reported as unknown."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(
            env={"METAFLOW_RUN_ID": "1", "METAFLOW_CODE_URL": "s3://b/c"},
            home=tmp_path,
            cwd=tmp_path,
            strict=True,
        )


def test_unknown_override_is_error(tmp_path: Path) -> None:
    """An unknown override key is an error (no silent typo in a test)."""
    with pytest.raises(ConfigError, match="BATCH_JOB_QUEU"):
        load(env={}, home=tmp_path, cwd=tmp_path, overrides={"BATCH_JOB_QUEU": "q"})


def test_url_passwords_are_masked_wherever_shown(tmp_path: Path) -> None:
    """A password in a URL's userinfo is masked in explain, repr and the show table."""
    from metaflow_config.cli._show import rows

    url = "https://user:pw-CANARY@mf.example.com/api"
    s = load(env={"METAFLOW_SERVICE_URL": url}, home=tmp_path, cwd=tmp_path)
    assert s.service.url == url
    shown = [
        str(s.explain("METAFLOW_SERVICE_URL")),
        str(s.explain("METAFLOW_SERVICE_INTERNAL_URL")),
        repr(s),
        repr(s.service),
        repr(rows(s, include_defaults=False)),
    ]
    for text in shown:
        assert "CANARY" not in text
        assert "user:****@mf.example.com" in text
    assert s.to_env()["METAFLOW_SERVICE_URL"] == url  # the container needs the real value


def test_trailing_comma_is_named(tmp_path: Path) -> None:
    """A trailing comma in a profile gets said as such, with its line and column."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text('{\n  "METAFLOW_BATCH_JOB_QUEUE": "q",\n}\n')
    with pytest.raises(ConfigError, match=r"line 2, column 34: a trailing comma"):
        load(env={}, home=home, cwd=tmp_path)


@pytest.mark.parametrize(
    "url",
    ["https://bob:p@ss@host/api", "https://bob:p@ss@w@rd@host", "https://bob:pw@host:8080/x"],
)
def test_a_url_password_holding_at_signs_is_masked_whole(url: str) -> None:
    """The userinfo ends at the last ``@`` of the authority, as urllib reads it."""
    from urllib.parse import urlsplit

    from metaflow_config.errors import mask_url_password

    password = urlsplit(url).password
    assert password
    for shown in (mask_url_password(url), mask_url_password(f'  "X": "{url}",')):
        assert password not in shown
        assert "bob:****@" in shown


def test_a_problem_is_a_frozen_dataclass() -> None:
    """Problem's methods are written out (cheaper to import): they behave as generated ones."""
    import dataclasses
    import pickle

    from metaflow_config import Problem

    url = "https://user:hunter2@example.com/"
    problem = Problem("METAFLOW_X", "env", url, url, "a URL", "fix it")
    assert "hunter2" not in repr(problem)  # masked when made, as __post_init__ did
    assert problem.location == "https://user:****@example.com/"
    parts = ("METAFLOW_X", "env", problem.location, problem.value, "a URL", "fix it")
    assert dataclasses.astuple(problem) == parts
    names = ("setting", "layer", "location", "value", "expected", "fix")
    assert tuple(f.name for f in dataclasses.fields(Problem)) == names
    assert (
        repr(problem)
        == "Problem("
        + ", ".join(f"{f.name}={v!r}" for f, v in zip(dataclasses.fields(Problem), parts))
        + ")"
    )
    same = Problem(*parts)
    assert same == problem
    assert hash(same) == hash(problem)
    assert len({same, problem}) == 1
    assert problem != Problem(*parts[:-1], "another fix")
    assert problem.__eq__(parts) is NotImplemented
    assert dataclasses.replace(problem, fix="other").fix == "other"
    assert pickle.loads(pickle.dumps(problem)) == problem  # noqa: S301 - our own bytes
    with pytest.raises(dataclasses.FrozenInstanceError):
        problem.fix = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del problem.fix  # type: ignore[misc]
    assert problem.fix == "fix it"
    if sys.version_info >= (3, 10):  # dataclasses set it from Python 3.10 on
        assert Problem.__match_args__ == names


@pytest.mark.parametrize("wrong", [5, None, b"METAFLOW_USER", ["s3"]], ids=repr)
@pytest.mark.parametrize("process", [False, True], ids=["snapshot", "process-settings"])
def test_a_name_that_is_not_a_str_is_a_wrong_argument(wrong: Any, process: bool) -> None:
    """``settings[5]``, ``explain(123)``: a ConfigError headed "invalid argument:" (they were an
    AttributeError about ``startswith``; ``require(["s3"])`` a TypeError: unhashable). A str
    naming no setting stays a KeyError, with its did-you-mean."""
    from metaflow_config import settings

    s = settings if process else load(env={}, home="/nonexistent", cwd="/")
    calls: dict[str, Callable[[], object]] = {
        "settings[name]": lambda: s[wrong],
        "explain(name)": lambda: s.explain(wrong),
        "source(name)": lambda: s.source(wrong),
        "to_env(target)": lambda: s.to_env(wrong),
        "require(capability)": lambda: s.require(wrong),
    }
    if not isinstance(wrong, list):  # a key of a dict: a list cannot be one
        calls["override(...)"] = lambda: override({wrong: "q"})
    for argument, call in calls.items():
        with pytest.raises(ConfigError) as info:
            call()
        assert str(info.value).startswith(f"invalid argument: {argument}: got "), argument
    for call in (lambda: s["BATCH_JOB_QUEU"], lambda: s.explain("BATCH_JOB_QUEU")):
        with pytest.raises(KeyError, match="did you mean METAFLOW_BATCH_JOB_QUEUE"):
            call()


def test_a_wrong_argument_of_a_call_is_headed_as_one() -> None:
    """``require("s4")`` is a call given a wrong argument, not an invalid configuration: the
    same ConfigError, headed for what it is; a configuration's problems keep their heading."""
    s = load(env={}, home="/nonexistent", cwd="/")
    with pytest.raises(ConfigError) as wrong:
        s.require("s4")
    assert str(wrong.value).startswith("invalid argument: require(capability): got 's4'")
    with pytest.raises(ConfigError) as typed:
        load(env={"METAFLOW_X": 1}, home="/nonexistent", cwd="/")  # type: ignore[dict-item]
    assert str(typed.value).startswith("invalid argument: load(env=...)['METAFLOW_X']")
    with pytest.raises(ConfigError) as invalid:
        load(env={"METAFLOW_BATCH_EMIT_TAGS": "maybe"}, home="/nonexistent", cwd="/")
    assert str(invalid.value).startswith("invalid Metaflow configuration: METAFLOW_BATCH")
