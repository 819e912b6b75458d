"""pydantic-core's compiled validator, loaded alone, and the schemas ``_core`` builds for it.

What ``_core`` promises: the schemas are those ``pydantic_core.core_schema`` builds, a process
that resolves never imports the package ``pydantic_core`` (its 5,000-line Python half), and a
later ``import pydantic_core`` (pydantic, a section, the user's code) is unaffected by that.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import core_schema

from metaflow_config._model import core as _core
from metaflow_config._model import kinds as _kinds
from metaflow_config._model.table import FIELDS


def _plain(value: Any) -> Any:
    return value


def _wrap(value: Any, handler: Any) -> Any:
    return handler(value)


#: each builder of _core, with the arguments the kinds and the resolver call it with
CALLS: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "str_schema": [
        ((), {}),
        ((), {"pattern": "^a$"}),
        ((), {"pattern": "^a$", "max_length": 79}),
        ((), {"pattern": None, "max_length": None}),
        ((), {"pattern": "^b$", "ref": "plain"}),
    ],
    "int_schema": [((), {"ge": 0}), ((), {"ge": 1}), ((), {"strict": True})],
    "nullable_schema": [(({"type": "str"},), {})],
    "any_schema": [((), {})],
    "literal_schema": [((["a", "b"],), {})],
    "chain_schema": [(([{"type": "str"}, {"type": "int"}],), {})],
    "dict_schema": [(({"type": "str"}, {"type": "any"}), {})],
    "list_schema": [(({"type": "str"},), {})],
    "typed_dict_field": [(({"type": "str"},), {"required": False})],
    "typed_dict_schema": [
        (({"a": {"type": "typed-dict-field", "schema": {"type": "int"}}},), {"total": False}),
        (({},), {"total": False, "extra_behavior": "forbid"}),
    ],
    "definitions_schema": [(({"type": "str"}, [{"type": "str", "ref": "x"}]), {})],
    "definition_reference_schema": [(("x",), {})],
    "no_info_before_validator_function": [((_plain, {"type": "str"}), {})],
    "no_info_after_validator_function": [((_plain, {"type": "str"}), {})],
    "no_info_plain_validator_function": [((_plain,), {})],
    "no_info_wrap_validator_function": [((_wrap, {"type": "str"}), {})],
}


def test_every_builder_is_checked() -> None:
    assert set(CALLS) == set(_core.__all__) - {"validator_types"}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_each_builder_builds_what_core_schema_builds(name: str) -> None:
    for args, kwargs in CALLS[name]:
        assert getattr(_core, name)(*args, **kwargs) == getattr(core_schema, name)(*args, **kwargs)


@pytest.mark.parametrize("shared", [False, True])
def test_every_kind_of_the_table_has_the_schema_core_schema_gives(
    shared: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    ours = {f.name: f.kind.core_schema(shared=shared) for f in FIELDS}
    monkeypatch.setattr(_kinds, "_cs", lambda: core_schema)
    theirs = {f.name: f.kind.core_schema(shared=shared) for f in FIELDS}
    assert ours == theirs
    assert _kinds.plain_definition() == core_schema.str_schema(
        pattern=_kinds._PLAIN_PATTERN, ref=_kinds.PLAIN_REF
    )


def test_the_classes_are_the_packages() -> None:
    import pydantic_core

    assert _core.validator_types() == (pydantic_core.SchemaValidator, pydantic_core.ValidationError)


def _run(code: str, tmp_path: Path) -> Any:
    env = {"HOME": str(tmp_path), "METAFLOW_HOME": str(tmp_path / "home"), "PATH": "/usr/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


#: what resolving, then importing pydantic (as a section or the user's code would), shows
_RESOLVE_THEN_PYDANTIC = """
import json, os, sys
os.environ["METAFLOW_BATCH_JOB_QUEUE"] = "queue"
import metaflow_config
from metaflow_config._model import core as _core
before = metaflow_config.load().batch.job_queue
loaded = sorted(m for m in ("pydantic_core", "pydantic_core._pydantic_core", "typing_extensions")
                if m in sys.modules)
os.environ["METAFLOW_CLIENT_CACHE_MAX_SIZE"] = "many"
try:
    metaflow_config.load()
except metaflow_config.ConfigError as exc:
    refused = exc.problems[0].setting
import pydantic_core, pydantic

class Model(pydantic.BaseModel):
    count: int

try:
    pydantic_core.SchemaValidator({"type": "int"}).validate_python("x")
