"""The bad-input battery: every way a file, an environment or a name can be wrong.

Each case must give a ``ConfigError`` (never another exception type, never a hang, never silence)
whose message names where the bad input came from: the file path, the environment variable, or
``METAFLOW_PROFILE`` / ``METAFLOW_HOME``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError, ConfigWarning, load
from metaflow_config._sources.jsonfile import MAX_FILE_BYTES
from tests.conftest import invoke, write_json

#: A resolution that takes longer than this is a hang, not a slow test (a guard, not a timing).
HANG_GUARD_SECONDS = 60


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """Turn a hang (a FIFO read, an endless file) into a test failure instead of a stuck run."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        msg = f"resolution did not finish within {HANG_GUARD_SECONDS} s"
        raise TimeoutError(msg)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(HANG_GUARD_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty METAFLOW_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty working directory (no .metaflow above it inside tmp_path)."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def config_error(**kwargs: Any) -> ConfigError:
    """Resolve with ``kwargs`` and return the ConfigError it must raise."""
    with pytest.raises(ConfigError) as info:
        load(**kwargs)
    assert info.value.problems, "a ConfigError without problems"
    return info.value


# --- malformed profile files ------------------------------------------------------------------

BAD_FILES = [
    pytest.param(
        b'{"METAFLOW_BATCH_JOB_QUEUE": ', "line 1, column 30: the file ends early", id="truncated"
    ),
    pytest.param(b'{"METAFLOW_BATCH_JOB_QUEUE": "q",}', "valid JSON", id="trailing-comma"),
    pytest.param(b"{'METAFLOW_BATCH_JOB_QUEUE': 'q'}", "valid JSON", id="single-quotes"),
    pytest.param(b'{"a": 1} // comment', "valid JSON", id="comment"),
    pytest.param(b'{"a": 1}{"b": 2}', "valid JSON", id="two-documents"),
    pytest.param(b"[]", "a JSON object at top level, found an array", id="top-level-array"),
    pytest.param(b'"q"', "a JSON object at top level, found a string", id="top-level-string"),
    pytest.param(b"42", "a JSON object at top level, found a number", id="top-level-number"),
    pytest.param(b"null", "a JSON object at top level, found null", id="top-level-null"),
    pytest.param(b"true", "a JSON object at top level, found true/false", id="top-level-bool"),
    pytest.param(b"", "found an empty file", id="empty-file"),
    pytest.param(b" \n\t\n", "found an empty file", id="whitespace-only"),
    pytest.param(b"\xef\xbb\xbf", "found an empty file", id="bom-only"),
    pytest.param(
        b'{"METAFLOW_BATCH_JOB_QUEUE": "caf\xe9"}', "UTF-8 text (invalid byte", id="latin-1"
    ),
    pytest.param(
        '{"METAFLOW_BATCH_JOB_QUEUE": "q"}'.encode("utf-16"), "UTF-8 text", id="utf-16-with-bom"
    ),
    pytest.param(b"\x00\x01\x02\xff", "UTF-8 text", id="binary-garbage"),
    pytest.param(
        b'{"METAFLOW_BATCH_JOB_QUEUE": "a", "METAFLOW_BATCH_JOB_QUEUE": "b"}',
        "each key once, found METAFLOW_BATCH_JOB_QUEUE twice",
        id="duplicate-key",
    ),
    pytest.param(
        b'{"METAFLOW_SERVICE_HEADERS": {"a": "1", "a": "2"}}',
        "config.json:METAFLOW_SERVICE_HEADERS (profile): expected each key once in every object, "
        "found a key given twice inside (not named",
        id="duplicate-nested-key",
    ),
    pytest.param(b'{"METAFLOW_SERVICE_RETRY_COUNT": NaN}', "NaN is not a JSON number", id="nan"),
    pytest.param(b'{"METAFLOW_SERVICE_RETRY_COUNT": -Infinity}', "-Infinity is not", id="infinity"),
    pytest.param(
        b'{"METAFLOW_SERVICE_RETRY_COUNT": 1e400}', "out of a float's range", id="float-overflow"
    ),
    pytest.param(
        b'{"METAFLOW_SERVICE_RETRY_COUNT": ' + b"9" * 5000 + b"}",
        "valid JSON",
        id="integer-of-5000-digits",
    ),
    pytest.param(
        b'{"METAFLOW_DATATOOLS_SESSION_VARS": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        "nested too deeply",
        id="deep-nesting",
    ),
]


@pytest.mark.parametrize(("content", "expected"), BAD_FILES)
def test_bad_profile_file(home: Path, work: Path, content: bytes, expected: str) -> None:
    """A malformed profile file is a ConfigError naming the file and what is wrong."""
    path = home / "config.json"
    path.write_bytes(content)
    err = config_error(env={}, home=home, cwd=work)
    assert str(path) in str(err)
    assert expected in str(err)
    assert all(p.layer == "profile" for p in err.problems)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(b"{", "valid JSON", id="local-truncated"),
        pytest.param(b"[1]", "found an array", id="local-array"),
        pytest.param(b'{"METAFLOW_BATCH_JOB_QUEUE": "\xff"}', "UTF-8", id="local-not-utf8"),
    ],
)
def test_bad_local_file(home: Path, work: Path, content: bytes, expected: str) -> None:
    """The project's .metaflow/config.json is read by the same reader and named as ``local``."""
    path = work / ".metaflow" / "config.json"
    path.parent.mkdir()
    path.write_bytes(content)
    err = config_error(env={}, home=home, cwd=work)
    assert str(path) in str(err)
    assert expected in str(err)
    assert [p.layer for p in err.problems] == ["local"]


def test_utf8_bom_is_accepted(home: Path, work: Path) -> None:
    """A UTF-8 byte-order mark (Windows editors write one) is skipped, not an error."""
    (home / "config.json").write_bytes(b'\xef\xbb\xbf{"METAFLOW_BATCH_JOB_QUEUE": "q"}')
    assert load(env={}, home=home, cwd=work).batch.job_queue == "q"


def test_problems_of_every_layer_come_together(home: Path, work: Path) -> None:
    """A bad profile file, a bad local file and a bad env var give one error with all three."""
    (home / "config.json").write_bytes(b"[")
    local = work / ".metaflow" / "config.json"
    local.parent.mkdir()
    local.write_bytes(b"{")
    err = config_error(env={"METAFLOW_BATCH_EMIT_TAGS": "maybe"}, home=home, cwd=work)
    assert [p.layer for p in err.problems] == ["profile", "local", "env"]


# --- the file system: what sits where the file should be --------------------------------------


def _directory(path: Path) -> None:
    path.mkdir()


def _dangling_symlink(path: Path) -> None:
    path.symlink_to(path.parent / "missing.json")


def _symlink_loop(path: Path) -> None:
    other = path.parent / "other.json"
    path.symlink_to(other)
    other.symlink_to(path)


def _symlink_to_directory(path: Path) -> None:
    target = path.parent / "somedir"
    target.mkdir()
    path.symlink_to(target)


def _fifo(path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(path)


def _device(path: Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero on this platform")
    path.symlink_to("/dev/zero")


def _too_big(path: Path) -> None:
    with path.open("wb") as handle:
        handle.write(b'{"METAFLOW_BATCH_JOB_QUEUE": "q"}')
        handle.truncate(MAX_FILE_BYTES + 1)


def _huge_sparse(path: Path) -> None:
    # 1 TiB of holes: reading it all would never finish; the limit refuses it unread.
    with path.open("wb") as handle:
        try:
            handle.truncate(1 << 40)
        except OSError:
            pytest.skip("the file system cannot hold a sparse 1 TiB file")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        pytest.param(_directory, "a JSON file, found a directory", id="directory"),
        pytest.param(_symlink_to_directory, "found a directory", id="symlink-to-directory"),
        pytest.param(_dangling_symlink, "a readable file (No such file", id="dangling-symlink"),
        pytest.param(_symlink_loop, "a readable file (Too many levels", id="symlink-loop"),
        pytest.param(_fifo, "a regular file, found a FIFO or device", id="fifo-no-hang"),
        pytest.param(_device, "a regular file, found a FIFO or device", id="device"),
        pytest.param(_too_big, f"at most {MAX_FILE_BYTES} bytes, found", id="over-size-limit"),
        pytest.param(_huge_sparse, f"found {1 << 40}", id="huge-sparse-file"),
    ],
)
def test_not_a_readable_file(
    home: Path, work: Path, make: Callable[[Path], None], expected: str
) -> None:
    """Whatever sits at the profile path instead of a small regular file is reported by name."""
    path = home / "config.json"
    make(path)
    err = config_error(env={}, home=home, cwd=work)
    assert str(path) in str(err)
    assert expected in str(err)


