"""Attacks by class: URL passwords, secret map keys, internals, deep JSON, non-string keys.

Each class is fixed at its root (one masking function, concealed secret values, reprs of the
internals that show no values, a depth limit checked without recursion, a check of the mappings
code passes in); the tests draw instances of each class (Hypothesis where a generator fits) and
look at every surface where a value becomes text.
"""

from __future__ import annotations

import contextlib
import json
import os
import string
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from metaflow_config import ConfigError, load, override
from metaflow_config.testing import trust, write_local, write_profile
from tests.conftest import invoke

CANARY = "ZQXJ"  # in every drawn password: text no output holds by chance

# --- 1. URL passwords --------------------------------------------------------------------------

_PASSWORD_CHARS = string.ascii_letters + string.digits + "@:/!$&()*+,;=%-._~\"'"
passwords = st.text(_PASSWORD_CHARS, min_size=0, max_size=12).map(lambda p: CANARY + p)
#: a user name may hold an ``@`` (an e-mail address: urllib reads up to the last ``@``)
users = st.text(string.ascii_lowercase + string.digits + "@.", min_size=0, max_size=8)


def _url(user: str, password: str, *, space: str = "") -> str:
    return f"{space}https://{user}:{password}@mf.example.com/api{space}"


def _surfaces(env: dict[str, str], tmp_path: Path) -> list[str]:
    """Every text the library and the command line make of a configuration (or its error)."""
    texts: list[str] = []
    try:
        s = load(env=env, home=tmp_path / "none", cwd=tmp_path)
    except ConfigError as err:
        return [str(err), repr(err), *(str(p) for p in err.problems)]
    texts += [repr(s), repr(vars(s)), repr(s.service), repr(vars(s.service))]
    texts += [str(s.explain("SERVICE_URL")), repr(s.explain("SERVICE_URL"))]
    for target in ("local", "batch"):
        texts.append(repr(s.to_env(target)))
    with override(SERVICE_URL=s.service.url) as scoped:
        texts.append(repr(scoped))
    return texts


@hypothesis_settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=users, password=passwords, space=st.sampled_from(["", " ", "\t"]))
def test_a_url_password_shows_nowhere_in_the_library(
    tmp_path: Path, user: str, password: str, space: str
) -> None:
    """Valid or not (spaces make it invalid), a URL's password is masked on every surface."""
    url = _url(user, password, space=space)
    for text in _surfaces({"METAFLOW_SERVICE_URL": url}, tmp_path):
        assert CANARY not in text, text


@pytest.mark.parametrize(
    "password",
    ["p@ss", "p@ss@w0rd", "pa/ss", "p:a:s:s", "pass word", 'p"ss', "p'ss", "p', 'ss", 'p", "s'],
    ids=str,
)
def test_urllib_s_password_is_never_shown(tmp_path: Path, password: str) -> None:
    """Whatever urllib takes for the password is masked, whole (no tail after an ``@``)."""
    url = _url("bob", CANARY + password)
    parsed = urlsplit(url.strip()).password or ""
    for text in _surfaces({"METAFLOW_SERVICE_URL": url}, tmp_path):
        assert CANARY not in text, text
        if len(parsed) > 4:
            assert parsed not in text, text


@pytest.mark.parametrize("user", ["alice@corp.example", "a@b@c", "bo'b", 'bo"b'], ids=str)
def test_a_user_name_with_an_at_or_a_quote_hides_no_password(tmp_path: Path, user: str) -> None:
    """``https://alice@corp.example:pw@host``: urllib's password (after the first ``:``), masked."""
    url = _url(user, CANARY + "pw")
    assert urlsplit(url).password == CANARY + "pw"
    for text in _surfaces({"METAFLOW_SERVICE_URL": url}, tmp_path):
        assert CANARY not in text, text
    env = {"METAFLOW_HOME": str(tmp_path / "none"), "METAFLOW_SERVICE_URL": url}
    for args in (["show"], ["get", "SERVICE_URL"], ["env"], ["show", "--json"]):
        _, output = _cli(args, env)
        assert CANARY not in output, (args, output)


