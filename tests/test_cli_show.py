"""``show`` as a table that fits the terminal, and on a broken configuration says each problem once.

Values are shortened only on a terminal (its width, ``$COLUMNS`` first), keeping what tells them
apart (``_display.shorten``) and their INVALID mark; ``--wide``, a pipe or a file get every value
whole. An invalid value and an unknown key are marked in their rows; what is wrong with each is
said once, on stderr.
"""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaflow_config import load
from metaflow_config._display import CUT, shorten
from metaflow_config.cli._show import render
from metaflow_config.testing import write_profile
from tests.conftest import invoke

ROLE = "arn:aws:iam::123456789012:role/metaflow-production-batch-s3-task-role"
QUEUE = "arn:aws:batch:us-west-2:123456789012:job-queue/metaflow-production-queue"
SYSROOT = "s3://my-company-metaflow-artifacts-production/metaflow/teams/ml/prefix"
URL = "https://metaflow-service.internal.example.com/api/v1/metadata"
BAD_ROLE = "arn:aws:iam::123456789012:user/metaflow-production-step-functions-role"
PROFILE = {
    "DEFAULT_DATASTORE": "s3",
    "DATASTORE_SYSROOT_S3": SYSROOT,
    "ECS_S3_ACCESS_IAM_ROLE": ROLE,
    "BATCH_JOB_QUEUE": QUEUE,
    "SERVICE_URL": URL,
}


def home() -> Path:
    """The METAFLOW_HOME the autouse fixture points at."""
    return Path(os.environ["METAFLOW_HOME"])


def table(width: int | None, **overrides: str) -> str:
    """The ``show`` table of ``PROFILE`` (and ``overrides``) in ``width`` columns."""
    write_profile(home(), PROFILE)
    out = io.StringIO()
    render(load(overrides=overrides), include_defaults=False, out=out, width=width)
    return out.getvalue()


def rows(text: str) -> dict[str, str]:
    """The lines of a table by the setting's name."""
    return {line.split()[0]: line for line in text.splitlines() if line and line[0] != "#"}


# --- shortening a value --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "width", "shown"),
    [
        pytest.param(ROLE, 50, "...role/metaflow-production-batch-s3-task-role",
                     id="arn-keeps-its-resource"),
        pytest.param("arn:aws:iam::123456789012:role/my-role", 30, "arn:aws:iam::...role/my-role",
                     id="arn-head-cut-at-a-colon"),
        pytest.param(ROLE, 44, "...metaflow-production-batch-s3-task-role", id="arn-name-alone"),
        pytest.param(ROLE, 30, "...metaflow-pro...s3-task-role", id="arn-name-too-long"),
        pytest.param(SYSROOT, 60, "s3://my-company-metaflow-artifacts-production.../ml/prefix",
                     id="s3-keeps-bucket-and-key-end"),
        pytest.param(SYSROOT, 40, "s3://my-company-me...low/teams/ml/prefix",
                     id="s3-bucket-too-long"),
        pytest.param(repr(ROLE), 46, "'...metaflow-production-batch-s3-task-role'", id="quoted"),
        pytest.param(URL, 40, "https://metaflow-s...com/api/v1/metadata",
                     id="url-host-too-long"),
        pytest.param("https://mf.example.com/a/long/path/to/the/metadata", 36,
                     "https://mf.example.com.../metadata", id="url-keeps-host-and-path-end"),
        pytest.param(  # no room for the path's end beside the host: the host whole
            "http://127.0.0.1:5056/api", 24, "http://127.0.0.1:5056...", id="url-host-whole"
        ),
        pytest.param("x" * 10 + "y" * 10, 11, "xxxx...yyyy", id="text-keeps-both-ends"),
        pytest.param(ROLE, len(ROLE), ROLE, id="whole-when-it-fits"),
    ],
)  # fmt: skip
def test_shorten_keeps_what_tells_values_apart(text: str, width: int, shown: str) -> None:
    """An ARN keeps its resource, a URL its host and path end, other text both ends."""
    assert shorten(text, width) == shown
    assert len(shown) <= width


@given(text=st.text(min_size=1), width=st.integers(min_value=5, max_value=120))
def test_shorten_fits_and_keeps_the_end(text: str, width: int) -> None:
    """Any text: never wider than asked, unchanged when it fits, its last character kept."""
    shown = shorten(text, width)
    assert len(shown) <= width
    if len(text) <= width:
        assert shown == text
    else:
        assert CUT in shown
        assert shown[-1] == text[-1]


# --- the table fits the terminal ---------------------------------------------------------------