def test_over_limit_file_is_not_read(
    home: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file over MAX_FILE_BYTES is refused without reading a single byte of it."""
    _too_big(home / "config.json")
    read_sizes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read_sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting_read)
    config_error(env={}, home=home, cwd=work)
    monkeypatch.undo()
    assert sum(read_sizes) == 0


def test_file_at_the_size_limit_is_read(home: Path, work: Path) -> None:
    """A file of exactly MAX_FILE_BYTES bytes is still accepted (the limit is inclusive)."""
    body = b'{"METAFLOW_BATCH_JOB_QUEUE": "q"}'
    (home / "config.json").write_bytes(body + b" " * (MAX_FILE_BYTES - len(body)))
    assert load(env={}, home=home, cwd=work).batch.job_queue == "q"


def test_metaflow_home_is_a_file(tmp_path: Path, work: Path) -> None:
    """METAFLOW_HOME pointing at a file is an error naming it, not an empty configuration."""
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("{}")
    err = config_error(env={"METAFLOW_HOME": str(not_a_dir)}, cwd=work)
    assert str(not_a_dir) in str(err)
    assert "a directory, found a file" in str(err)


@pytest.mark.parametrize("via", ["argument", "env"])
def test_metaflow_home_with_nul(work: Path, via: str) -> None:
    """A METAFLOW_HOME holding NUL is an error (it was silently read as absent)."""
    bad = "/tmp/mf\0home"
    if via == "argument":
        err = config_error(env={}, home=bad, profile="prod", cwd=work)
    else:
        err = config_error(env={"METAFLOW_HOME": bad}, profile="prod", cwd=work)
    assert "METAFLOW_HOME" in str(err)
    assert "without NUL" in str(err)


# --- unreadable files (permission bits; root ignores them, so drop to nobody there) -----------

_UNREADABLE_CHILD = textwrap.dedent(
    """
    import json, sys, warnings
    from metaflow_config import ConfigError, load
    warnings.simplefilter("error")
    try:
        load(env={}, home=sys.argv[1], cwd=sys.argv[2])
    except ConfigError as exc:
        print(json.dumps({"type": "ConfigError", "message": str(exc)}))
    except BaseException as exc:
        print(json.dumps({"type": type(exc).__name__, "message": str(exc)}))
    else:
        print(json.dumps({"type": "none", "message": ""}))
    """
)


def _drop_dac_capabilities() -> None:
    """In the child, before exec: drop the capabilities that let root ignore permission bits.

    Root keeps uid 0 (it can still run the interpreter under /root) but, without
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH in its bounding set, the exec'd child is checked
    against the permission bits like any user.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _resolve_as_unprivileged(home: Path, work: Path) -> dict[str, str]:
    """Resolve ``home`` in a child that cannot bypass permission bits; return what it raised."""
    if not hasattr(os, "geteuid"):
        pytest.skip("POSIX permissions only")
    root = os.geteuid() == 0
    if root and not sys.platform.startswith("linux"):
        pytest.skip("running as root, and dropping capabilities needs Linux")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        out = subprocess.run(
            [sys.executable, "-c", _UNREADABLE_CHILD, str(home), str(work)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=HANG_GUARD_SECONDS,
            preexec_fn=_drop_dac_capabilities if root else None,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"running as root and cannot drop CAP_DAC_OVERRIDE here: {exc}")
    assert out.returncode == 0, out.stderr
    result: dict[str, str] = json.loads(out.stdout)
    return result


def test_file_without_read_permission(home: Path, work: Path) -> None:
    """A profile file its reader may not read is reported (not skipped), even when run by root."""
    path = home / "config.json"
    path.write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q"}')
    path.chmod(0o000)
    result = _resolve_as_unprivileged(home, work)
    assert result["type"] == "ConfigError"
    assert str(path) in result["message"]
    assert "Permission denied" in result["message"]


def test_home_without_search_permission(home: Path, work: Path) -> None:
    """A METAFLOW_HOME its reader cannot enter is reported, not read as an empty profile."""
    (home / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q"}')
    home.chmod(0o600)
    try:
        result = _resolve_as_unprivileged(home, work)
    finally:
        home.chmod(0o755)
    assert result["type"] == "ConfigError"
    assert str(home / "config.json") in result["message"]
    assert "Permission denied" in result["message"]


# --- profile names ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("../evil", id="dotdot-slash"),
        pytest.param("..", id="dotdot"),
        pytest.param("a..b", id="embedded-dotdot"),
        pytest.param("team/prod", id="slash"),
        pytest.param("/etc/passwd", id="absolute-posix"),
        pytest.param("C:\\Windows\\x", id="absolute-windows"),
        pytest.param("a\\b", id="backslash"),
        pytest.param("prod\0", id="nul"),
        pytest.param("prod\n", id="trailing-newline"),
        pytest.param("~root", id="tilde"),
        pytest.param(" prod", id="leading-space"),
        pytest.param(".hidden", id="leading-dot"),
        pytest.param("p" * 129, id="too-long"),
    ],
)
def test_unsafe_profile_name(home: Path, work: Path, name: str) -> None:
    """A profile name can never point outside METAFLOW_HOME: unsafe names are refused."""
    (home.parent / "config_evil.json").write_text("{}")  # a target the name could reach
    for how in ("argument", "env"):
        if how == "argument":
            err = config_error(env={}, home=home, profile=name, cwd=work)
        else:
            err = config_error(env={"METAFLOW_PROFILE": name}, home=home, cwd=work)
        assert [p.setting for p in err.problems] == ["METAFLOW_PROFILE"]
        assert "a profile name of letters" in str(err)


def test_json_text_quoted_twice_says_drop_the_quotes(home: Path, work: Path) -> None:
    """A shell that kept the quotes (`export X="'{...}'"`, an env file): said, not only where the
    JSON breaks."""
    err = config_error(
        env={"METAFLOW_BATCH_DEFAULT_TAGS": '\'{"team": "ml"}\''}, home=home, cwd=work
    )
    assert "the whole value is in ' quotes, which are part of it: drop them" in str(err)
    err = config_error(env={"METAFLOW_BATCH_DEFAULT_TAGS": "{'team': 'ml'}"}, home=home, cwd=work)
    assert "drop them" not in str(err)


def test_a_utf16_profile_says_save_it_as_utf8(home: Path, work: Path) -> None:
    """PowerShell's > writes UTF-16: said as such, with the way to write UTF-8."""
    for encoding in ("utf-16", "utf-16-le", "utf-16-be"):  # with its byte-order mark, and without
        (home / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": "q"}', encoding=encoding)
        err = str(config_error(env={}, home=home, cwd=work))
        assert "it looks like UTF-16" in err, encoding
        assert "as UTF-8 (Out-File -Encoding utf8" in err


def test_a_named_profile_in_a_home_that_does_not_exist_says_check_the_home(work: Path) -> None:
    """A mistyped home is the likelier cause: said first, before creating there (named as it
    was given: ``home=`` here; METAFLOW_HOME where the variable gave it)."""
    err = config_error(env={"METAFLOW_PROFILE": "prod"}, home=work / "typo", cwd=work)
    assert f"{work / 'typo'}, which does not exist (home=)" in str(err)
    assert "Fix: correct home= if it is mistyped; else create it with" in str(err)
    env = {"METAFLOW_PROFILE": "prod", "METAFLOW_HOME": str(work / "typo")}
    err = config_error(env=env, cwd=work)
    assert f"{work / 'typo'}, which does not exist (METAFLOW_HOME)" in str(err)
    assert "Fix: correct METAFLOW_HOME if it is mistyped; else create it with" in str(err)


def test_missing_named_profile_lists_existing(home: Path, work: Path) -> None:
    """A named profile that does not exist is an error that lists the profiles that do."""
    (home / "config.json").write_text("{}")
    (home / "config_dev.json").write_text("{}")
    err = config_error(env={}, home=home, profile="prod", cwd=work)
    assert str(home / "config_prod.json") in str(err)
    assert "profiles there: config.json (the default), dev" in str(err)
    assert "did you mean" not in str(err)  # prod is near no profile there


def test_a_number_given_in_code_for_text_is_said_in_pythons_words(home: Path, work: Path) -> None:
    """``override(BATCH_JOB_QUEUE=5)``: a Python int, to pass as a str (a file's 5 is a JSON
    number, to write in quotes)."""
    from metaflow_config import override

    with pytest.raises(ConfigError) as info, override(BATCH_JOB_QUEUE=5, home=home, cwd=work):
        pass
    assert "found a Python int: if the text is meant, pass it as a str, '5'" in str(info.value)
    (home / "config.json").write_text('{"METAFLOW_BATCH_JOB_QUEUE": 5}')
    err = str(config_error(env={}, home=home, cwd=work))
    assert 'found a JSON number: if the text is meant, write it in quotes, "5"' in err


def test_a_missing_profile_beside_the_default_alone_says_how_to_select_it(
    home: Path, work: Path
) -> None:
    """Where only config.json exists, the fix selects it as the name was given: unset the
    variable, ``profile=""``, or leave out the option (not "give no name" to a variable)."""
    (home / "config.json").write_text("{}")
    err = config_error(env={"METAFLOW_PROFILE": "prod"}, home=home, cwd=work)
    assert "or select the default profile, config.json, by unsetting METAFLOW_PROFILE" in str(err)
    err = config_error(env={}, home=home, profile="prod", cwd=work)
    assert 'or select the default profile, config.json, with profile=""' in str(err)
    result = invoke("show", "-p", "prod", env={"METAFLOW_HOME": str(home)})
    assert "config.json, by leaving out -p/--profile" in result.stderr


@pytest.mark.parametrize(
    ("given", "meant"), [("stagin", "staging"), ("Prod", "prod"), ("prdo", "prod"), ("dve", "dev")]
)
def test_a_missing_profile_near_one_gets_a_did_you_mean(
    home: Path, work: Path, given: str, meant: str
) -> None:
    """A typo of an existing profile's name (case, an edit, two letters swapped) names it, as
    given where it was given; no guess when two are as near."""
    for name in ("prod", "staging", "dev"):
        (home / f"config_{name}.json").write_text("{}")
    err = config_error(env={"METAFLOW_PROFILE": given}, home=home, cwd=work)
    assert f"Fix: did you mean {meant}? (METAFLOW_PROFILE={meant}); or create it" in str(err)
    err = config_error(env={}, home=home, profile=given, cwd=work)
    assert f"did you mean {meant}? (profile={meant!r})" in str(err)
    (home / "config_dew.json").write_text("{}")
    assert "did you mean" not in str(config_error(env={}, home=home, profile="dex", cwd=work))


# --- values of every wrong type, for every kind of setting -----------------------------------

#: (setting, wrong values as they would appear in a JSON file, wrong values as env strings)
WRONG_VALUES: list[tuple[str, list[Any], list[str]]] = [
    ("METAFLOW_BATCH_JOB_QUEUE", [5, 1.5, True, [], {}], ["a\0b", "a\nb", "\x1b[31mred"]),
    ("METAFLOW_CLIENT_CACHE_PATH", [5, ["/tmp"]], [" /leading-space", "/a\0b", "/a\nb"]),
    ("METAFLOW_BATCH_EMIT_TAGS", [2, 0.5, "maybe", [], {}], ["maybe", "2", "tru", "true\0"]),
    (
        "METAFLOW_CLIENT_CACHE_MAX_SIZE",
        [5.7, "five", True, -1, [], {}],
        ["5.7", "-1", "0x10", "five", "5\0"],
    ),
    ("METAFLOW_SERVICE_RETRY_COUNT", [13, 10**12, -1, 5.7], ["13", "-1"]),
    ("METAFLOW_S3_RETRY_COUNT", [13, -1], ["13", "1e3"]),
    ("METAFLOW_S3_TRANSIENT_RETRY_COUNT", [101, -1], ["101"]),
    ("METAFLOW_S3_WORKER_COUNT", [0, 513, 10**6], ["0", "513"]),
    (
        "METAFLOW_SERVICE_URL",
        [8080, {}],
        ["ftp://x", "localhost:8080", "http://", "http://a\0b", "http://h:8765#@corp/api"],
    ),
    (
        "METAFLOW_S3_ENDPOINT_URL",
        [9000, {}],
        ["http://my_host:9000", "https://u:pw@minio", "http://-minio", "http://h/x@y"],
    ),
    (
        "METAFLOW_DATATOOLS_CLIENT_PARAMS",
        [[], "x", 5, {"endpoint_url": 5}],
        ['{"endpoint_url": "https://my_host"}', "[]", "{"],
    ),
    ("METAFLOW_SFN_DYNAMO_DB_TABLE", [5, ["t"]], ["ab", "my_table!", "a b c", "t" * 256]),
    (
        "METAFLOW_DATASTORE_SYSROOT_S3",
        [5, ["s3://b"]],
        [
            "s3://a:b",
            "s3:/bucket",
            "/local/path",
            "s3://bucket name",
            "s3://ok-bucket/a\nb",
            "s3://../x",  # a path a client may normalize away: the keys go to bucket x
            "s3://mine/../theirs/x",
        ],
    ),
    ("METAFLOW_DATASTORE_SYSROOT_GS", [5], ["s3://bucket", "gs://B", "gs://bucket/a;b"]),
    (
        "METAFLOW_DATASTORE_SYSROOT_AZURE",
        [5, ["c/p"]],
        ["az://c/p", "Container/p", "c/p", "cont/p/", "cont//p", "cont/a b", "cont/$(id)"],
    ),
    ("METAFLOW_SFN_STATE_MACHINE_PREFIX", [5, ["t"]], ["my team", "a/b", "x" * 80, "t\0"]),
    (
        "METAFLOW_SFN_IAM_ROLE",
        [5],
        ["my-role", "arn:aws:iam::123:role/x", "arn:aws:s3:::bucket", "arn:aws:iam::1:user/x"],
    ),
    (
        "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN",
        [5],
        ["my-log-group", "arn:aws:logs:us-east-1:123456789012:stream:x"],
    ),
    ("METAFLOW_DEFAULT_DATASTORE", [5, True, "my store"], ["my store", " s3", "s3/x", "-s3"]),
    ("METAFLOW_KUBERNETES_CPU", [True, [], {}, "2 cores", -1], ["2 cores", "-1", "4Gi", " 2"]),
    ("METAFLOW_S3_SERVER_SIDE_ENCRYPTION", [5, True, "aes256"], ["aes256", "kms", " AES256"]),
    (
        "METAFLOW_SERVICE_HEADERS",
        [[], "x", {"a": 1}, {"a": "b\r\nX-Evil: 1"}, {"a": " b"}, {"a:b": "c"}],
        ["not json", "[1]", '{"a": 1}', '{"a": "b\\r\\nX-Evil: 1"}', '{"a": NaN}', '{" a": "b"}'],
    ),
    (
        "METAFLOW_CONTACT_INFO",
        [[], "x", {"a": 1}, {"a": "b\r\nc"}],
        ["not json", "[1]", '{"a": 1}', '{"a": "b\\u0000c"}'],
    ),
    ("METAFLOW_DATATOOLS_SESSION_VARS", [[], "x", 5], ["[]", "{", "NaN", "[" * 100_000]),
    ("METAFLOW_SPIN_ALLOWED_DECORATORS", [{}, [1], "x"], ['{"a": 1}', "[1]", '["a\\u0000"]']),
    (
        "METAFLOW_S3_CLIENT_RETRY_CONFIG",
        [[], {"mode": "fast"}],
        ['{"mode": "fast"}', '{"max_attempts": -1}', '{"extra": 1}', '{"max_attempts": 1.5}'],
    ),
    (
        "METAFLOW_BATCH_DEFAULT_TAGS",
        [[], {"k": 5}, {f"k{i}": "v" for i in range(51)}],
        ['{"aws:x": "y"}', '{"k": 5}', '{"": "v"}', '{"k": "v\\n"}'],
    ),
    ("METAFLOW_S3_VERIFY_CERTIFICATE", [5, [], {}], ["   ", "/ca\0bundle.pem"]),
    (
        "METAFLOW_KUBERNETES_TOLERATIONS",
        [{}, [{"key": 5}], [{"effect": "Sometimes"}], [{"tolerationSeconds": 5}], 5],
        [
            "gpu:NoSchedule",
            "{}",
            '[{"operator": "Maybe"}]',
            '[{"effect": "Always"}]',
            '[{"toleration_seconds": true}]',
            "   ",
            '[{"toleration_seconds": "5"}]',
            '[{"toleration_seconds": 1.0}]',
        ],
    ),
    (
        "METAFLOW_KUBERNETES_PERSISTENT_VOLUME_CLAIMS",
        [[], {"claim": "relative/path"}, {"claim": 5}],
        ["pvc-a:/mnt/a", "[]", '{"claim": "mnt"}', '{" ": "/mnt"}'],
    ),
    ("METAFLOW_KUBERNETES_IMAGE_PULL_SECRETS", [{}, [5], [""]], ["regcred", '"regcred"', "[1]"]),
    (
        "METAFLOW_KUBERNETES_NODE_SELECTOR",
        [5, ["a=b"], "a=1,a=2"],
        ["arm64", "a=b,c", "=v", "a=b,,c=d", "a=1,b=2,a=3", "a=x y", "a=b ", "-a=b"],
    ),
    ("METAFLOW_KUBERNETES_QOS", [5, "bogus"], ["bogus", "best-effort", " burstable"]),
    (
        "METAFLOW_KUBERNETES_SECRETS",
        [5, {}, ["a,b"], [""], [1], [], [" a"]],
        ["a\nb", "a, b", '["a", "b"]', '"a,b"'],  # an empty item: left out, as by Metaflow
    ),
    (
        "METAFLOW_DEFAULT_PACKAGE_SUFFIXES",
        [5, {}, [".py,.R"], [""], []],
        [".py, .R", ".py,,.R", ".py,", '".py"'],  # an empty suffix would take every file
    ),
    ("METAFLOW_DEFAULT_DECOSPECS", [5, ["retry kubernetes"], [" "]], ["retry\0"]),
]


def _wrong_value_params() -> list[Any]:
    params = []
    for name, file_values, env_values in WRONG_VALUES:
        short = name[len("METAFLOW_") :].lower()
        for i, value in enumerate(file_values):
            params.append(pytest.param(name, "profile", value, id=f"{short}-file-{i}"))
        for i, text in enumerate(env_values):
            params.append(pytest.param(name, "env", text, id=f"{short}-env-{i}"))
    return params


@pytest.mark.parametrize(("name", "layer", "value"), _wrong_value_params())
def test_wrong_value(home: Path, work: Path, name: str, layer: str, value: Any) -> None:
    """A wrong value of any kind, from a file or the environment, names setting and location."""
    if layer == "profile":
        path = home / "config.json"
        path.write_text(json.dumps({name: value}), encoding="utf-8")
        err = config_error(env={}, home=home, cwd=work)
        location = f"{path}:{name}"
    else:
        err = config_error(env={name: value}, home=home, cwd=work)
        location = name
    assert [(p.setting, p.layer, p.location) for p in err.problems] == [(name, layer, location)]
    assert location in str(err)


def test_the_kubernetes_json_settings_are_held_as_the_text_metaflow_parses(
    home: Path, work: Path
) -> None:
    """Metaflow ``json.loads`` the tolerations, volume claims and pull secrets itself: the text
    is checked and kept as written; a file's JSON value itself is taken and held as its text,
    which is what Metaflow's module and a task get."""
    from metaflow_config import compat

    tolerations = [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]
    claims = {"my-claim": "/mnt/data"}
    write_json(
        home / "config.json",
        {
            "METAFLOW_KUBERNETES_TOLERATIONS": tolerations,
            "METAFLOW_KUBERNETES_PERSISTENT_VOLUME_CLAIMS": claims,
            "METAFLOW_KUBERNETES_NODE_SELECTOR": "kubernetes.io/arch=arm64,team=ml",
            "METAFLOW_KUBERNETES_QOS": "Guaranteed",
        },
    )
    text = '[ "regcred" ]'
    s = load(env={"METAFLOW_KUBERNETES_IMAGE_PULL_SECRETS": text}, home=home, cwd=work)
    assert s.kubernetes.image_pull_secrets == text  # as written
    values = compat.module_values(s)
    assert json.loads(values["KUBERNETES_TOLERATIONS"]) == tolerations
    assert json.loads(values["KUBERNETES_PERSISTENT_VOLUME_CLAIMS"]) == claims
    exported = s.to_env("kubernetes")
    assert json.loads(exported["METAFLOW_KUBERNETES_TOLERATIONS"]) == tolerations
    again = load(env=dict(exported), home=work, cwd=work)
    assert again.kubernetes.tolerations == s.kubernetes.tolerations
    assert load(env={}, home=work, cwd=work).kubernetes.tolerations == ""  # unset: Metaflow's


def test_a_choice_is_said_once_with_its_case_and_kubernetes_spelling_is_named(
    home: Path, work: Path
) -> None:
    """A value of another case is named (``ifnotpresent``: ``IfNotPresent``), the choices are
    listed once, and Kubernetes' ``tolerationSeconds`` says the name Metaflow takes."""
    err = str(
        config_error(
            env={
                "METAFLOW_KUBERNETES_IMAGE_PULL_POLICY": "ifnotpresent",
                "METAFLOW_KUBERNETES_TOLERATIONS": '[{"tolerationSeconds": 5}]',
            },
            home=home,
            cwd=work,
        )
    )
    assert "expected one of 'Always', 'IfNotPresent', 'Never' (did you mean 'IfNotPresent'?)" in err
    (policy,) = (line for line in err.splitlines() if "IMAGE_PULL_POLICY (env" in line)
    assert "Input should be" not in policy
    assert "write it 'toleration_seconds', as Metaflow takes it" in err


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("kubernetes.io/arch: amd64", "':' where '=' is meant"),
        ("a=b, team=ml", "a space (after a comma?)"),
        ("a=b,", "an empty item"),
        ('"team=ml"', "quotes or brackets around it"),
        ('{"team": "ml"}', "quotes or brackets around it"),
        ("a=" + "x" * 70, "a key or value no Kubernetes label takes"),
    ],
)
def test_a_node_selector_says_what_is_wrong(home: Path, work: Path, value: str, said: str) -> None:
    """Not only the form expected: the likeliest fault of the text given."""
    err = config_error(env={"METAFLOW_KUBERNETES_NODE_SELECTOR": value}, home=home, cwd=work)
    assert said in str(err)


