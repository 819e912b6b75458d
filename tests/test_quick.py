"""The validation in Python (``_model.quick``): what it accepts, pydantic-core accepts alike.

The one property it must hold is one-sided: every value :func:`in_python` accepts, the table's
pydantic-core validator accepts too, giving an equal value of the same type (what it refuses,
pydantic-core judges, with its messages). Checked kind by kind on the table's valid values, on
text drawn from each kind's patterns and near misses of it, and on values of every JSON type;
the patterns themselves are checked against pydantic-core's regex engine on ASCII text both
ways. And the point of it: a task whose settings are plain text never loads pydantic-core.
"""

from __future__ import annotations

import json
import os
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from metaflow_config._model import core, quick
from metaflow_config._model.fields import Setting
from metaflow_config._model.table import FIELDS
from metaflow_config._resolve import validate
from tests._strategies import value_triples

#: One setting of each kind (the kind is what is validated)
_BY_KIND = list({id(f.kind): f for f in FIELDS}.values())

#: ASCII text without control characters, a tab among them: all that quick judges
_PRINTABLE = string.printable.replace("\n", "").replace("\r", "").replace("\x0b", "")
_PRINTABLE = _PRINTABLE.replace("\x0c", "")


def _patterns(schema: Any) -> list[str]:
    """The patterns of the string schemas in ``schema``."""
    found: list[str] = []
    pending = [schema]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if item.get("type") == "str" and "pattern" in item:
                found.append(item["pattern"])
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return found


def _near(text: str) -> st.SearchStrategy[str]:
    """``text`` with one character put in, taken out or changed (a near miss of a pattern)."""
    spots = st.integers(0, len(text))
    chars = st.sampled_from([*_PRINTABLE, "\n", "\x00", "\x85", "é", "\u2028"])
    return st.one_of(
        st.just(text + text[-1:] * 300),  # past a length at most
        st.builds(lambda i, c: text[:i] + c + text[i:], spots, chars),
        st.builds(lambda i: text[:i] + text[i + 1 :], spots),
        st.builds(lambda i, c: text[:i] + c + text[i + 1 :], spots, chars),
    )


def _from_pattern(pattern: str) -> st.SearchStrategy[str]:
    """Text of ``pattern`` in :data:`_PRINTABLE`, else any printable text (an older hypothesis,
    6.141 on CPython 3.9, refuses an alphabet lacking part of a negated class's range)."""
    drawn = st.from_regex(pattern, alphabet=_PRINTABLE)
    try:
        drawn.validate()
    except Exception:  # its error type is private, and moved between versions
        return st.text(alphabet=_PRINTABLE, min_size=1, max_size=30)
    return drawn


def _values(setting: Setting) -> st.SearchStrategy[Any]:
    """Values of every shape for ``setting``: valid ones, text near its patterns, any JSON."""
    triples = value_triples(setting)
    from_patterns = [
        _from_pattern(pattern).flatmap(lambda text: st.one_of(st.just(text), _near(text)))
        for pattern in _patterns(setting.kind.core_schema(shared=True))
    ]
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
    )
    return st.one_of(
        triples.map(lambda t: t[0]),  # as a file holds it
        triples.map(lambda t: t[1]),  # as the environment holds it
        *from_patterns,
        st.text(alphabet=_PRINTABLE, max_size=30),
        st.text(max_size=12),
        st.integers(-5, 10**20).map(str),
        scalars,
        st.lists(scalars, max_size=3),
        st.dictionaries(st.text(max_size=4), scalars, max_size=3),
        st.binary(max_size=6),
    )


@pytest.mark.parametrize("setting", _BY_KIND, ids=[f.kind.name for f in _BY_KIND])
@hypothesis_settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_python_accepts_pydantic_core_accepts_alike(setting: Setting, data: Any) -> None:
    validator, error = validate._build_validator(frozenset({setting.name}))
    value = data.draw(_values(setting))
    ours = validate.in_python({setting.name: value})
    if ours is None:
        return  # pydantic-core judges it: nothing to compare
    try:
        theirs = validator.validate_python({setting.name: value})
    except error as exc:
        pytest.fail(f"{setting.kind.name}: Python took {value!r}, pydantic-core refuses: {exc}")
    assert type(ours[setting.name]) is type(theirs[setting.name])
    assert ours == theirs


_TEXT_KINDS = [f for f in _BY_KIND if f.kind.text]


@pytest.mark.parametrize("setting", _TEXT_KINDS, ids=[f.kind.name for f in _TEXT_KINDS])
@hypothesis_settings(max_examples=25)
@given(data=st.data())
def test_valid_ascii_text_is_validated_in_python(setting: Setting, data: Any) -> None:
    """The point of it: a text kind's valid plain ASCII value needs no pydantic-core."""
    _, env_raw, _ = data.draw(value_triples(setting))
    if not (isinstance(env_raw, str) and all(c in _PRINTABLE for c in env_raw)):
        return
    assert validate.in_python({setting.name: env_raw}) == {setting.name: env_raw}