@pytest.mark.parametrize("width", [80, 100, 120, 160])
def test_every_row_fits_the_width(width: int) -> None:
    """At 80 to 160 columns no row of the table is wider than the terminal."""
    text = table(width, METAFLOW_JOB_QUEUE_NAME="q")
    for line in text.splitlines():
        if not line.startswith("# profile"):  # the header names the file whole
            assert len(line) <= width, line


def test_a_shortened_arn_keeps_the_role_name() -> None:
    """At 100 columns the role's name (what differs between roles) is shown, not its account."""
    shown = rows(table(100))
    assert "...metaflow-production-batch-s3-task-role" in shown["METAFLOW_ECS_S3_ACCESS_IAM_ROLE"]
    assert "job-queue/metaflow-production-queue" in shown["METAFLOW_BATCH_JOB_QUEUE"]
    assert "/prefix" in shown["METAFLOW_DATASTORE_SYSROOT_S3"]
    assert "--wide shows every value and location whole" in table(100)


def test_without_a_width_every_value_is_whole() -> None:
    """No width (a pipe, a file, --wide): values and locations whole, nothing said of a cut."""
    text = table(None)
    for value in (ROLE, QUEUE, SYSROOT, URL, f"{SYSROOT}/sfn_distributed_map_output"):
        assert value in text
    assert "from DATASTORE_SYSROOT_S3, DATATOOLS_SUFFIX" in text
    assert "--wide" not in text


def test_a_derived_location_is_short() -> None:
    """A derived value says what from in short names, fitting beside it at 140 columns."""
    shown = rows(table(140))
    assert shown["METAFLOW_CARD_S3ROOT"].endswith("derived  from DATASTORE_SYSROOT_S3")
    assert "METAFLOW_DATASTORE" not in shown["METAFLOW_DATATOOLS_S3ROOT"].split("derived")[1]


def test_the_invalid_mark_is_never_cut() -> None:
    """A long invalid value is shortened; its INVALID mark stays whole, in every width."""
    write_profile(home(), {**PROFILE, "SFN_IAM_ROLE": BAD_ROLE})
    from metaflow_config.cli._diagnose import diagnose

    found = diagnose(None)
    for width in (80, 100, 120):
        out = io.StringIO()
        render(found.snapshot, include_defaults=False, out=out, invalid=found.in_force, width=width)
        line = rows(out.getvalue())["METAFLOW_SFN_IAM_ROLE"]
        assert line.split()[1].endswith("role'")  # the end of the value, in its quotes
        assert line.split()[2:] == ["INVALID", "profile"]
        assert len(line) <= width