def test_kubernetes_own_forms_of_a_toleration_are_taken(home: Path, work: Path) -> None:
    """What Kubernetes itself takes: an empty effect (every effect), an empty operator (Equal),
    a null value, a negative toleration_seconds (counted as 0)."""
    tolerations = [
        {"key": "dedicated", "operator": "Exists", "effect": ""},
        {"key": "team", "value": None, "operator": "", "toleration_seconds": -1},
    ]
    write_json(home / "config.json", {"METAFLOW_KUBERNETES_TOLERATIONS": tolerations})
    s = load(env={}, home=home, cwd=work)
    assert json.loads(s.kubernetes.tolerations) == tolerations


def test_a_separated_list_takes_a_files_json_list(home: Path, work: Path) -> None:
    """Metaflow splits these texts itself: a file's JSON list becomes the text it would split,
    and a list in the wrong place says what is expected."""
    write_json(
        home / "config.json",
        {
            "METAFLOW_DEFAULT_PACKAGE_SUFFIXES": [".py", ".R"],
            "METAFLOW_DEFAULT_DECOSPECS": ["kubernetes", "retry:times=3"],
            "METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP": ["METAFLOW_USER"],
        },
    )
    s = load(env={}, home=home, cwd=work)
    assert s.defaults.package_suffixes == ".py,.R"
    assert s.defaults.decospecs == "kubernetes retry:times=3"
    assert s.to_env("argo")["METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP"] == "METAFLOW_USER"
    write_json(home / "config.json", {"METAFLOW_KUBERNETES_SECRETS": {"a": "b"}})
    err = config_error(env={}, home=home, cwd=work)
    assert "expected comma-separated names, e.g. a,b, no spaces (an empty item is left out" in str(
        err
    )


