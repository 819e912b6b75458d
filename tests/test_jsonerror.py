"""JSON mistakes in config files: located and named from the text, the same on every Python."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaflow_config import ConfigError, load
from metaflow_config._model.jsonerror import locate

#: (file text, line, column, hint, the line as shown, what the caret is under)
CASES = [
    pytest.param(
        '{"A": "q",}', 1, 10, "a trailing comma", '{"A": "****",}', ",}", id="trailing-comma-object"
    ),
    pytest.param(
        '{"A": [1, 2,]}',
        1,
        12,
        "a trailing comma",
        '{"A": [****, ****,]}',
        ",]",
        id="trailing-comma-array",
    ),
    pytest.param(
        "{'A': 'q'}",
        1,
        2,
        "single quotes are not JSON",
        "{'****': '****'}",
        "'*",
        id="single-quotes",
    ),
    pytest.param(
        '{\n  // a note\n  "A": 1\n}',
        2,
        3,
        "comments are not JSON",
        "//****",
        "//",
        id="line-comment",
    ),
    pytest.param(
        '{"A": 1 /* x */}',
        1,
        9,
        "comments are not JSON",
        '{"A": **** /******/}',
        "/*",
        id="block-comment",
    ),
    pytest.param(
        "{\n  # a note\n}", 2, 3, "comments are not JSON", "#****", "#*", id="hash-comment"
    ),
    pytest.param('{"A": "q\n}', 1, 7, "a missing quote?", '{"A": "****', '"*', id="missing-quote"),
    pytest.param(
        '{A: "q"}', 1, 2, "keys must be in double quotes", '{****: "****"}', "**", id="unquoted-key"
    ),
    pytest.param(
        '{"A": 1 "B": 2}',
        1,
        9,
        "a comma is missing",
        '{"A": **** "****": ****}',
        '"*',
        id="missing-comma",
    ),
    pytest.param(
        '{\n "METAFLOW_A": "s3://b/mf"\n "METAFLOW_B": "q"\n}',
        3,
        2,
        "a comma is missing at the end of line 2, before this",
        '"METAFLOW_B": "****"',  # a setting's name opening the line: the key
        '"M',
        id="missing-comma-at-a-line-end",
    ),
    pytest.param('{"A" 1}', 1, 6, "a ':' is missing", '{"A" ****}', "**", id="missing-colon"),
    pytest.param(
        '{"A": True}',
        1,
        7,
        "a bare word is not a JSON value",
        '{"A": ****}',
        "**",
        id="python-true",
    ),
    pytest.param(
        '{"A": NaN}', 1, 7, "NaN is not a JSON number", '{"A": ****}', "**", id="python-nan"
    ),
    pytest.param(
        "METAFLOW_A=1\nMETAFLOW_B=2\n",
        1,
        1,
        "NAME=value lines are not JSON: the file is one JSON object",
        "****",
        "*",
        id="dotenv",
    ),
    pytest.param(
        '{"A": -Infinity}',
        1,
        7,
        "-Infinity is not a JSON number",
        '{"A": ****}',
        "**",
        id="python-minus-infinity",
    ),
    pytest.param('{"A": 1', 1, 8, "the file ends early", '{"A": ****', "", id="unclosed"),
    pytest.param('{"A": 1}}', 1, 9, "text after the end", '{"A": ****}}', "}", id="extra-brace"),
    pytest.param(
        '{"A": [1}', 1, 9, "} does not close an array", '{"A": [****}', "}", id="mismatched"
    ),
    pytest.param(
        '{"A": "a\\qb"}', 1, 9, "an invalid escape", '{"A": "****"}', '"*', id="bad-escape"
    ),
    pytest.param('{"A": "a\tb"}', 1, 9, "a control character", '{"A": "****"}', '"*', id="raw-tab"),
]


@pytest.mark.parametrize(("text", "line", "column", "hint", "shape", "under"), CASES)
def test_common_mistakes_are_located_and_named(
    tmp_path: Path, text: str, line: int, column: int, hint: str, shape: str, under: str
) -> None:
    """File, line and column, the line's shape with a caret, a hint, a fix that keeps the file.

    The line is shown without its values: its punctuation and top-level key names only.
    """
    home = tmp_path / "home"
    home.mkdir()
    path = home / "config.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(env={}, home=home, cwd=tmp_path)
    (problem,) = info.value.problems
    assert problem.setting == str(path)
    assert f"line {line}, column {column}: " in problem.expected
    assert hint in problem.expected
    shown, caret = problem.expected.splitlines()[1:3]
    assert shown.strip() == shape
    assert shown[caret.index("^") :].startswith(under)
    assert caret[: caret.index("^")].strip() == ""
    fixed = line - 1 if "end of line" in hint else line  # where the comma goes
    assert (
        problem.fix
        == f"correct line {fixed} of the file (nothing of a file that is not JSON is applied)"
    )
    assert "remove" not in problem.fix
    assert "\n    Fix: " in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("{\"METAFLOW_SERVICE_AUTH_KEY\": 'hunter2'}", id="single-quoted-secret"),
        pytest.param('{"METAFLOW_SERVICE_AUTH_KEY":\n  "hunter2\n}', id="open-secret-next-line"),
        pytest.param('{"METAFLOW_SERVICE_HEADERS": {"x-api-key": hunter2}}', id="secret-map"),
        pytest.param('{"METAFLOW_SERVICE_AUTH_KEYY": "hunter2", // k\n}', id="misspelled-secret"),
        pytest.param('{"metaflow_service_auth_key": "hunter2", }', id="lower-case-secret"),
        pytest.param('{"METAFLOW_VAULT_TOKEN": "hunter2" // a section\n}', id="registered-secret"),
        pytest.param('{"METAFLOW_SERVICE_AUTH_\\u004bEY": "hunter2",}', id="escaped-name"),
        pytest.param(
            '{"METAFLOW_SERVICE_AUTH_KEY":\n   "hunter2", "METAFLOW_BATCH_JOB_QUEUE": \'q\'}',
            id="next-line-after-secret",
        ),
        pytest.param('{"METAFLOW_SERVICE_URL": "https://u:hunter2@h/x",}', id="url-password"),
        pytest.param('{"METAFLOW_BATCH_JOB_QUEUE": hunter2}', id="bare-word"),
        pytest.param('{"METAFLOW_BATCH_JOB_QUEUE": 1 /* hunter2 */}', id="comment"),
        pytest.param("PATH=/bin\0AWS_SECRET_ACCESS_KEY=hunter2\0HOME=/", id="not-json-at-all"),
    ],
)
def test_no_value_of_a_file_is_shown(tmp_path: Path, text: str) -> None:
    """Whatever the line holds (a secret written in any way, a file that is not JSON at all, a
    symlink to another file), the excerpt shows its shape: no value, no comment (top-level keys
    written as plain names are shown: they are settings' names).
    """
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(env={}, home=home, cwd=tmp_path)
    assert "hunter2" not in str(info.value)
    assert "line 1" in str(info.value) or "line 2" in str(info.value)


def test_control_characters_of_a_line_are_not_shown(tmp_path: Path) -> None:
    """A terminal escape in a broken file (a key, a bare word) reaches no terminal."""
    home = tmp_path / "home"
    home.mkdir()
    text = '{"METAFLOW_X\x1b]52;c;cHduZWQ=\x07": 1, \x1b[2J,}'
    (home / "config.json").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(env={}, home=home, cwd=tmp_path)
    message = str(info.value)
    assert "\x1b" not in message
    assert "\x07" not in message
    assert "line 1" in message


_JSONISH = st.text(alphabet="{}[]:,\"'\\ \n\t/*#-+.0123456789eEtrufalsnAB_x", max_size=40)


@given(_JSONISH)
def test_the_scan_agrees_with_json_on_what_is_json(text: str) -> None:
    """Whatever Python's json rejects, the scan locates a mistake; what it accepts, none."""
    try:
        json.loads(text)
    except ValueError:
        mistake = locate(text)
        assert mistake is not None
        assert 0 <= mistake.pos <= len(text)
    else:
        assert locate(text) is None


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_valid_json_has_no_mistake(value: object) -> None:
    """Every JSON document Python writes (any indent) scans clean."""
    assert locate(json.dumps(value)) is None
    assert locate(json.dumps(value, indent=2)) is None


def test_deep_nesting_is_scanned_without_recursion() -> None:
    """A 100,000-deep array is scanned iteratively (no RecursionError)."""
    assert locate("[" * 100_000) is not None
    assert locate("[" * 100_000 + "]" * 100_000) is None
