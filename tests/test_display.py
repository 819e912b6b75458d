"""One display function at every boundary: masking, escaping and reprs, on hostile input.

``metaflow_config._display`` owns how a value is shown. These tests draw passwords in valid and
mistyped URL shapes inside any text, every character that moves a terminal or turns text
around, and values of 1 MB built to make a pattern backtrack; then they look at every surface
(the functions, problems, the commands, the reprs of what holds a secret, ``check``'s lines).
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import pickle
import pprint
import re
import shutil
import string
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import metaflow_config.compat as mc
from metaflow_config import load, override
from metaflow_config._display import (
    MASK,
    has_url_password,
    mask_quoted,
    mask_url_password,
    mask_value,
    printable,
    redact,
    shorten,
    show_value,
    url_passwords,
)
from metaflow_config._model.references import Reference
from metaflow_config._model.values import SecretDict, SecretMapping, SecretText
from metaflow_config.errors import ConfigError, ConfigWarning, Problem
from tests.conftest import invoke

# --- linear time on hostile input ----------------------------------------------------------------

SMALL, LARGE = 16 * 1024, 256 * 1024
#: What a linear function's time may grow by from 16 KB to 256 KB (16x); a quadratic one is 256x
#: (a cubic 4,096x): the sizes tell them apart as well as 64 KB and 1 MB do, in a quarter of the
#: time (the suite runs on five Pythons).
MAX_GROWTH = 40

HOSTILE: dict[str, Callable[[int], str]] = {
    "a.": lambda n: "a." * (n // 2) + "@",
    "a.-and-a-scheme": lambda n: "a." * (n // 2) + "@ x://",
    "colons": lambda n: ":" * n + "@",
    "schemes": lambda n: "://" * (n // 3),
    "one-scheme-many-ats": lambda n: "a://" + "@" * n,
    "users": lambda n: "u:" * (n // 2) + "@",
    "ats": lambda n: "@" * n,
    "urls": lambda n: "https://u:p@" * (n // 12),
    "quotes-and-keys": lambda n: "'k': 'a:b@c://d', \"" * (n // 18),
    "key-separators": lambda n: '":' * (n // 2) + "@",
    "json": lambda n: '{"k": "' + "u:" * (n // 2) + '@"}',
    "arn": lambda n: "arn:aws:iam::123456789012:role/" + "a@" * (n // 2),
    "digests": lambda n: ("x@sha256:" + "0" * 64) * (n // 73),
    "spaces-in-quotes": lambda n: "'" + " " * n + "'@",
    "controls": lambda n: "\x1b\x85\u202e\u2028a:@" * (n // 8),
}
FUNCTIONS: dict[str, Callable[[str], Any]] = {
    "mask_url_password": mask_url_password,
    "mask_url_password(rendered)": lambda text: mask_url_password(text, rendered=True),
    "has_url_password": has_url_password,
    "printable": printable,
    "show_value": lambda text: show_value(text, secret=False),
    "show_value(list)": lambda text: show_value([text, {"k": text}], secret=False),
    "shorten": lambda text: shorten(text, 60),
    "shorten(repr)": lambda text: shorten(repr(text), 60),
    "mask_quoted": mask_quoted,
}


def _seconds(fn: Callable[[str], Any], text: str, repeat: int) -> float:
    """CPU seconds of ``repeat`` calls, the best of three runs."""
    best = math.inf
    for _ in range(3):
        start = time.process_time()
        for _ in range(repeat):
            fn(text)
        best = min(best, time.process_time() - start)
    return best


def _growth(fn: Callable[[str], Any], make: Callable[[int], str]) -> float:
    """How much longer ``fn`` takes on 256 KB than on 16 KB of the same text."""
    small, large = make(SMALL), make(LARGE)
    repeat = 1
    took = _seconds(fn, small, repeat)
    while took < 0.001 and repeat < 4096:  # long enough to measure
        repeat *= 4
        took = _seconds(fn, small, repeat)
    return _seconds(fn, large, repeat) / max(took, 1e-9)


#: The shapes the issue names run with every test run; the mixtures with the whole suite.
BRIEF = ("a.", "a.-and-a-scheme", "colons", "schemes", "one-scheme-many-ats", "users", "ats")


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(make, id=name, marks=() if name in BRIEF else pytest.mark.slow)
        for name, make in HOSTILE.items()
    ],
)
def test_showing_a_value_is_linear_on_hostile_input(make: Callable[[int], str]) -> None:
    """256 KB of text built to backtrack takes less than 40x what 16 KB takes (linear is 16x)."""
    for name, fn in FUNCTIONS.items():
        growth = [_growth(fn, make)]
        while growth[-1] >= MAX_GROWTH and len(growth) < 3:  # a busy machine, or quadratic
            growth.append(_growth(fn, make))
        assert min(growth) < MAX_GROWTH, (name, growth)


# --- URL passwords, valid or mistyped, in any text -------------------------------------------

#: Letters no other part of a drawn text holds: none may be shown.
CANARY = "ΩЖЯξ"
passwords = st.text(CANARY, min_size=1, max_size=8)
users = st.text(string.ascii_letters + string.digits + "@.-_%'\"", max_size=8)
hosts = st.text(string.ascii_lowercase + string.digits + ".-", min_size=1, max_size=12)
tails = st.sampled_from(["", "/", "/api", ":8080/x", "?q=1", "/x@y", " ", "'", '"}', ", "])
schemes = st.sampled_from(["https", "http", "s3", "postgres+psycopg", "x"])
#: Valid and mistyped shapes: https://, https:/, //, none, a path after the host.
SHAPES = (
    "{scheme}://{user}:{password}@{host}{tail}",
    "{scheme}:/{user}:{password}@{host}{tail}",
    "//{user}:{password}@{host}{tail}",
    "{user}:{password}@{host}{tail}",
    "{user}:{password}@{host}/path{tail}",
    # a token as the user name is the credential (no password, or an empty one)
    "{scheme}://{password}@{host}{tail}",
    "{scheme}://{password}:@{host}{tail}",
    "//{password}@{host}{tail}",
)
shapes = st.sampled_from(SHAPES)
#: Any text around it (controls, quotes, colons, at signs, JSON), but the canary's letters.
around = st.text(st.characters(blacklist_characters=CANARY, blacklist_categories=["Cs"]))


def _no_canary(text: str, where: str) -> None:
    leaked = [c for c in CANARY if c in text]
    assert not leaked, f"{where} shows {leaked}: {text!r}"


@hypothesis_settings(max_examples=300)
@given(
    shape=shapes,
    scheme=schemes,
    user=users,
    password=passwords,
    host=hosts,
    tail=tails,
    before=around,
    after=around,
)
def test_a_password_in_any_text_is_never_shown(
    shape: str,
    scheme: str,
    user: str,
    password: str,
    host: str,
    tail: str,
    before: str,
    after: str,
) -> None:
    """``user:password@`` in a valid or mistyped URL, in any text: masked on every surface."""
    url = shape.format(scheme=scheme, user=user, password=password, host=host, tail=tail)
    text = before + url + after
    assert has_url_password(text)
    _no_canary(mask_url_password(text), "mask_url_password")
    _no_canary(mask_url_password(repr(text), rendered=True), "mask_url_password(repr)")
    _no_canary(show_value(text, secret=False), "show_value")
    _no_canary(show_value({"k": [text], text: 1}, secret=False), "show_value of a dict")
    _no_canary(json.dumps(mask_value({"k": [text]})), "mask_value")
    problem = Problem.bad_value(
        text, "env", text, value=show_value(text, secret=False), expected="x", fix="y"
    )
    _no_canary(str(problem), "Problem.__str__")
    _no_canary(str(ConfigError([problem])), "ConfigError")


@hypothesis_settings(max_examples=100)
@given(shape=shapes, user=users, password=passwords, host=hosts, before=around, after=around)
def test_a_password_in_a_setting_is_never_shown_by_the_resolution(
    shape: str, user: str, password: str, host: str, before: str, after: str
) -> None:
    """A setting holding it (valid or not): its error, repr and explain show no password."""
    url = shape.format(scheme="https", user=user, password=password, host=host, tail="")
    env = {"METAFLOW_SERVICE_URL": before + url + after, "METAFLOW_SFN_IAM_ROLE": url}
    try:
        s = load(env=env, home="/nonexistent", cwd="/")
    except ConfigError as err:
        _no_canary(str(err), "the error")
        return
    _no_canary(repr(s) + str(s.explain("SERVICE_URL")), "the snapshot")  # pragma: no cover


def test_a_problem_shows_a_value_without_a_password_as_it_is() -> None:
    """A dict's ``repr`` whose strings hold a ``:`` and an ``@`` (no password): shown whole."""
    value = show_value({"k": "a:b", "m": "c@d"}, secret=False)
    problem = Problem.bad_value("X", "env", "X", value=value, expected="e", fix="f")
    assert "got {'k': 'a:b', 'm': 'c@d'};" in str(problem)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam::u:hunter2@h"),
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam::123456789012:role/u:hunter2@h"),
        ("METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN", "arn:aws:logs:u:hunter2@h:1:log-group:x"),
        ("METAFLOW_DATASTORE_SYSROOT_S3", "s3://u:hunter2@bucket/x"),
        ("METAFLOW_BATCH_DEFAULT_TAGS", '{"aws:u:hunter2@h": "v"}'),
    ],
    ids=str,
)
def test_a_message_quoting_part_of_a_value_masks_it(name: str, value: str) -> None:
    """What is wrong with a value, said part by part (an ARN's account, a tag's key)."""
    with pytest.raises(ConfigError) as info:
        load(env={name: value}, home="/nonexistent", cwd="/")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://admin:hunter2@host/x", "https://admin:****@host/x"),
        ("https:/admin:hunter2@host", "https:****@host"),
        ("//u:hunter2@h", "//u:****@h"),
        ("u:hunter2@host", "u:****@host"),
        ("user:hunter2@host/path", "user:****@host/path"),
        ("see https://u:hunter2@h, or mail a@b", "see https://u:****@b"),
        ("https://u://hunter2@h", "https://u:****@h"),
        ("arn:aws:iam::u:hunter2@h", "arn:****@h"),
        ("arn:aws:iam::123456789012:hunter2@h", "arn:****@h"),  # no resource type: no ARN
        ("arn:aws:iam::u:role/hunter2@h", "arn:****@h"),  # no account: no ARN
        (
            '{"url": "https://u:hunter2@h", "owner": "a@b.c"}',
            '{"url": "https://u:****@h", "owner": "a@b.c"}',
        ),
    ],
    ids=str,
)
def test_mistyped_urls_lose_their_password(text: str, shown: str) -> None:
    """Where the text is ambiguous, more is masked, never less."""
    assert mask_url_password(text) == shown
    assert has_url_password(text)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("https://ghp_T0KEN@mf.corp", "https://****@mf.corp"),
        ("https://ghp_T0KEN:@mf.corp", "https://****@mf.corp"),
        ("https://u%3APW@mf.corp", "https://****@mf.corp"),  # u:PW, percent-encoded
        ("https://user@host:8080/x", "https://****@host:8080/x"),
        ("https://u@h1 https://v@h2", "https://****@h1 https://****@h2"),
        ("ssh://git@github.com/org", "ssh://****@github.com/org"),
        ("https://tok T0KEN@host", "https://****@host"),  # urllib's user name: "tok T0KEN"
        ("https://T0KEN\t@host/x", "https://****@host/x"),  # urllib drops the tab
    ],
    ids=str,
)
def test_a_url_whose_user_name_is_its_whole_userinfo_loses_it(text: str, shown: str) -> None:
    """A token as the user name is the credential (a client sends it as Basic authentication,
    as ``check --aws`` does): masked as a password is; a user name is no less masked than that."""
    assert mask_url_password(text) == shown
    assert has_url_password(text)
    assert "T0KEN" not in redact(text, url_passwords([text]))  # a message quoting it, too