def test_every_kind_has_wrong_values() -> None:
    """The wrong-value battery covers every kind of setting the table uses."""
    from metaflow_config._model.table import BY_ENV, FIELDS

    covered = {BY_ENV[name].kind.name for name, _, _ in WRONG_VALUES}
    assert {f.kind.name for f in FIELDS} <= covered


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("METAFLOW_SERVICE_HEADERS", '{\n  "a": "b"\n}', id="json-with-newlines"),
        pytest.param("METAFLOW_BATCH_JOB_QUEUE", "a\tb", id="tab-in-string"),
        pytest.param("METAFLOW_BATCH_EMIT_TAGS", "true\n", id="bool-with-trailing-newline"),
        pytest.param("METAFLOW_DATATOOLS_SESSION_VARS", '{"a": "x\\ny"}', id="json-free-form"),
    ],
)
def test_whitespace_that_is_fine(home: Path, work: Path, name: str, value: str) -> None:
    """Newlines inside a JSON text, a tab in a string, a trailing newline after a word: accepted."""
    load(env={name: value}, home=home, cwd=work)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (f"s3://{'b' * 256}/mf", "the bucket has 256 characters (1 to 255)"),
        ("s3://my:bucket/x", "the bucket holds ':'"),
        ("gs://bucket/x", "it starts with 'gs://', not 's3://'"),
        ("bucket/x", "it lacks 's3://': 's3://bucket/x'?"),
        ("My Bucket/x", "it lacks 's3://')"),  # with it, still no S3 URL: nothing suggested
        ("s3://abc/a b", "the prefix holds a space"),
    ],
)
def test_an_s3_url_is_diagnosed_part_by_part(home: Path, work: Path, value: str, said: str) -> None:
    """What is wrong with an S3 URL is said, not only what one looks like."""
    err = config_error(env={"METAFLOW_DATASTORE_SYSROOT_S3": value}, home=home, cwd=work)
    assert [p.setting for p in err.problems] == ["METAFLOW_DATASTORE_SYSROOT_S3"]
    assert said in err.problems[0].expected


