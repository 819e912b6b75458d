"""A profile holding many objects is read frozen as it is parsed: the same values, problems and
bounds as reading it plainly and freezing afterwards (``jsonfile.read_json_file(frozen=True)``)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaflow_config import ConfigError, ConfigWarning, FrozenDict, load
from metaflow_config._model.jsontext import nests_within
from metaflow_config._model.values import MAX_JSON_DEPTH, freeze
from metaflow_config._sources.jsonfile import read_json_file

#: Text that JSON writes with escapes, brackets and quotes inside strings, and non-ASCII
_TEXT = st.text(alphabet=['"', "\\", "[", "]", "{", "}", ":", "a", "é", "\n", "\u2028"], max_size=4)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=30,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """An empty METAFLOW_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def _depth(value: Any) -> int:
    """How many objects and arrays ``value`` nests (a leaf is 0)."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


@given(_JSON, st.booleans())
def test_the_depth_of_a_text_is_told_without_parsing_it(value: Any, ascii_only: bool) -> None:
    """``nests_within`` says what the parsed value's depth says, whatever its strings hold."""
    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    depth = _depth(value)
    for levels in {0, max(depth - 1, 0), depth, depth + 1}:
        assert nests_within(data, levels) is (depth <= levels), (data, levels)


def _many_objects(value: Any) -> dict[str, Any]:
    """A profile setting ``DATATOOLS_SESSION_VARS`` to ``value``, with enough objects in it to be
    read frozen (more than a handful)."""
    return {
        "METAFLOW_DATATOOLS_SESSION_VARS": {"value": value, **{f"k{i}": {} for i in range(70)}},
        "METAFLOW_SPIN_ALLOWED_DECORATORS": ["a", "b"],
    }


def _frozen_all_the_way(value: Any) -> bool:
    """Whether ``value``'s objects are FrozenDicts and its arrays tuples, all the way down."""
    if isinstance(value, dict):
        return isinstance(value, FrozenDict) and all(map(_frozen_all_the_way, value.values()))
    if isinstance(value, (list, tuple)):
        return type(value) is tuple and all(map(_frozen_all_the_way, value))
    return True


@given(_JSON)
def test_a_document_read_frozen_is_the_plain_read_frozen(tmp_path_factory: Any, value: Any) -> None:
    """Read frozen, each value of a document equals the plain read's value frozen afterwards,
    and its objects and arrays are FrozenDicts and tuples all the way down."""
    path = tmp_path_factory.mktemp("frozen") / "config.json"
    path.write_text(json.dumps(_many_objects(value)), encoding="utf-8")
    frozen, problems = read_json_file(str(path), "profile", frozen=True)
    plain, plain_problems = read_json_file(str(path), "profile")
    assert problems == plain_problems == []
    assert frozen is not None
    assert plain is not None
    assert type(frozen) is FrozenDict
    assert type(plain) is dict
    assert frozen == {key: freeze(item) for key, item in plain.items()}
    assert _frozen_all_the_way(frozen)


def test_a_resolution_holds_a_value_read_frozen_frozen(home: Path) -> None:
    """The snapshot holds what the frozen read built: arrays inside objects are tuples."""
    profile = _many_objects({"items": [1, [2, {"deep": ["x"]}]], "on": True})
    (home / "config.json").write_text(json.dumps(profile), encoding="utf-8")
    (home / "config.json").chmod(0o600)
    held = load(env={}, home=str(home))["METAFLOW_DATATOOLS_SESSION_VARS"]
    inner = FrozenDict({"deep": ("x",)})
    assert held["value"] == FrozenDict({"items": (1, (2, inner)), "on": True})
    assert _frozen_all_the_way(held)
    with pytest.raises(TypeError):
        held["value"]["items"][1][1]["deep"] += ("y",)  # type: ignore[index]


def test_a_key_given_twice_is_a_problem_in_a_document_read_frozen(home: Path) -> None:
    """A key given twice inside a value of a document read frozen is reported, by the setting
    holding it (never by its own name: a secret's keys are secret)."""
    body = json.dumps(_many_objects({"a": 1}))
    body = body.replace('{"a": 1}', '{"a": 1, "a": [2]}')
    path = home / "config.json"
    path.write_text(body, encoding="utf-8")
    doc, problems = read_json_file(str(path), "profile", frozen=True)
    assert type(doc) is FrozenDict
    assert [p.expected for p in problems] == [
        "each key once in every object, found a key given twice inside (not named: the keys of "
        "a value may be a secret's)"
    ]
    assert [p.location for p in problems] == [f"{path}:METAFLOW_DATATOOLS_SESSION_VARS"]
    assert doc["METAFLOW_DATATOOLS_SESSION_VARS"]["value"] == {"a": (2,)}  # the last, as json


@pytest.mark.parametrize("extra", [0, 1], ids=["at-the-cap", "past-the-cap"])
def test_a_document_nested_past_the_cap_is_bounded_as_before(home: Path, extra: int) -> None:
    """A document with many objects and a value nested to the cap resolves (read frozen); one
    level more is the problem of the setting, as freezing it afterwards says."""
    value: Any = "leaf"
    for level in range(MAX_JSON_DEPTH - 1 + extra):  # the value's own object is one more
        value = [value] if level % 2 else {"next": value}
    path = home / "config.json"
    path.write_text(json.dumps(_many_objects(value)), encoding="utf-8")
    path.chmod(0o600)
    doc, _ = read_json_file(str(path), "profile", frozen=True)
    assert (type(doc) is FrozenDict) is (extra == 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConfigWarning)
        if extra == 0:
            load(env={}, home=str(home))
            return
        with pytest.raises(ConfigError, match="nested at most 64 levels deep") as info:
            load(env={}, home=str(home))
    assert [p.setting for p in info.value.problems] == ["METAFLOW_DATATOOLS_SESSION_VARS"]