@pytest.mark.parametrize(
    "text",
    [
        "alice@corp.com",
        "git@github.com:org/repo.git",
        "https://host/path@x",
        "python:3.11@sha256:" + "0" * 64,
        "localhost:5000/img@sha256:" + "a" * 64,
        "arn:aws:iam::123456789012:role/svc@corp",
        '{"owner":"alice@corp.com","note":"x:y"}',
        '["a:b", "c@d"]',
        "letters, digits or _.:/=+-",
    ],
    ids=str,
)
def test_what_holds_no_password_is_shown_as_it_is(text: str) -> None:
    """An e-mail, scp's ``user@host:``, an @ in a path, an image digest, a role named with an @,
    JSON syntax."""
    assert mask_url_password(text) == text
    assert not has_url_password(text)


# --- escaping ----------------------------------------------------------------------------------

#: Every class of character that moves or restyles a terminal, or reorders text.
UNSAFE = {
    "C0-ESC": "\x1b",
    "C0-CR": "\r",
    "DEL": "\x7f",
    "C1-NEL": "\x85",
    "C1-CSI": "\x9b",
    "ALM": "\u061c",
    "LRM": "\u200e",
    "RLM": "\u200f",
    "LRE": "\u202a",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "PDI": "\u2069",
    "LS": "\u2028",
    "PS": "\u2029",
    "surrogate": "\ud800",
    "SHY": "\u00ad",  # the invisible ones: "a\u200bdmin" looked like "admin"
    "ZWSP": "\u200b",
    "ZWJ": "\u200d",
    "WJ": "\u2060",
    "BOM": "\ufeff",
    "TAG": "\U000e0070",
    "filler": "\u3164",
    "VS16": "\ufe0f",
    "unassigned-ignorable": "\u2065",  # default-ignorable though unassigned: shown as nothing
    "unassigned-tag": "\U000e0002",
    "FFF0": "\ufff0",
    "NBSP": "\u00a0",  # a space that is not one: "bucket\u00a0x" is not "bucket x"
    "EN-QUAD": "\u2000",
    "NNBSP": "\u202f",
    "IDEOGRAPHIC-SPACE": "\u3000",
}