@pytest.mark.parametrize(
    ("value", "takes"),
    [
        ("mf-table", True),
        ("arn:aws:dynamodb:us-west-2:123456789012:table/mf-table", True),  # TableName takes it
        ("arn:aws-cn:dynamodb:cn-north-1:123456789012:table/t_1", True),
        ("arn:aws:dynamodb:us-west-2:12345:table/mf-table", False),  # an 5-digit account
        ("arn:aws:dynamodb:us-west-2:123456789012:mf-table", False),  # no table/
        ("mf table", False),
    ],
)
def test_a_dynamodb_table_is_its_name_or_its_arn(
    home: Path, work: Path, value: str, takes: bool
) -> None:
    """DynamoDB's TableName (Step Functions' tasks, boto3's calls) takes a table's ARN too."""
    env = {"METAFLOW_SFN_DYNAMO_DB_TABLE": value}
    if takes:
        assert load(env=env, home=home, cwd=work).sfn.dynamo_db_table == value
    else:
        err = config_error(env=env, home=home, cwd=work)
        assert [p.setting for p in err.problems] == ["METAFLOW_SFN_DYNAMO_DB_TABLE"]


def test_numbers_and_booleans_are_said_in_the_kinds_words(home: Path, work: Path) -> None:
    """A bad whole number is said by its kind alone (pydantic-core's words repeated it), a
    fraction as such, and a number for a boolean as a number, not as a word."""
    write_json(
        home / "config.json",
        {
            "METAFLOW_S3_RETRY_COUNT": "yes",
            "METAFLOW_S3_WORKER_COUNT": 5.5,
            "METAFLOW_CLIENT_CACHE_MAX_SIZE": -3,
            "METAFLOW_BATCH_EMIT_TAGS": 5,
        },
    )
    from metaflow_config._model.kinds import S3_RETRIES, S3_WORKERS

    said = {p.setting: p.expected for p in config_error(env={}, home=home, cwd=work).problems}
    assert said["METAFLOW_S3_RETRY_COUNT"] == S3_RETRIES.expected
    assert said["METAFLOW_CLIENT_CACHE_MAX_SIZE"] == "a whole number >= 0"
    assert said["METAFLOW_S3_WORKER_COUNT"] == f"{S3_WORKERS.expected} (it has a fractional part)"
    assert said["METAFLOW_BATCH_EMIT_TAGS"].endswith("(a number other than 1 or 0)")
    assert not any("Input should" in text for text in said.values())


def test_a_number_for_text_says_to_quote_it(home: Path, work: Path) -> None:
    """A JSON number or boolean where text is expected: the quoted text is the fix (a secret's
    digits are not repeated)."""
    write_json(
        home / "config.json",
        {"METAFLOW_BATCH_JOB_QUEUE": 123, "METAFLOW_USER": True, "METAFLOW_SERVICE_AUTH_KEY": 9876},
    )
    err = config_error(env={}, home=home, cwd=work)
    said = {p.setting: p.expected for p in err.problems}
    assert (
        'found a JSON number: if the text is meant, write it in quotes, "123"'
        in said["METAFLOW_BATCH_JOB_QUEUE"]
    )
    assert (
        'found a JSON boolean: if the text is meant, write it in quotes, "true"'
        in said["METAFLOW_USER"]
    )
    assert said["METAFLOW_SERVICE_AUTH_KEY"].endswith("write it in quotes)")
    assert "9876" not in str(err)
    write_json(home / "config.json", {"METAFLOW_SERVICE_URL": 8080})  # "8080" is no URL either
    (expected,) = (p.expected for p in config_error(env={}, home=home, cwd=work).problems)
    assert expected.endswith("(found a JSON number)")