def _cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[int, str]:
    result = invoke(*args, input=stdin, env=env)
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["show"],
        ["show", "--json"],
        ["explain", "METAFLOW_SERVICE_URL", "METAFLOW_SERVICE_INTERNAL_URL"],
        ["env"],
        ["env", "--format", "dotenv"],
        ["env", "--format", "docker"],
        ["env", "--format", "json"],
        ["env", "--target", "batch"],
        ["check"],
    ],
    ids=" ".join,
)
def test_a_url_password_shows_nowhere_on_the_command_line(args: list[str], tmp_path: Path) -> None:
    """The commands treat a value holding a password as secret-bearing: masked."""
    home = tmp_path / "home"
    write_profile(home, {"SERVICE_URL": _url("bob", CANARY + "p@ss")})
    env = {"METAFLOW_HOME": str(home), "METAFLOW_SERVICE_INTERNAL_URL": _url("u", CANARY)}
    _, output = _cli(args, env)
    assert CANARY not in output, output


def test_env_reveals_a_url_password_only_when_asked(tmp_path: Path) -> None:
    """``env --reveal-secrets`` prints the real value; without it, a comment with it masked."""
    env = {"METAFLOW_HOME": str(tmp_path / "none"), "METAFLOW_SERVICE_URL": _url("bob", CANARY)}
    code, hidden = _cli(["env"], env)
    assert code == 0
    assert "# METAFLOW_SERVICE_URL=https://bob:****@mf.example.com/api" in hidden
    code, shown = _cli(["env", "--reveal-secrets"], env)
    assert code == 0
    assert CANARY in shown


def test_the_wizard_never_echoes_a_stored_url_password(tmp_path: Path) -> None:
    """The prompt shows the stored URL masked (Enter keeps it); the summary masks it too."""
    home = tmp_path / "home"
    url = _url("bob", CANARY)
    write_profile(home, {"SERVICE_URL": url, "DEFAULT_METADATA": "service"})
    answers = "\n".join(["n", "y", "", "", "", "", "n", "y"]) + "\n"
    code, output = _cli(["configure", "aws", "--yes"], {"METAFLOW_HOME": str(home)}, answers)
    assert CANARY not in output, output
    saved = json.loads((home / "config.json").read_text())
    assert saved["METAFLOW_SERVICE_URL"] == url  # kept as it was
    code, output = _cli(
        ["configure", "aws", "--yes", "--set", f"SERVICE_URL={_url('eve', CANARY + 'x')}"],
        {"METAFLOW_HOME": str(home)},
    )
    assert code == 0, output
    assert CANARY not in output, output


# --- 2. keys of a secret's map --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METAFLOW_SERVICE_HEADERS", {f"Bearer {CANARY}": 5}),
        ("METAFLOW_SERVICE_HEADERS", {f"x-{CANARY}": {"nested": "x"}}),
        ("METAFLOW_DATATOOLS_CLIENT_PARAMS", [CANARY, {CANARY: 1}]),
        ("METAFLOW_DATATOOLS_SESSION_VARS", [CANARY]),
    ],
)
def test_the_keys_of_a_secret_map_never_show(
    tmp_path: Path, name: str, value: dict[str, Any]
) -> None:
    """An invalid secret map names neither its keys nor its values, from any layer."""
    home, project = tmp_path / "home", tmp_path / "project"
    text = json.dumps(value)
    attempts: list[dict[str, Any]] = [
        {"env": {name: text}},
        {"overrides": {name: value}},
    ]
    if "nan" not in text.lower():
        write_profile(home, {name: value})
        write_local(project, {name: value})
        attempts.append({})
    for kwargs in attempts:
        with pytest.raises(ConfigError) as info:
            load(**{"env": {}, "home": home, "cwd": project, **kwargs})
        assert CANARY not in str(info.value), str(info.value)
        assert all(CANARY not in p.location for p in info.value.problems)


# --- 3. the internals of a snapshot --------------------------------------------------------------