@pytest.mark.parametrize("char", UNSAFE.values(), ids=UNSAFE.keys())
def test_printable_escapes_every_unsafe_class(char: str) -> None:
    """The character becomes its escape (``\\u202e``), in a line and in lines."""
    text = f"name{char}value"
    for shown in (printable(text), printable(text, lines=True)):
        assert char not in shown
        assert shown.isprintable()
        assert shown.startswith("name\\")
        assert shown.endswith("value")
    assert printable("a\nb\tc", lines=True) == "a\nb\tc"
    assert printable("café, 東京 and plain ASCII") == "café, 東京 and plain ASCII"


def test_every_format_character_is_escaped() -> None:
    """Every character of Unicode's category Cf (invisible: a tag character smuggles text past
    the eye, a zero-width one makes "admin" of "a\u200bdmin"), as this Python knows them, and
    every separator and control character, and every space but the ASCII one (a lookalike), is
    escaped."""
    import unicodedata

    for code in range(0x110000):
        if unicodedata.category(chr(code)) in ("Cf", "Cc", "Zl", "Zp", "Cs", "Zs") and code != 0x20:
            assert printable(f"a{chr(code)}b") != f"a{chr(code)}b", hex(code)
    assert printable("prod\U000e0070\U000e0077") == "prod\\U000e0070\\U000e0077"