def test_a_dynamodb_table_name_is_one_aws_takes(home: Path, work: Path) -> None:
    """The wizard took `my_table!`, and `check --aws` then told to create a table AWS refuses."""
    err = config_error(env={"METAFLOW_SFN_DYNAMO_DB_TABLE": "my_table!"}, home=home, cwd=work)
    assert "a DynamoDB table name" in err.problems[0].expected
    load(env={"METAFLOW_SFN_DYNAMO_DB_TABLE": "mf_foreach-1.x"}, home=home, cwd=work)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("https://ui.example.com/#a b", "it holds a space (or another blank) at position 25"),
        ("ftp://ui.example.com", "it starts with 'ftp://', not 'http://' or 'https://'"),
        ("ui.example.com", "it lacks 'http://' or 'https://'"),
        ("https:///path", "it names no host"),
    ],
)
def test_a_url_is_diagnosed(home: Path, work: Path, value: str, said: str) -> None:
    """What is wrong with a URL is said: a space in it is not left for the reader to find."""
    err = config_error(env={"METAFLOW_UI_URL": value}, home=home, cwd=work)
    assert said in err.problems[0].expected


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        pytest.param("METAFLOW_BATCH_JOB_QUEUE", "q\x01ueue", "'\\x01' at position 1", id="str"),
        pytest.param("METAFLOW_BATCH_JOB_QUEUE", "q\x85ueue", "'\\x85' at position 1", id="nel"),
        pytest.param("METAFLOW_BATCH_JOB_QUEUE", "q\x9b31m", "'\\x9b' at position 1", id="csi"),
        pytest.param(
            "METAFLOW_SERVICE_URL", "https://h/\u2028x", "'\\u2028' at position 10", id="ls"
        ),
        pytest.param(
            "METAFLOW_DATASTORE_SYSROOT_S3", "s3://bucket/a\nb", "'\\n' at position 13", id="s3"
        ),
        pytest.param(
            "METAFLOW_SFN_IAM_ROLE",
            "arn:aws:iam::123456789012:role/r\x7f",
            "'\\x7f' at position 32",
            id="arn",
        ),
        pytest.param(
            "METAFLOW_SERVICE_URL", "https://h/\ud800", "'\\ud800' at position 10", id="surrogate"
        ),
        pytest.param(
            "METAFLOW_SERVICE_AUTH_KEY", "s3cr3t\x00", "'\\x00' at position 6", id="secret"
        ),
        pytest.param(  # a byte of the environment that is not UTF-8, as Python holds it
            "METAFLOW_BATCH_JOB_QUEUE",
            "q\udcffueue",
            "the byte 0xff (not UTF-8) at position 1",
            id="not-utf-8",
        ),
    ],
)
def test_control_characters_are_named_where_they_are(
    home: Path, work: Path, name: str, value: str, shown: str
) -> None:
    """A value holding a control character or a lone surrogate names it and its position.

    In every layer and in an ``override`` (whose one-call path must give the same message);
    a secret's text stays masked, only the character and its position are said.
    """
    from metaflow_config import override

    errors = [config_error(env={name: value}, home=home, cwd=work)]
    (home / "config.json").write_text(json.dumps({name: value}))
    errors.append(config_error(env={}, home=home, cwd=work))
    (home / "config.json").unlink()
    with pytest.raises(ConfigError) as info, override({name: value}):
        pass
    errors.append(info.value)
    for err in errors:
        assert [p.setting for p in err.problems] == [name]
        assert f"contains {shown}; a value must be one line" in str(err)
        if "AUTH_KEY" in name:
            assert "s3cr3t" not in str(err)


def test_control_characters_in_bytes_given_by_code_are_refused(home: Path, work: Path) -> None:
    """Bytes injected by code are read as UTF-8 text and checked as text (they were let through)."""
    err = config_error(env={}, home=home, cwd=work, overrides={"BATCH_JOB_QUEUE": b"a\x01b"})
    assert [p.setting for p in err.problems] == ["METAFLOW_BATCH_JOB_QUEUE"]
    assert "contains '\\x01' at position 1" in str(err)


def test_control_characters_inside_json_values_name_the_key(home: Path, work: Path) -> None:
    """A string inside a JSON value is checked too, and the message names its key."""
    err = config_error(
        env={"METAFLOW_BATCH_DEFAULT_TAGS": '{"team": "a\\u0001b"}'}, home=home, cwd=work
    )
    assert "['team']: contains '\\x01' at position 1" in str(err)


def test_strict_flag_must_be_a_boolean(home: Path, work: Path) -> None:
    """METAFLOW_CONFIG_STRICT that is not a boolean is an error naming the variable."""
    err = config_error(env={"METAFLOW_CONFIG_STRICT": "very"}, home=home, cwd=work)
    assert [p.location for p in err.problems] == ["METAFLOW_CONFIG_STRICT"]


def test_sentinel_like_key_is_just_unknown(home: Path, work: Path) -> None:
    """A key that looks like an internal marker is an ordinary foreign key, not a crash."""
    (home / "config.json").write_text('{"\\u0000duplicates": 5}')
    with pytest.warns(ConfigWarning, match="is not a setting of Metaflow"):
        load(env={}, home=home, cwd=work)


# --- unknown keys with near-miss spellings ---------------------------------------------------


@pytest.mark.parametrize(
    ("where", "key", "suggestion"),
    [
        pytest.param("env", "METAFLOW_BATCH_JOB_QUEU", "METAFLOW_BATCH_JOB_QUEUE", id="env-typo"),
        pytest.param(
            "env", "METAFLOW_DATASTORE_SYSROOT_S4", "METAFLOW_DATASTORE_SYSROOT_S3", id="env-s4"
        ),
        pytest.param("profile", "METAFLOW_SFN_IAM_ROEL", "METAFLOW_SFN_IAM_ROLE", id="file-typo"),
        pytest.param(
            "profile", "metaflow_batch_job_queue", "METAFLOW_BATCH_JOB_QUEUE", id="file-lowercase"
        ),
        pytest.param("local", "METAFLOW_SERVICE_ULR", "METAFLOW_SERVICE_URL", id="local-typo"),
    ],
)
def test_near_miss_key(home: Path, work: Path, where: str, key: str, suggestion: str) -> None:
    """A misspelled key warns with a did-you-mean, and is a ConfigError naming it when strict."""
    env: dict[str, str] = {}
    source = key
    if where == "env":
        env[key] = "x"
    elif where == "profile":
        (home / "config.json").write_text(json.dumps({key: "x"}))
        source = str(home / "config.json")
    else:
        local = work / ".metaflow" / "config.json"
        local.parent.mkdir()
        local.write_text(json.dumps({key: "x"}))
        source = str(local)
    with pytest.warns(ConfigWarning, match=f"did you mean {suggestion}") as record:
        load(env=env, home=home, cwd=work)
    assert source in str(record[0].message)
    err = config_error(env=env, home=home, cwd=work, strict=True)
    assert [p.setting for p in err.problems] == [key]
    assert f"did you mean {suggestion}" in str(err)
    assert source in str(err)


@pytest.mark.parametrize("where", ["profile", "local"])
def test_a_long_path_is_named_whole_beside_an_unknown_key(tmp_path: Path, where: str) -> None:
    """A file's unknown key is said with the file's path whole, however long (the key alone is a
    name a message may shorten): the warning and the strict error alike."""
    deep = tmp_path / ("a-rather-long-directory-name-" * 3) / ("and-one-more-level-" * 3)
    home, work = deep / "home", deep / "work"
    home.mkdir(parents=True)
    work.mkdir()
    key = "METAFLOW_BATCH_JOB_QEUE"
    path = home / "config.json" if where == "profile" else work / ".metaflow" / "config.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({key: "x"}))
    assert len(f"{path}:{key}") > 130
    with pytest.warns(ConfigWarning) as record:
        load(env={}, home=home, cwd=work)
    assert str(path) in str(record[0].message)
    err = config_error(env={}, home=home, cwd=work, strict=True)
    assert f"({where}: {path}:{key})" in str(err)


def test_unknown_override_is_an_error(home: Path, work: Path) -> None:
    """An override of a misspelled name is always an error with a did-you-mean."""
    err = config_error(env={}, home=home, cwd=work, overrides={"BATCH_JOB_QEUE": "q"})
    assert "override(BATCH_JOB_QEUE=...)" in str(err)
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE" in str(err)