def _in_a_terminal(columns: int, *args: str) -> str:
    """What ``metaflow-config show ARGS`` prints to a pseudo-terminal of ``columns`` ($COLUMNS)."""
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": str(columns)}
    with subprocess.Popen(
        [sys.executable, "-m", "metaflow_config", "show", *args],
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as child:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: the child is done
                break
            if not chunk:
                break
            chunks.append(chunk)
        child.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
def test_the_command_fits_the_terminal_and_honours_columns() -> None:
    """In a terminal, $COLUMNS decides: 100 columns fit; 250 show every value whole."""
    write_profile(home(), PROFILE)
    narrow = _in_a_terminal(100)
    assert max(len(line) for line in narrow.splitlines()[1:]) <= 100
    assert "...metaflow-production-batch-s3-task-role" in narrow
    wide = _in_a_terminal(250)
    assert ROLE in wide
    assert "cut to fit" not in wide
    assert ROLE in _in_a_terminal(100, "--wide")
    assert "# cut to fit 100 columns" in narrow
    tiny = _in_a_terminal(60)  # narrower than the names and the values' least width
    assert "cut to fit" not in tiny  # the footer does not claim what the lines do not do
    assert "still wider than 60 columns" in tiny


def test_piped_or_wide_every_value_is_whole() -> None:
    """Not a terminal (a pipe, a file): every value whole, whatever $COLUMNS says."""
    write_profile(home(), PROFILE)
    result = invoke("show", env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    assert ROLE in result.stdout
    assert f"{SYSROOT}/sfn_distributed_map_output" in result.stdout
    assert ROLE in invoke("show", "--wide").stdout


# --- a broken configuration: each problem once, unknown keys in place -----------------------


@pytest.fixture
def broken() -> None:
    """A profile with an invalid role and a misspelled key."""
    write_profile(home(), {**PROFILE, "SFN_IAM_ROLE": BAD_ROLE})
    path = home() / "config.json"
    doc = path.read_text().replace("{", '{"METAFLOW_BATCH_JOB_QUEU": "typo-queue", ', 1)
    path.write_text(doc)


@pytest.mark.usefixtures("broken")
def test_each_problem_is_said_once() -> None:
    """The invalid value's problem is on stderr only; the table marks it in place."""
    result = invoke("show")
    assert result.exit_code == 1
    said = "expected an IAM role ARN"
    assert (result.stdout + result.stderr).count(said) == 1
    assert said in result.stderr
    assert "INVALID" in rows(result.stdout)["METAFLOW_SFN_IAM_ROLE"]
    assert "# marked above: 1 INVALID, 1 UNKNOWN; why, and the fix: on stderr" in result.stdout


@pytest.mark.usefixtures("broken")
def test_an_unknown_key_is_marked_in_place_with_its_did_you_mean() -> None:
    """The misspelled key has a row (value masked) and one warning, as check reports it."""
    result = invoke("show")
    row = rows(result.stdout)["METAFLOW_BATCH_JOB_QUEU"]
    assert row.split()[1:4] == ["****", "UNKNOWN", "profile"]
    assert row.endswith("did you mean METAFLOW_BATCH_JOB_QUEUE?")
    assert result.stderr.count("unknown setting METAFLOW_BATCH_JOB_QUEU") == 1
    assert "typo-queue" not in result.output
    doc = invoke("show", "--json")
    unknown = json.loads(doc.stdout)["unknown"]
    assert [(u["name"], u["suggestion"]) for u in unknown] == [
        ("METAFLOW_BATCH_JOB_QUEU", "METAFLOW_BATCH_JOB_QUEUE")
    ]


@pytest.mark.usefixtures("broken")
def test_strict_mode_says_the_unknown_key_once_as_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In strict mode the unknown key is a problem of the error, and no warning repeats it."""
    monkeypatch.setenv("METAFLOW_CONFIG_STRICT", "1")
    result = invoke("show")
    assert result.exit_code == 1
    assert result.stderr.count("METAFLOW_BATCH_JOB_QUEU ") == 1
    assert "Warning: unknown setting" not in result.stderr
    assert "UNKNOWN" in rows(result.stdout)["METAFLOW_BATCH_JOB_QUEU"]


def test_an_unknown_key_of_a_valid_configuration_is_marked_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No invalid value: the unknown key's row and its warning; exit 0 (as Metaflow would run)."""
    write_profile(home(), {"BATCH_JOB_QUEUE": "q"})
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEU", "typo")
    result = invoke("show")
    assert result.exit_code == 0
    assert rows(result.stdout)["METAFLOW_BATCH_JOB_QUEU"].split()[1:4] == ["****", "UNKNOWN", "env"]
    assert result.stderr.count("unknown setting METAFLOW_BATCH_JOB_QUEU") == 1


def test_a_retired_key_is_marked_ignored_with_what_it_is() -> None:
    """A name Metaflow retired is known, not unknown: marked IGNORED beside what it is, and
    counted so in the footer; a typo beside it stays UNKNOWN."""
    from tests.conftest import write_json

    write_json(
        Path(os.environ["METAFLOW_HOME"]) / "config.json",
        {"METAFLOW_SKIP_CARD_DUALWRITE": True, "METAFLOW_BATCH_JOB_QEUE": "q"},
    )
    result = invoke("show")
    assert result.exit_code == 0, result.output
    shown = rows(result.stdout)
    assert shown["METAFLOW_SKIP_CARD_DUALWRITE"].split()[1:4] == ["****", "IGNORED", "profile"]
    assert "a name Metaflow no longer reads" in shown["METAFLOW_SKIP_CARD_DUALWRITE"]
    assert shown["METAFLOW_BATCH_JOB_QEUE"].split()[1:3] == ["****", "UNKNOWN"]
    assert "# marked above: 1 UNKNOWN, 1 IGNORED; why, and the fix: on stderr" in result.stdout


def test_a_derived_location_too_long_for_its_room_is_cut_as_the_others_are() -> None:
    """``from A, B`` keeps the settings that fit; where not even the first fits, it is cut at
    its end as a single location is, not left out (the rows below kept ``from DATAST...``)."""
    from metaflow_config.cli._show import _cut_location

    listed = "from DATASTORE_SYSROOT_S3, DATATOOLS_SUFFIX"
    assert _cut_location(listed, 40) == "from DATASTORE_SYSROOT_S3, ..."
    assert _cut_location(listed, 20) == "from DATASTORE_SY..."
    assert _cut_location("from DATASTORE_SYSROOT_S3", 20) == "from DATASTORE_SY..."
    assert _cut_location(listed, 8) == ""  # too short to tell anything