def test_the_escapes_cover_exactly_the_unsafe_characters() -> None:
    """What ``printable`` looks for and what it replaces are the same characters."""
    from metaflow_config import _display

    for lines, pattern in ((False, _display._UNSAFE), (True, _display._LINE_UNSAFE)):
        unsafe = re.compile(pattern)
        found = {code for code in range(0x110000) if unsafe.match(chr(code))}
        assert set(_display._escapes(lines)) == found


@pytest.mark.parametrize("char", UNSAFE.values(), ids=UNSAFE.keys())
def test_a_problem_escapes_every_unsafe_class(char: str) -> None:
    """In its setting, location, value, expected and fix alike."""
    value = f"q{char}x"
    problem = Problem.bad_value(
        f"METAFLOW_{char}",
        "local",
        f"/p/{char}/config.json:K",
        value=show_value(value, secret=False),
        expected=f"a name, not {value}",
        fix=f"remove {char}",
    )
    for text in (str(problem), str(ConfigError([problem, problem]))):
        assert char not in text


#: What an environment variable can hold (no NUL, no lone surrogate).
IN_ENV = {k: v for k, v in UNSAFE.items() if k != "surrogate"}


@pytest.mark.parametrize("char", IN_ENV.values(), ids=IN_ENV.keys())
def test_the_commands_escape_every_unsafe_class(char: str, tmp_path: Path) -> None:
    """show, explain and check, valid value or not, and a warning naming an unknown key."""
    home = {"METAFLOW_HOME": str(tmp_path)}
    value = {**home, "METAFLOW_BATCH_JOB_QUEUE": f"q{char}x"}
    for args in (["show"], ["show", "--all"], ["explain", "BATCH_JOB_QUEUE"], ["check"]):
        result = invoke(*args, env=value)
        output = result.stdout + result.stderr
        assert char not in output, (args, output)
        if args[0] != "check":  # check says what is wrong, not every value
            assert "q\\" in output, (args, output)  # the value is there, escaped
    unknown = {**home, f"METAFLOW_UNKNOWN{char}KEY": "1"}
    for args in (["show"], ["check"], ["check", "--lenient"]):
        result = invoke(*args, env=unknown)
        output = result.stdout + result.stderr
        assert char not in output, (args, output)
        assert "UNKNOWN\\" in output, (args, output)  # the key is named, escaped