# --- a JSON key given twice --------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["env", "override"])
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("METAFLOW_BATCH_DEFAULT_TAGS", '{"team": "a", "team": "b"}'),
        ("METAFLOW_BATCH_DEFAULT_TAGS", '{"team": "a", "x": {"k": 1, "k": 2}}'),
        ("METAFLOW_SERVICE_HEADERS", '{"x-ZQXJ-token": "a", "x-ZQXJ-token": "b"}'),
    ],
)
def test_a_json_key_given_twice_is_a_problem_in_every_layer(
    home: Path, work: Path, layer: str, name: str, text: str
) -> None:
    """As in a file, a key given twice in JSON text is never resolved silently (last one wins
    would hide a mistake); the key is not named (it may be a secret header's)."""
    kwargs: dict[str, Any] = {"env": {}, "home": home, "cwd": work}
    if layer == "env":
        kwargs["env"] = {name: text}
    else:
        kwargs["overrides"] = {name: text}
    with pytest.raises(ConfigError) as info:
        load(**kwargs)
    (problem,) = info.value.problems
    assert problem.setting == name
    assert "a key given twice in one object" in problem.expected
    assert "ZQXJ" not in str(info.value)


@pytest.mark.parametrize(
    ("headers", "said"),
    [
        ({"Authorization": " Bearer ZQXJ-token"}, "the value of header 1 starts with a blank"),
        ({"x-a": "1", "Authorization": "Bearer ZQXJ\r\nX-Evil: 1"}, "other control characters"),
        ({" x-ZQXJ": "v"}, "the name of header 1 is empty, starts with a blank, or holds ':'"),
        ({"x:ZQXJ": "v"}, "the name of header 1"),
        ({"": "ZQXJ"}, "the name of header 1"),
        ({"Authorization": "Bearer ZQXJ\u20ac"}, "a character outside Latin-1"),
        ({"X-T\u00f6k": "ZQXJ"}, "a character that is not ASCII"),
    ],
)
def test_a_header_requests_would_refuse_is_refused_unshown(
    home: Path, work: Path, headers: dict[str, str], said: str
) -> None:
    """The service's headers go through ``requests``, which refuses a name or value of these
    shapes at every request (a value with a leading blank pasted with its token): refused at
    resolution, the header said by its number (its name and value may be secret)."""
    with pytest.raises(ConfigError) as info:
        load(env={"METAFLOW_SERVICE_HEADERS": json.dumps(headers)}, home=home, cwd=work)
    assert said in str(info.value)
    assert "ZQXJ" not in str(info.value)
    assert load(env={"METAFLOW_SERVICE_HEADERS": '{"X-Empty": ""}'}, home=home, cwd=work)


# --- the empty string ------------------------------------------------------------------------


@pytest.mark.parametrize("layer", ["profile", "local", "env", "override"])
def test_empty_string_is_unset_in_every_layer(home: Path, work: Path, layer: str) -> None:
    """``""`` means "not set" in every layer, as an empty environment variable does."""
    (home / "config.json").write_text('{"METAFLOW_DATATOOLS_SUFFIX": "low"}')
    name = "METAFLOW_DATATOOLS_SUFFIX"
    kwargs: dict[str, Any] = {"env": {}, "home": home, "cwd": work}
    if layer == "profile":
        (home / "config.json").write_text(json.dumps({name: ""}))
    elif layer == "local":
        local = work / ".metaflow" / "config.json"
        local.parent.mkdir()
        local.write_text(json.dumps({name: ""}))
    elif layer == "env":
        kwargs["env"] = {name: ""}
    else:
        kwargs["overrides"] = {name: ""}
    s = load(**kwargs)
    assert s.datatools.suffix == ("data" if layer == "profile" else "low")
    assert s.source(name) == ("default" if layer == "profile" else "profile")


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam::12345678901:role/x", "has 11 digits"),
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam::1234567890123:role/x", "has 13 digits"),
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam::12345678901a:role/x", "is not an AWS account ID"),
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws-eu:iam::123456789012:role/x", "partition 'aws-eu'"),
        (
            "METAFLOW_SFN_IAM_ROLE",
            "arn:aws:sts::123456789012:role/x",
            "service 'sts' should be 'iam'",
        ),
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam:us-east-1:123456789012:role/x", "have no region"),
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam::123456789012:user/x", "should be role/<name>"),
        ("METAFLOW_SFN_IAM_ROLE", "my-role", "six parts"),
        (
            "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN",
            "arn:aws:logs::123456789012:log-group:/mf",
            "the region is missing",
        ),
        (
            "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN",
            "arn:aws:logs:useast1:123456789012:log-group:/mf",
            "region 'useast1'",
        ),
        (
            "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN",
            "arn:aws:logs:us-east-1:123456789012:stream:x",
            "should be log-group:<name>",
        ),
    ],
)
def test_arn_error_names_the_wrong_part(
    home: Path, work: Path, name: str, value: str, said: str
) -> None:
    """An ARN error says which part is wrong: account length, partition, service, region..."""
    err = config_error(env={name: value}, home=home, cwd=work)
    assert [p.setting for p in err.problems] == [name]
    assert said in str(err)


def test_arn_errors_are_reported_together(home: Path, work: Path) -> None:
    """Every wrong part of one ARN is named in the one problem, not only the first."""
    err = config_error(
        env={"METAFLOW_SFN_IAM_ROLE": "arn:aws-xx:iam::123:group/x"}, home=home, cwd=work
    )
    text = str(err)
    for said in ("partition 'aws-xx'", "has 3 digits", "should be role/<name>"):
        assert said in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam::123456789012:role/path/to/my-role"),
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws-us-gov:iam::123456789012:role/x"),
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws-cn:iam::123456789012:role/x"),
        (
            "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN",
            "arn:aws:logs:us-gov-west-1:123456789012:log-group:/a:*",
        ),
        (
            "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN",
            "arn:aws:logs:ap-southeast-3:123456789012:log-group:x",
        ),
    ],
)
def test_valid_arns_still_pass(home: Path, work: Path, name: str, value: str) -> None:
    """The part-by-part check accepts every partition and region form AWS uses."""
    assert load(env={name: value}, home=home, cwd=work)[name] == value


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METAFLOW_DATASTORE_SYSROOT_S3", "s3://user:QZXJ@host/x"),
        ("METAFLOW_DATASTORE_SYSROOT_GS", "gs://user:QZXJ@host/x"),
        ("METAFLOW_SFN_IAM_ROLE", "arn:aws:iam::user:QZXJ@host"),
    ],
)
def test_a_diagnosis_tells_nothing_of_a_url_password(name: str, value: str) -> None:
    """What a diagnosis quotes of a refused value (the characters its bucket holds) comes from
    the value as it is shown: no character of a URL's password."""
    with pytest.raises(ConfigError) as raised:
        load(env={name: value}, home="/nonexistent-home", cwd="/")
    said = str(raised.value)
    assert "QZXJ" not in said
    assert not any(f"'{c}'" in said for c in "QZXJ"), said


def test_a_short_name_in_a_file_is_told_that_a_files_keys_are_whole(home: Path, work: Path) -> None:
    """``BATCH_JOB_QUEUE`` as a file's key: the did-you-mean, and why (the command line and
    ``override()`` take short names; files and the environment, whole ones)."""
    import warnings

    (home / "config.json").write_text('{"BATCH_JOB_QUEUE": "q"}')
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load(env={}, home=home, cwd=work)
    (said,) = [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]
    assert "did you mean METAFLOW_BATCH_JOB_QUEUE? (BATCH_JOB_QUEUE is its short name" in said