_ALL_PATTERNS = sorted({p for f in FIELDS for p in _patterns(f.kind.core_schema(shared=True))})


@pytest.mark.parametrize("pattern", _ALL_PATTERNS)
@hypothesis_settings(max_examples=40)
@given(data=st.data())
def test_patterns_match_ascii_text_as_pydantic_cores_regex_engine(pattern: str, data: Any) -> None:
    """Python's ``re`` and pydantic-core's engine agree, both ways, on the text quick judges."""
    drawn = data.draw(_from_pattern(pattern))
    text = data.draw(st.one_of(st.just(drawn), _near(drawn), st.text(alphabet=_PRINTABLE)))
    if not all(c in _PRINTABLE for c in text) or len(text) > quick.LONGEST:
        return  # not what quick judges: pydantic-core does
    validator_type, error = core.validator_types()
    theirs = validator_type(core.str_schema(pattern=pattern))
    try:
        theirs.validate_python(text)
    except error:
        taken = False
    else:
        taken = True
    schema = core.str_schema(pattern=pattern)
    try:
        quick.quick(schema, text, {})
    except quick.Unsure:
        ours = False
    else:
        ours = True
    assert ours == taken, f"{pattern!r} on {text!r}: Python {ours}, pydantic-core {taken}"


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "str"}, "caf\u00e9"),  # not ASCII: Unicode classes differ between the engines
        ({"type": "str"}, "line\n"),  # '$' before a final line break: differs too
        ({"type": "str"}, "\x00"),
        ({"type": "str"}, "a" * (quick.LONGEST + 1)),  # Python's re backtracks: left to Rust's
        ({"type": "str"}, b"bytes"),  # pydantic-core reads bytes as text: left to it
        ({"type": "str"}, type("Text", (str,), {})("sub")),
        ({"type": "str", "min_length": 3}, "ab"),  # a check quick does not make
        ({"type": "str", "max_length": 2}, "abc"),
        ({"type": "int"}, True),
        ({"type": "int"}, "+1"),
        ({"type": "int"}, " 1"),
        ({"type": "int"}, "1_000"),
        ({"type": "int"}, "1" * 19),
        ({"type": "int", "strict": True}, "1"),
        ({"type": "int", "ge": 0}, -1),
        ({"type": "literal", "expected": ["a"]}, "A"),
        ({"type": "list", "items_schema": {"type": "str"}}, ["a"]),
        ({"type": "dict"}, {}),
    ],
)
def test_what_python_cannot_judge_exactly_is_left_to_pydantic_core(schema: Any, value: Any) -> None:
    with pytest.raises(quick.Unsure):
        quick.quick(schema, value, {})


def test_a_wrap_function_that_swallows_a_refusal_still_leaves_the_value_to_pydantic_core() -> None:
    def swallow(value: Any, handler: Any) -> Any:
        try:
            return handler(value)
        except Exception:  # what a validator function might do
            return "fallback"

    schema = core.no_info_wrap_validator_function(swallow, {"type": "str"})
    assert quick.quick(schema, "ok", {}) == "ok"
    with pytest.raises(quick.Unsure):
        quick.quick(schema, "caf\u00e9", {})


def test_a_function_that_raises_leaves_the_value_to_pydantic_core() -> None:
    def refuse(value: Any) -> Any:
        raise ValueError(value)

    with pytest.raises(quick.Unsure) as caught:
        quick.quick(core.no_info_plain_validator_function(refuse), "x", {})
    assert caught.value.__suppress_context__  # the function's error (the value) is not shown


#: A task's process: a profile of the usual settings, then ``import metaflow``
_TASK = """
import json, sys
import metaflow
from metaflow_config._model import core
from metaflow_config._resolve import validate
from metaflow_config import settings
print(json.dumps({
    "loaded": core._compiled.cache_info().currsize,
    "built": len(validate._BUILT),
    "queue": settings.batch.job_queue,
    "modules": sorted(m for m in sys.modules if m.startswith("pydantic")),
}))
"""


@pytest.mark.slow
def test_a_task_whose_settings_are_plain_text_never_loads_pydantic_core(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    profile = {
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DEFAULT_METADATA": "service",
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://bucket/metaflow",
        "METAFLOW_SERVICE_URL": "https://metadata.example.com/api",
        "METAFLOW_BATCH_JOB_QUEUE": "arn:aws:batch:us-west-2:123456789012:job-queue/q",
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": "arn:aws:iam::123456789012:role/batch",
        "METAFLOW_SFN_DYNAMO_DB_TABLE": "sfn-table",
    }
    (home / "config.json").write_text(json.dumps(profile))
    (home / "config.json").chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")}
    env.update(METAFLOW_HOME=str(home), METAFLOW_RUN_MAX_WORKERS="4", METAFLOW_USER="task")
    out = subprocess.run(
        [sys.executable, "-c", _TASK],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "loaded": 0,
        "built": 0,
        "queue": profile["METAFLOW_BATCH_JOB_QUEUE"],
        "modules": [],
    }