def test_a_warning_escapes_its_text() -> None:
    """``str(w.message)`` of a ConfigWarning, as ``warnings`` prints it."""
    assert str(ConfigWarning("a\u202eb\x1b")) == "a\\u202eb\\x1b"
    with pytest.warns(ConfigWarning) as caught:
        load(env={"METAFLOW_X\u202eY": "1"}, home="/nonexistent", cwd="/")
    assert all("\u202e" not in str(w.message) for w in caught)
    assert any("\\u202e" in str(w.message) for w in caught)


# --- what holds a secret: reprs mask it, code gets the plain value -------------------------------

SECRET_ENV = {
    "METAFLOW_SERVICE_HEADERS": '{"Authorization": "Bearer SEKRIT-token"}',
    "METAFLOW_SERVICE_AUTH_KEY": "SEKRIT-key",
    "METAFLOW_DATATOOLS_CLIENT_PARAMS": (
        '{"aws_secret_access_key": "SEKRIT-aws", "config": {"proxies": {"https": "SEKRIT-p"}}}'
    ),
    "METAFLOW_DATATOOLS_SESSION_VARS": '{"aws_session_token": "SEKRIT-session"}',
    "METAFLOW_AWS_SANDBOX_ENABLED": "true",
    "METAFLOW_AWS_SANDBOX_REGION": "us-west-2",
    "METAFLOW_AWS_SANDBOX_API_KEY": "SEKRIT-sandbox",
    "METAFLOW_SERVICE_URL": "https://me:SEKRIT-pw@mf.example.com",
}


@pytest.fixture
def holders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Every accessor and compat name that holds a secret, read from a planted environment."""
    for key, value in SECRET_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("METAFLOW_HOME", str(tmp_path))
    s = load()
    with override(env={**SECRET_ENV, "METAFLOW_HOME": str(tmp_path)}):
        yield {
            "settings.service.effective_headers": s.service.effective_headers,
            "settings.service.headers": s.service.headers,
            "settings.service.auth_key": s.service.auth_key,
            "settings.s3.client_kwargs": s.s3.client_kwargs,
            "settings.datatools.client_params": s.datatools.client_params,
            "settings.datatools.session_vars": s.datatools.session_vars,
            "compat.SERVICE_HEADERS": mc.SERVICE_HEADERS,
            "compat.SERVICE_AUTH_KEY": mc.SERVICE_AUTH_KEY,
            "compat.DATATOOLS_CLIENT_PARAMS": mc.DATATOOLS_CLIENT_PARAMS,
            "compat.DATATOOLS_SESSION_VARS": mc.DATATOOLS_SESSION_VARS,
            "compat.AWS_SANDBOX_API_KEY": mc.AWS_SANDBOX_API_KEY,
            "compat.SERVICE_URL": mc.SERVICE_URL,
            "compat.module_values()": mc.module_values(),
        }


def _shown(value: Any, caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every way a value becomes text without being asked for its plain value.

    A secret's text is a ``str``: ``str()``, ``%s`` and ``f"{key}"`` give its plain value (how
    code uses it); its ``repr`` and every container's text are masked. A mapping is masked
    whichever way it becomes text.
    """
    caplog.clear()
    log = logging.getLogger("metaflow_config.test")
    log.warning("%r", value)
    log.warning("%s", {"held": value})
    log.warning("%s", [value])
    texts = [
        repr(value),
        pprint.pformat(value),
        pprint.pformat({"held": [value], "other": "x" * 80}, width=20),
        "%r" % (value,),  # noqa: UP031 - the log line's way
        f"{value!r}",
        f"{[value]}",
        str({"held": value}),
        str((value,)),
    ]
    if not isinstance(value, str):
        log.warning("%s", value)
        texts += [str(value), f"{value}", "%s" % (value,)]  # noqa: UP031
    return texts + [record.getMessage() for record in caplog.records]