@pytest.mark.parametrize(
    ("text", "read"),
    [
        (" 7 ", 7),  # as Metaflow's int() reads it
        ("1_000", 1000),
        ("+3", 3),
        ("7.0", "a whole number >= 0 (it is written with a fraction or an exponent)"),
        ("1e3", "a whole number >= 0 (it is written with a fraction or an exponent)"),
        ("nan", "a whole number >= 0"),  # no number: said in the kind's words
        ("junk", "a whole number >= 0"),
    ],
)
def test_integer_text_is_read_as_metaflows_int_reads_it(
    home: Path, work: Path, text: str, read: int | str
) -> None:
    env = {"METAFLOW_CLIENT_CACHE_MAX_SIZE": text}
    if isinstance(read, int):
        assert load(env=env, home=home, cwd=work)["METAFLOW_CLIENT_CACHE_MAX_SIZE"] == read
    else:
        assert [p.expected for p in config_error(env=env, home=home, cwd=work).problems] == [read]


def test_a_key_given_twice_is_fixed_by_keeping_one_of_the_lines_named(tmp_path: Path) -> None:
    """README's promise (the fix, keep one): the lines that give the key, a key written with
    an escape too; a value that holds the key's text, or a key inside a value, is no line."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(
        '{\n  "METAFLOW_BATCH_JOB_QUEUE": "old",\n  "METAFLOW_USER": "METAFLOW_BATCH_JOB_QUEUE",'
        '\n  "METAFLOW_BATCH_JOB_QUEUE": "new",\n  "METAFLOW_BATCH_JOB_QUEUE" : "newer",\n'
        '  "METAFLOW_\\u0055SER": "x",\n  "METAFLOW_SERVICE_HEADERS": {"METAFLOW_USER": "y"}\n}\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load(env={}, home=str(home), cwd=tmp_path)
    queue, user = caught.value.problems
    assert queue.expected == "each key once, found METAFLOW_BATCH_JOB_QUEUE 3 times"
    assert queue.fix == (
        f"keep one METAFLOW_BATCH_JOB_QUEUE (lines 2, 4 and 5) and remove the others in "
        f"{home / 'config.json'}"
    )
    assert user.fix == (
        f"keep one METAFLOW_USER (lines 3 and 6) and remove the other in {home / 'config.json'}"
    )


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        (
            "METAFLOW_KUBERNETES_LABELS",
            {"team": "ml", "env": "dev"},
            "found a JSON object: Metaflow reads this setting as text, key=value pairs separated "
            'by commas: "team=ml,env=dev")',
        ),
        (
            "METAFLOW_KUBERNETES_ANNOTATIONS",
            {"owner": "me"},
            'key=value pairs separated by commas: "owner=me")',
        ),
        (
            "METAFLOW_KUBERNETES_NAMESPACE",
            ["team"],
            "expected a string (found a JSON array: Metaflow reads this setting as text)",
        ),
        (  # "team=a,b=c" would read as two labels: no text is offered
            "METAFLOW_KUBERNETES_LABELS",
            {"team": "a,b=c"},
            "expected a string (found a JSON object: Metaflow reads this setting as text)",
        ),
    ],
)
def test_an_object_or_array_for_a_text_setting_is_said_as_its_text(
    name: str, value: Any, said: str, tmp_path: Path
) -> None:
    """Labels written as their natural JSON object (Metaflow alone takes ``str(dict)`` and the
    launch fails): the error says the text Metaflow reads, not pydantic's "a valid string"."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({name: value}), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(env={}, home=str(home), cwd=tmp_path)
    assert said in str(caught.value)
    assert "valid string" not in str(caught.value)


@pytest.mark.parametrize(
    "home", ["$HOME/.metaflowconfig", "${HOME}/mf", "%USERPROFILE%\\mf", '"$HOME/.metaflowconfig"']
)
def test_a_metaflow_home_naming_a_variable_not_expanded_says_so(home: str, tmp_path: Path) -> None:
    """``METAFLOW_HOME='$HOME/.metaflowconfig'`` (docker --env-file, single quotes): the fix
    was ``export METAFLOW_HOME='<cwd>/$HOME/.metaflowconfig'``, a folder nobody meant."""
    with pytest.raises(ConfigError) as caught:
        load(env={"METAFLOW_HOME": home}, cwd=tmp_path)
    (problem,) = caught.value.problems
    assert problem.fix.startswith(f"{home} names a variable that was not expanded")
    assert str(tmp_path) not in problem.fix


def test_a_missing_home_given_in_code_is_said_as_home_not_metaflow_home(tmp_path: Path) -> None:
    """``load(home=<missing>, profile="prod")``: the fix said to correct METAFLOW_HOME, which
    was set nowhere; it names ``home=``. Given by the variable, the variable is named."""
    missing = tmp_path / "no-such-home"
    with pytest.raises(ConfigError) as caught:
        load(env={}, home=missing, profile="prod", cwd=tmp_path)
    (problem,) = caught.value.problems
    assert f"{missing}, which does not exist (home=)" in problem.expected
    assert problem.fix.startswith("correct home= if it is mistyped")
    with pytest.raises(ConfigError) as caught:
        load(env={"METAFLOW_HOME": str(missing), "METAFLOW_PROFILE": "prod"}, cwd=tmp_path)
    (problem,) = caught.value.problems
    assert problem.fix.startswith("correct METAFLOW_HOME if it is mistyped")


def test_the_lines_of_a_key_given_twice_are_found_in_linear_time(tmp_path: Path) -> None:
    """A cloned repository's project file with a key given twice and a long string of escaped
    quotes: the first search for the key's lines restarted at each escaped quote, and a 128 KB
    value took about 50 s (1 MiB: an hour) of every ``load()``. Said at once now (as measured
    by the regular expression engine's own work: no wall clock)."""
    import re

    from metaflow_config._sources import jsonfile

    value = '\\"' * 200_000
    text = '{"METAFLOW_USER": "a", "X": "' + value + '", "METAFLOW_USER": "b"}'
    assert jsonfile._key_lines(text, ["METAFLOW_USER"]) == {"METAFLOW_USER": [1, 1]}
    # each token's match starts where the last ended: a string is matched once, whole
    starts = [m.start() for m in re.finditer(jsonfile._TOKENS, text)]
    assert len(starts) == 11  # { key : "a" key : value key : "b" }
    many = "{" + ", ".join(f'"METAFLOW_USER": "{i}"' for i in range(40)) + "}"
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(many.replace(", ", ",\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load(env={}, home=str(home), cwd=tmp_path)
    (said,) = caught.value.problems
    assert said.expected == "each key once, found METAFLOW_USER 40 times"
    assert "(lines 1, 2, 3, 4, 5 and 35 more)" in said.fix


@pytest.mark.parametrize("home", ['"/srv/mf"', "'/srv/mf'"])
def test_a_quoted_metaflow_home_is_said_to_hold_quotes(home: str, tmp_path: Path) -> None:
    """docker --env-file and systemd keep quotes: the fix pointed into the working directory
    (``export METAFLOW_HOME='<cwd>/"/srv/mf"'``), which the refusal is there to prevent."""
    with pytest.raises(ConfigError) as caught:
        load(env={"METAFLOW_HOME": home}, cwd=tmp_path)
    (problem,) = caught.value.problems
    assert problem.fix == (
        "the value holds quotes, which a file of variables keeps (docker --env-file, systemd): "
        "remove them (METAFLOW_HOME=/srv/mf)"
    )


def test_the_text_offered_for_an_object_is_bounded(tmp_path: Path) -> None:
    """A hostile project file's labels object of 0.5 MB: the error offered it whole as text
    (a 549 KB message); past 200 characters, none is offered."""
    home = tmp_path / "home"
    home.mkdir()
    labels = {f"k{i}": "v" for i in range(50_000)}
    (home / "config.json").write_text(
        json.dumps({"METAFLOW_KUBERNETES_LABELS": labels}), encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load(env={}, home=str(home), cwd=tmp_path)
    assert len(str(caught.value)) < 2_000
    assert "found a JSON object: Metaflow reads this setting as text)" in str(caught.value)