def test_the_internals_of_a_snapshot_show_no_value(tmp_path: Path) -> None:
    """``vars()``/``__dict__`` of snapshots, sections, the resolution and layers: no values."""
    from metaflow_config import settings

    env = {
        "METAFLOW_SERVICE_AUTH_KEY": CANARY + "key",
        "METAFLOW_SERVICE_HEADERS": json.dumps({"Authorization": CANARY}),
        "UNRELATED_TOKEN": CANARY + "env",
    }
    home = tmp_path / "home"
    write_profile(home, {"DATATOOLS_CLIENT_PARAMS": {"aws_secret_access_key": CANARY}})
    s = load(env=env, home=home, cwd=tmp_path)
    texts = [repr(vars(s)), repr(s.__dict__), repr(s._resolution), repr(s._resolution.inputs)]
    texts += [repr(layer) for layer in s._resolution.layers.values()]
    texts += [repr(layer.values) for layer in s._resolution.layers.values()]
    for section in ("service", "datatools", "s3"):
        texts.append(repr(vars(getattr(s, section))))
    texts += [repr(s["SERVICE_AUTH_KEY"]), repr(s.service.headers), f"{s.service.auth_key!r}"]
    texts.append(repr(vars(settings)))
    for text in texts:
        assert CANARY not in text, text
    assert s.service.auth_key == CANARY + "key"  # the value itself is the plain text
    assert str(s.service.auth_key) == CANARY + "key"
    assert json.loads(json.dumps(dict(s.service.headers))) == {"Authorization": CANARY}


def test_a_section_holds_its_own_values_only() -> None:
    """A section's instance holds its fields and its snapshot: no mapping of every value."""
    s = load(env={}, home="/nonexistent", cwd="/")
    for name in ("service", "datatools", "s3", "batch", "sfn"):
        section = getattr(s, name)
        own = {f.attr for f in type(section).fields}
        assert set(vars(section)) == own | {"_snapshot"}, name


# --- 4. deep JSON ---------------------------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def _nested_text(depth: int) -> str:
    return '{"a":' * depth + '"leaf"' + "}" * depth  # json.dumps would recurse here


@pytest.mark.parametrize("depth", [65, 450, 989])
def test_deep_json_is_a_config_error_from_every_layer(tmp_path: Path, depth: int) -> None:
    """Nested past the limit (or past what json reads), never a RecursionError."""
    name = "METAFLOW_DATATOOLS_SESSION_VARS"
    text = _nested_text(depth)
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    (project / ".metaflow").mkdir(parents=True)
    (home / "config.json").write_text(f'{{"{name}": {text}}}', encoding="utf-8")
    (project / ".metaflow" / "config.json").write_text(
        f'{{"METAFLOW_DATATOOLS_CLIENT_PARAMS": {text}}}', encoding="utf-8"
    )
    value = _nested(depth)
    trusting = tmp_path / "trusting"  # the project file sets a secret: applied once trusted
    with contextlib.suppress(ConfigError):  # past what json reads: refused at the read anyway
        trust(trusting, project / ".metaflow" / "config.json")
    for kwargs in (
        {"env": {name: text}, "home": tmp_path / "none"},
        {"env": {}, "overrides": {name: value, "BATCH_JOB_QUEUE": [value]}, "home": "/none"},
        {"env": {}, "home": home},
        {"env": {}, "home": trusting, "cwd": project},
    ):
        with pytest.raises(ConfigError) as info:
            load(**{"cwd": tmp_path, **kwargs})
        assert "nested" in str(info.value)
    with pytest.raises(ConfigError, match="METAFLOW_SERVICE_HEADERS"):  # a map of strings
        load(env={"METAFLOW_SERVICE_HEADERS": text}, home=tmp_path / "none", cwd=tmp_path)


def test_deep_json_in_a_profile_is_reported_by_show(tmp_path: Path) -> None:
    """The command says what is wrong, exit status 1, no traceback."""
    home = tmp_path / "home"
    home.mkdir()
    text = _nested_text(600)
    (home / "config.json").write_text(f'{{"METAFLOW_DATATOOLS_SESSION_VARS": {text}}}')
    code, output = _cli(["show"], {"METAFLOW_HOME": str(home)})
    assert code == 1
    assert "Traceback" not in output
    assert "nested" in output


def test_a_deep_value_from_code_is_shown_safely() -> None:
    """A value injected by code deeper than repr can go is described, not raised."""
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ConfigError, match="METAFLOW_BATCH_JOB_QUEUE"):
        load(env={}, home="/nonexistent", overrides={"BATCH_JOB_QUEUE": deep})


# --- 5. mappings code passes in -------------------------------------------------------------------

_NOT_TEXT: list[Any] = [1, None, 2.5, ("a",), b"METAFLOW_X", frozenset()]