def test_what_holds_a_secret_shows_none(
    holders: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """repr, str, pprint, %r, f-strings and log records of each show no secret."""
    caplog.set_level(logging.WARNING)
    for name, value in holders.items():
        for text in _shown(value, caplog):
            assert "SEKRIT" not in text, (name, text)
        if isinstance(value, dict) and name != "compat.module_values()":
            assert repr(value) == "{" + MASK + "}", name  # neither keys nor values


#: The values of secret settings as the snapshot holds them (the rest are copies handed out).
HELD_BY_THE_SNAPSHOT = {"settings.service.headers", "settings.datatools.session_vars"}


def _keywords(**kwargs: Any) -> dict[str, Any]:
    return kwargs


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def test_what_holds_a_secret_is_the_plain_value_to_code(holders: dict[str, Any]) -> None:
    """json.dumps, ==, dict(), **kwargs, copy and pickle take it as the plain value."""
    assert holders["compat.SERVICE_HEADERS"] == {
        "Authorization": "Bearer SEKRIT-token",
        "x-api-key": "SEKRIT-sandbox",  # the sandbox's key wins, as in Metaflow
    }
    for name, value in holders.items():
        if name == "compat.module_values()":
            continue
        plain = _plain(value)
        assert "SEKRIT" in json.dumps(value), name
        assert value == plain, name
        assert pickle.loads(pickle.dumps(value)) == plain, name  # noqa: S301 - our own bytes
        assert copy.copy(value) == plain, name
        assert copy.deepcopy(value) == plain, name
        if isinstance(value, dict):
            assert dict(value) == plain, name
            assert _keywords(**value) == plain, name
        if name in HELD_BY_THE_SNAPSHOT:  # read-only: a SecretMapping
            assert type(value) is SecretMapping, name
        elif isinstance(value, dict):  # handed out to be changed: a copy of its own
            assert type(value) is SecretDict, name
            value["added"] = "1"


def test_a_copy_of_a_secret_stays_masked() -> None:
    """``.copy()``, ``copy.copy``, ``|``, pickling: a SecretDict; what is copied out masks too."""
    headers = SecretDict({"Authorization": SecretText("Bearer SEKRIT")})
    for copied in (
        headers.copy(),
        copy.copy(headers),
        headers | {"X": "1"},
        {"X": "1"} | headers,
        pickle.loads(pickle.dumps(headers)),  # noqa: S301 - our own bytes
    ):
        assert type(copied) is SecretDict
        assert repr(copied) == "{" + MASK + "}"
    into: dict[str, str] = {"X": "1"}
    into.update(headers)  # what Metaflow's argo events do with SERVICE_HEADERS
    assert "SEKRIT" not in repr(into)
    assert into["Authorization"] == "Bearer SEKRIT"


def test_requests_sends_the_headers_and_shows_none() -> None:
    """Metaflow's service client: ``requests`` with ``SERVICE_HEADERS.copy()``."""
    requests = pytest.importorskip("requests")
    with override(env=dict(SECRET_ENV, METAFLOW_AWS_SANDBOX_ENABLED="false")):
        headers = mc.SERVICE_HEADERS.copy()
    prepared = requests.Request("GET", "https://mf.example.com/ping", headers=headers).prepare()
    assert prepared.headers["Authorization"] == "Bearer SEKRIT-token"
    assert prepared.headers["x-api-key"] == "SEKRIT-key"
    assert "SEKRIT" not in repr(prepared.headers)
    session = requests.Session()
    merged = requests.sessions.merge_setting(headers, session.headers)
    assert merged["x-api-key"] == "SEKRIT-key"
    assert "SEKRIT" not in repr(merged)
    request = urllib.request.Request("https://mf.example.com/ping", headers=headers)
    assert request.get_header("X-api-key") == "SEKRIT-key"


# --- check: a line shows a setting as show does ------------------------------------------------

PLAIN_QUEUE = "fetched-queue-SEKRIT"


class _Stub:
    """A client that answers what the job queue check asks, and quotes the queue back otherwise."""

    def get_caller_identity(self) -> dict[str, str]:
        return {"Arn": "arn:aws:iam::123456789012:user/me", "Account": "123456789012"}

    def describe_job_queues(self, **kwargs: Any) -> dict[str, Any]:
        return {"jobQueues": []}

    def __getattr__(self, name: str) -> Any:
        def call(**kwargs: Any) -> Any:
            msg = f"no such thing as {PLAIN_QUEUE} here"  # an error message quoting a value
            raise RuntimeError(msg)

        return call


class _Session:
    region_name = "us-east-1"
    profile_name = None

    def get_credentials(self) -> None:
        return None


@pytest.mark.usefixtures("_aws_env")
def test_check_lines_show_a_reference_never_what_it_fetched(tmp_path: Path) -> None:
    """The fix line of a missing queue names it as show does; errors quoting it are redacted."""
    from metaflow_config._checks.checks import check, render

    env = {
        "METAFLOW_BATCH_JOB_QUEUE": "q",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/mf",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": "arn:aws:iam::123456789012:role/r",
    }
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    # the queue as a reference that was fetched, however it got there (before any section read)
    reference = Reference("{{resolve:ssm:/mf/queue}}", "ssm", "/mf/queue")
    s._resolution.values["BATCH_JOB_QUEUE"] = reference
    s._resolution.fetched["BATCH_JOB_QUEUE"] = SecretText(PLAIN_QUEUE)
    assert s.batch.job_queue == PLAIN_QUEUE  # what the AWS calls get
    results = check(s, ["batch"], session=_Session(), client_factory=lambda *a, **k: _Stub())
    queue = next(r for r in results if r.name == "batch.job_queue")
    assert "--job-queue-name '{{resolve:ssm:/mf/queue}}'" in queue.fix
    lines: list[str] = []
    for result in results:
        lines += [result.detail, result.fix, str(result)]

    class _Out:
        def write(self, text: str) -> None:
            lines.append(text)

    render(results, _Out())  # type: ignore[arg-type]
    for line in lines:
        assert "SEKRIT" not in line, line
    assert any(MASK in r.detail for r in results)  # the error that quoted it, redacted


def test_the_check_table_escapes_what_aws_answered() -> None:
    """A detail holding an escape sequence (from an AWS answer) reaches no terminal."""
    import io

    from metaflow_config._checks.checks import render
    from metaflow_config._checks.probes import CheckResult

    out = io.StringIO()
    render([CheckResult("x.y", "FAIL", "queue \x1b[31mred\u202e", "fix \x9b1m")], out)
    assert "\x1b" not in out.getvalue()
    assert "\u202e" not in out.getvalue()
    assert "\x9b" not in out.getvalue()


def test_the_url_passwords_of_values_are_masked_wherever_a_text_quotes_them() -> None:
    """``url_passwords`` finds them in strings inside JSON values too; ``redact`` masks each
    wherever it turns up (a piece of a URL an error message quoted), the longest first."""
    from metaflow_config._display import redact, url_passwords

    values = ["https://a:pw1234@h", {"k": ["x", "s3://u:deep5678@b/p"]}, "no password", 7]
    assert set(url_passwords(values)) == {"deep5678", "pw1234"}
    assert set(url_passwords(["https://u:Sup3r/Secret@h"])) == {"Sup3r/Secret", "Sup3r", "Secret"}
    said = "nonnumeric port: 'pw1234@h'; deep5678, pw"
    assert redact(said, url_passwords(values)) == "nonnumeric port: '****@h'; ****, pw"
    assert redact("a pw here", ["pw"]) == "a pw here"  # too short to hide anything
    assert redact("secret-long", ["secret", "secret-long"]) == "****"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('https://admin":"S3cretPW@mf.example.com/', 'https://admin":****@mf.example.com/'),
        ("https://u': 'SECRETPW2@host/", "https://u':****@host/"),
        ('{"url": "https://u:pw@h"', '{"url": "https://u:****@h"'),  # not JSON: one value
        ('{"url": "https://u:pw@h"}', '{"url": "https://u:****@h"}'),  # JSON: string by string
    ],
)
def test_a_quote_around_the_colon_of_one_value_is_a_character(value: str, shown: str) -> None:
    """In one value a ``":"`` is no key's colon: urllib reads ``https://u":"pw@h``'s password as
    ``"pw``, so it is masked (a key's colon is skipped in rendered text and JSON only)."""
    from metaflow_config._display import mask_url_password

    assert mask_url_password(value) == shown