except pydantic_core.ValidationError:
    caught = True
print(json.dumps({
    "before": before, "loaded": loaded, "refused": refused, "caught": caught,
    "bound": pydantic_core._pydantic_core is sys.modules["pydantic_core._pydantic_core"],
    "same": list(_core.validator_types()) == [pydantic_core.SchemaValidator,
                                              pydantic_core.ValidationError],
    "model": Model(count="3").count,
}))
"""


def test_resolving_imports_no_pydantic_core_package_and_leaves_it_importable(
    tmp_path: Path,
) -> None:
    assert _run(_RESOLVE_THEN_PYDANTIC, tmp_path) == {
        "before": "queue",
        "loaded": [],  # not the package, not even the compiled module's name
        "refused": "METAFLOW_CLIENT_CACHE_MAX_SIZE",
        "caught": True,
        "bound": True,  # the package's own import entered and bound its compiled module
        "same": True,
        "model": 3,
    }


def test_the_package_is_imported_when_the_compiled_module_cannot_be_found_alone(
    tmp_path: Path,
) -> None:
    code = (
        "import importlib.util, json, sys\n"
        "find = importlib.util.find_spec\n"  # the import system itself does not call it
        "importlib.util.find_spec = lambda n, *a: None if n == 'pydantic_core' else find(n, *a)\n"
        "import metaflow_config\n"
        # text that is not ASCII: pydantic-core validates it (see _model.quick)
        "metaflow_config.load(env={'METAFLOW_USER': 'jos\\u00e9'})\n"
        "print(json.dumps('pydantic_core' in sys.modules))\n"
    )
    assert _run(code, tmp_path) is True


def test_an_imported_package_is_used_as_it_is(tmp_path: Path) -> None:
    code = (
        "import json, sys\n"
        "import pydantic_core\n"
        "from metaflow_config._model import core as _core\n"
        "print(json.dumps(_core._compiled() is sys.modules['pydantic_core._pydantic_core']))\n"
    )
    assert _run(code, tmp_path) is True


_ITEMS = st.text(
    alphabet=["a", " ", "\t", "\x01", "\x7f", "\x85", "é", "\u2028", "\ud800"], max_size=3
)


def _outcome(validator: Any, value: Any) -> Any:
    """What a validator gives for ``value``: the value, or where and why it refuses it."""
    from pydantic_core import ValidationError

    try:
        return validator.validate_python(value)
    except ValidationError as exc:
        return [(e["loc"], e["type"]) for e in exc.errors()]


@given(st.one_of(st.lists(_ITEMS, max_size=4), st.dictionaries(_ITEMS, _ITEMS, max_size=4)))
def test_strings_checked_at_once_are_what_the_check_of_each_gives(value: Any) -> None:
    """A JSON list or object of strings checked in one C pass (plain ASCII) gives exactly what
    the check string by string gives: the same value, or the same errors at the same places."""
    from pydantic_core import SchemaValidator

    plain = core_schema.str_schema(pattern=_kinds._PLAIN_PATTERN)
    for kind, exact in [
        (_kinds.STR_LIST, core_schema.list_schema(plain)),
        (_kinds.STR_DICT, core_schema.dict_schema(plain, plain)),
    ]:
        ours = SchemaValidator(kind.core_schema())
        theirs = SchemaValidator(core_schema.chain_schema([core_schema.any_schema(), exact]))
        assert _outcome(ours, value) == _outcome(theirs, value)


@given(
    st.one_of(
        st.dictionaries(st.one_of(_ITEMS, st.integers()), st.lists(_ITEMS, max_size=2)),
        st.lists(_ITEMS, max_size=2),
    ),
    st.booleans(),
)
def test_a_json_object_checked_at_once_is_what_the_check_of_each_key_gives(
    value: Any, frozen: bool
) -> None:
    """A JSON object's keys checked in one C pass give what pydantic-core's check of each key
    gives (a value read frozen is kept as it is: equal, and no copy)."""
    from pydantic_core import SchemaValidator

    from metaflow_config._model.values import FrozenDict

    if frozen and isinstance(value, dict):
        value = FrozenDict(value)
    exact = core_schema.dict_schema(core_schema.str_schema(), core_schema.any_schema())
    ours = SchemaValidator(_kinds.JSON_OBJECT.core_schema())
    theirs = SchemaValidator(core_schema.chain_schema([core_schema.any_schema(), exact]))
    assert _outcome(ours, value) == _outcome(theirs, value)