@pytest.mark.parametrize("key", _NOT_TEXT, ids=repr)
def test_keys_that_are_not_strings_are_config_errors(tmp_path: Path, key: Any) -> None:
    """Every mapping code hands over is checked: its keys must be strings."""
    calls = [
        lambda: load(env={}, home="/nonexistent", overrides={key: "x"}),
        lambda: load(env={key: "x"}, home="/nonexistent"),
        lambda: override({key: "x"}),
        lambda: override(env={key: "x"}),
        lambda: write_profile(tmp_path, {key: "x"}),
        lambda: write_local(tmp_path, {key: "x"}),
    ]
    for call in calls:
        with pytest.raises(ConfigError, match="string keys"):
            call()


@pytest.mark.parametrize("value", _NOT_TEXT[:4], ids=repr)
def test_environment_values_must_be_strings(value: Any) -> None:
    """An environment holds text: another value is named, not coerced or crashed on."""
    with pytest.raises(ConfigError, match=r"METAFLOW_BATCH_JOB_QUEUE.*a string"):
        load(env={"METAFLOW_BATCH_JOB_QUEUE": value}, home="/nonexistent")


@pytest.mark.parametrize("argument", [["METAFLOW_X"], "METAFLOW_X=1", 5])
def test_an_environment_that_is_not_a_mapping_is_a_config_error(argument: Any) -> None:
    """``load(env=...)`` of a list, a string or a number says what it expected."""
    with pytest.raises(ConfigError, match="a mapping"):
        load(env=argument, home="/nonexistent")


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("home", 5),
        ("home", b"/tmp"),
        ("cwd", 5),
        ("cwd", ["/"]),
        ("profile", 3),
        ("strict", "no"),
        ("strict", 0),
    ],
    ids=repr,
)
def test_other_arguments_of_a_wrong_type_are_config_errors(argument: str, value: Any) -> None:
    """``load(home=5)`` is not a raw TypeError from os.path, and ``strict="no"`` is not true:
    each names the argument and what it takes."""
    with pytest.raises(ConfigError, match=rf"load\({argument}=\.\.\.\): got ") as info:
        load(env={}, **{argument: value})
    assert info.value.problems[0].setting == f"load({argument}=...)"
    if argument != "strict":
        with pytest.raises(ConfigError, match=rf"override\({argument}=\.\.\.\)"):
            override(**{argument: value})


def test_paths_may_be_path_objects(tmp_path: Path) -> None:
    """``pathlib.Path`` (any ``os.PathLike`` of text) is a path, as a str is."""
    write_profile(tmp_path / "home", {"BATCH_JOB_QUEUE": "q"})
    s = load(env={}, home=tmp_path / "home", cwd=tmp_path)
    assert s.batch.job_queue == "q"
    with override(home=tmp_path / "home", cwd=tmp_path, BATCH_JOB_QUEUE="r") as scoped:
        assert scoped.batch.job_queue == "r"


def test_os_environ_itself_is_not_checked_key_by_key() -> None:
    """The process environment (always strings) resolves without the check's cost."""
    assert load(home=os.devnull + "-none").batch.job_queue is None


# --- 6. terminal escapes in names ----------------------------------------------------------------

#: OSC 52 (writes the clipboard), a screen clear, and a C1 CSI: what a hostile key could send
_ESCAPES = "\x1b]52;c;cHduZWQ\x07\x1b[2J\x9b"  # no "=": a variable name holds none


def _has_control(text: str) -> bool:
    return any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)


@pytest.mark.parametrize("strict", [False, True])
def test_a_key_holding_escapes_reaches_no_terminal(tmp_path: Path, strict: bool) -> None:
    """An unknown key of a file or a variable's name is shown with its control characters
    escaped: in the warning, the error (strict), and the command line's output."""
    home = tmp_path / "home"
    write_profile(home, {f"METAFLOW_X{_ESCAPES}": 1})
    env = {f"METAFLOW_Y{_ESCAPES}": "1"}
    texts: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            load(env=env, home=home, cwd=tmp_path, strict=strict)
        except ConfigError as err:
            texts += [str(err), *(str(p) for p in err.problems)]
    texts += [str(w.message) for w in caught]
    assert any("METAFLOW_X\\x1b]52" in t for t in texts), texts
    assert any("METAFLOW_Y\\x1b]52" in t for t in texts), texts
    for args in (["show"], ["check"], ["explain", f"METAFLOW_Z{_ESCAPES}"]):
        _, output = _cli(args, {"METAFLOW_HOME": str(home), **env})
        texts.append(output)
    for text in texts:
        assert not _has_control(text), repr(text)