@pytest.mark.parametrize(
    "value",
    [
        "https://u:pw1SECRET@h.example.com/?x=//y:z@w",
        "https://a:pw1SECRET@h1 https://b:pw2@h2",
        "https://u:pw1SECRET@h,https://v:x@y",
        "https://u:pw1SECRET@h//v:w@",
        "postgres://u:pw1SECRET@h:5432/db?x=//x:y@z",
        '"k": "https://u":"pw1SECRET@h/?x=//y:z@w"',
    ],
)
def test_a_later_url_in_a_value_never_unmasks_the_first(value: str) -> None:
    """A value holding a second ``//...:...@`` after a URL with a password: the password of the
    first is masked (with what follows it, where the value is ambiguous: more, never less)."""
    from metaflow_config._display import mask_url_password, url_passwords

    assert "pw1SECRET" not in mask_url_password(value)
    assert any("pw1SECRET" in p for p in url_passwords([value]))


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash's $'...' quoting")
@pytest.mark.parametrize(
    "word",
    [
        "plain path",
        "a'b",
        "x\nOK: forged",
        "esc\x1b[31m",
        "rtl\u202eL",
        "back\\slash\tt",
        "a\udcffb",
        "My\u00a0Project",  # a no-break space: bash read \xa0 as the byte, not U+00A0
        "soft\u00adhyphen\x85nel",
        "caf\u00e9 \u00e9t\u00e9",  # printable: as it is
    ],
)
@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
def test_a_quoted_word_is_shown_safely_and_pastes_exactly(word: str, locale: str) -> None:
    """A path a command suggests pasting (``metaflow-config trust PATH``): printable, and what
    the shell reads back is the very word, a line break or an undecodable byte included, in a
    UTF-8 locale and in the C locale (containers, cron, CI)."""
    from metaflow_config._display import shell_quote

    quoted = shell_quote(word)
    assert printable(quoted) == quoted
    raw = word.encode("utf-8", "surrogateescape")
    back = subprocess.run(
        ["bash", "-c", f"printf %s {quoted}"],
        capture_output=True,
        check=True,
        env={**os.environ, "LC_ALL": locale},
    ).stdout
    assert back == raw


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Provided region_name 'a b' doesn't match", "Provided region_name '****' doesn't match"),
        ('endpoint URL: "http://u:pw@h/"', 'endpoint URL: "****"'),
        ("got 'x' and 'y", "got '****' and 'y"),  # an unclosed quote ends nothing
        ("no quotes at all", "no quotes at all"),
    ],
)
def test_a_quoted_part_of_a_librarys_message_is_masked(text: str, shown: str) -> None:
    """What a library quotes of the arguments it refused is masked, however short."""
    assert mask_quoted(text) == shown


