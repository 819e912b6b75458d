"""Fuzz targets: the profile-file reader and the environment parser.

CI runs each target with the small ``ci`` budget. To fuzz for longer (the budget is per target)::

    HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=200000 .venv/bin/python -m pytest tests/test_fuzz.py -q

Failing inputs are shrunk and kept in ``.hypothesis/`` for the next run. With atheris installed
(``pip install atheris``; it needs clang), the same targets run under libFuzzer, coverage-guided::

    .venv/bin/python -m tests.test_fuzz profile -max_total_time=600
    .venv/bin/python -m tests.test_fuzz env -max_total_time=600
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from metaflow_config import Settings
from metaflow_config._model.table import FIELDS
from metaflow_config._sources.jsonfile import read_json_file
from tests._strategies import (
    check_round_trip,
    check_views,
    json_values,
    place,
    resolve_anything,
)

_NAMES = [f.env for f in FIELDS]

# --- inputs -----------------------------------------------------------------------------------


@st.composite
def _valid_looking_documents(draw: st.DrawFn) -> bytes:
    """A JSON object of real setting names with arbitrary JSON values, in some encoding style."""
    doc = draw(
        st.dictionaries(st.sampled_from(_NAMES) | st.text(max_size=12), json_values, max_size=8)
    )
    text = json.dumps(
        doc, indent=draw(st.sampled_from([None, 2])), ensure_ascii=draw(st.booleans())
    )
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


@st.composite
def _mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    """``base`` with a few random byte flips, insertions, deletions or a truncation."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "duplicate"]))
        at = draw(st.integers(0, len(data)))
        if op == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4) | st.sampled_from(_TOKENS))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "truncate":
            del data[at:]
        elif op == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 40))]
    return bytes(data)


_TOKENS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"\\", b"null", b"NaN", b"1e999", b"\x00"]
profile_bytes = (
    _mutated(_valid_looking_documents()) | st.binary(max_size=256) | _valid_looking_documents()
)

_odd_text = st.sampled_from(
    ["", " ", "\0", "\n", "\r\n", "\udcff", "\x1b[0m", "NaN", "1e400", "[" * 2000, "{}", "null"]
)
env_values = (
    st.text(max_size=40) | _odd_text | st.builds(str.__add__, st.text(max_size=10), _odd_text)
)
env_keys = (
    st.sampled_from(_NAMES)
    | st.sampled_from([f.env for f in FIELDS if f.kind.json_valued])  # parsed from JSON text
    | st.builds(lambda t: "METAFLOW_" + t, st.text(max_size=20))
)
environments = st.dictionaries(
    env_keys | st.sampled_from(["METAFLOW_PROFILE", "METAFLOW_HOME", "METAFLOW_CONFIG_STRICT"]),
    env_values,
    max_size=8,
)

# --- targets ----------------------------------------------------------------------------------


def fuzz_profile(data: bytes) -> None:
    """Resolve a profile file holding ``data``: a snapshot, or a ConfigError naming the file."""
    with place() as where:
        path = os.path.join(where.home, "config.json")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        doc, problems = read_json_file(path, "profile")
        assert doc is not None or problems, "a file neither read nor refused"
        assert all(path in p.setting or path in p.location for p in problems)
        result = resolve_anything({"env": {}, "home": where.home, "cwd": where.elsewhere})
        if isinstance(result, Settings):
            check_views(result)
            check_round_trip(result, where.elsewhere, where.elsewhere)
        else:
            assert all(p.layer == "profile" for p in result.problems)
            assert path in str(result)


def fuzz_env(env: dict[str, str]) -> None:
    """Resolve an environment: a snapshot, or a ConfigError naming each bad variable."""
    with place() as where:
        env = dict(env)
        if "\0" not in env.get("METAFLOW_HOME", ""):  # never the developer's own ~/.metaflowconfig
            env["METAFLOW_HOME"] = where.home
        result = resolve_anything({"env": env, "cwd": where.elsewhere})
        if isinstance(result, Settings):
            check_views(result)
            check_round_trip(result, where.elsewhere, where.elsewhere)
        else:
            for problem in result.problems:
                assert problem.location in env or problem.setting in env, problem
                assert problem.layer in ("env", "profile"), problem


@given(data=profile_bytes)
@example(data=b'{"METAFLOW_SERVICE_RETRY_COUNT": ' + b"9" * 5000 + b"}")  # 4300-digit limit
@example(data=b'{"\\u0000duplicates": 1, "a": 1, "a": 2}')  # an internal marker as a key
@example(data=b'{"METAFLOW_DATATOOLS_SUFFIX": ""}')  # "" in a file: unset, round-trips
def test_fuzz_profile_file(data: bytes) -> None:
    """Random and mutated profile files never raise anything but ConfigError."""
    fuzz_profile(data)


@given(env=environments)
@example(env={"METAFLOW_DATATOOLS_SESSION_VARS": "[" * 5000})  # nested past the recursion limit
@example(env={"METAFLOW_HOME": "/tmp/a\0b", "METAFLOW_PROFILE": "dev"})  # NUL in a path
@example(env={"METAFLOW_PROFILE": "dev\n"})
def test_fuzz_environment(env: dict[str, str]) -> None:
    """Random METAFLOW_* environments never raise anything but ConfigError."""
    fuzz_env(env)


def _atheris_main(argv: list[str]) -> None:  # pragma: no cover - a manual, long run
    try:
        import atheris
    except ImportError:
        sys.stderr.write(
            "atheris is not installed; run the Hypothesis fuzzer instead:\n"
            "  HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=200000 "
            ".venv/bin/python -m pytest tests/test_fuzz.py -q\n"
        )
        raise SystemExit(2) from None
    targets: dict[str, Any] = {"profile": test_fuzz_profile_file, "env": test_fuzz_environment}
    if len(argv) < 2 or argv[1] not in targets:
        sys.stderr.write("usage: python -m tests.test_fuzz {profile|env} [libFuzzer options]\n")
        raise SystemExit(2)
    target = targets[argv[1]]
    atheris.Setup([argv[0], *argv[2:]], target.hypothesis.fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":  # pragma: no cover
    _atheris_main(sys.argv)