def test_a_checks_quotes_are_masked_its_words_kept_and_an_open_quote_tells_nothing() -> None:
    """For a secret's message: each quoted part of 4 characters or more is masked, whatever it
    quotes (whole, unescaped from JSON); a shorter one and prose's apostrophes stay; a quote
    left open (a piece shortened) makes the message one that cannot be told safe."""
    from metaflow_config._display import MASK, mask_quoted_long

    said = "the host '[1::2::BEEF]' holds ':' twice, out of a float's range, not \"okay\""
    assert mask_quoted_long(said) == (
        f"the host '{MASK}' holds ':' twice, out of a float's range, not \"{MASK}\""
    )
    assert mask_quoted_long("the host '[1::2::5ecdef:dead... is not an IPv6 address") is None
    assert mask_quoted_long("no quote at all") == "no quote at all"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("mailto:ml-team@acme.com", "mailto:ml-team@acme.com"),
        ('{"Email": "mailto:ml@acme.com"}', '{"Email": "mailto:ml@acme.com"}'),
        ("MailTo:ml@acme.com", "MailTo:ml@acme.com"),
        ("mailto:u:pw@h", "mailto:u:****@h"),  # a password after the address's own colon
        ("xmailto:u@h", "xmailto:****@h"),  # no mailto: another word's colon
        ("mailto:a@b and https://u:pw@h", "mailto:a@b and https://u:****@h"),
    ],
)
def test_a_mailto_address_is_no_userinfo(text: str, shown: str) -> None:
    """RFC 6068: ``mailto:`` names an address (CONTACT_INFO's e-mail), never a user:password."""
    assert mask_url_password(text) == shown
