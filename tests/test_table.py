"""The settings table against Metaflow's source, and its own invariants."""

from __future__ import annotations

import ast
import importlib.util
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import pytest

from metaflow_config import load
from metaflow_config._model import kinds as _kinds
from metaflow_config._model.table import BY_ENV, BY_NAME, DEBUG_OPTIONS, FIELDS, SECTIONS

#: Settings the table declares that Metaflow's module does not read with from_conf (none today).
TABLE_ONLY: dict[str, str] = {}

#: The Python type each kind validates to (choices are strings).
KIND_TYPES: dict[_kinds.Kind, frozenset[Any]] = {
    _kinds.STR: frozenset({str}),
    _kinds.PATH: frozenset({str}),
    _kinds.URL: frozenset({str}),
    _kinds.AWS_ENDPOINT: frozenset({str}),
    _kinds.S3_URL: frozenset({str}),
    _kinds.GS_URL: frozenset({str}),
    _kinds.AZURE_ROOT: frozenset({str}),
    _kinds.IAM_ROLE_ARN: frozenset({str}),
    _kinds.LOG_GROUP_ARN: frozenset({str}),
    _kinds.DYNAMO_TABLE: frozenset({str}),
    _kinds.SFN_NAME_PREFIX: frozenset({str}),
    _kinds.PLUGIN_NAME: frozenset({str}),
    _kinds.QUANTITY: frozenset({str}),
    _kinds.QOS_CLASS: frozenset({str}),
    _kinds.COMMA_LIST: frozenset({str}),
    _kinds.COMMA_NAMES: frozenset({str}),
    _kinds.SPACE_LIST: frozenset({str}),
    _kinds.KEY_VALUE_LIST: frozenset({str}),
    _kinds.TOLERATIONS: frozenset({str}),
    _kinds.VOLUME_CLAIMS: frozenset({str}),
    _kinds.NAME_LIST: frozenset({str}),
    _kinds.BOOL: frozenset({bool}),
    _kinds.INT: frozenset({int}),
    _kinds.NONNEG_INT: frozenset({int}),
    _kinds.SERVICE_RETRIES: frozenset({int}),
    _kinds.S3_RETRIES: frozenset({int}),
    _kinds.S3_TRANSIENT_RETRIES: frozenset({int}),
    _kinds.S3_WORKERS: frozenset({int}),
    _kinds.VERIFY: frozenset({bool, str}),
    _kinds.STR_DICT: frozenset({Mapping[str, str]}),
    _kinds.TAGS: frozenset({Mapping[str, str]}),
    _kinds.HEADERS: frozenset({Mapping[str, str]}),
    _kinds.JSON_OBJECT: frozenset({Mapping[str, Any]}),
    _kinds.CLIENT_PARAMS: frozenset({Mapping[str, Any]}),
    _kinds.RETRY_CONFIG: frozenset({Mapping[str, Any]}),
    _kinds.STR_LIST: frozenset({tuple[str, ...]}),
}


def metaflow_source() -> ast.Module:
    """The installed ``metaflow/metaflow_config.py``, parsed (not imported)."""
    spec = importlib.util.find_spec("metaflow")
    assert spec is not None
    assert spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / "metaflow_config.py"
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def metaflow_debug_options(tree: ast.Module) -> list[str]:
    """The literal ``DEBUG_OPTIONS = [...]`` of Metaflow's module."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DEBUG_OPTIONS" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return [str(v) for v in value]
    raise AssertionError("DEBUG_OPTIONS not found in metaflow_config.py")


def metaflow_from_conf_names() -> set[str]:
    """Every name Metaflow's module reads with ``from_conf``, the DEBUG_* family included."""
    tree = metaflow_source()
    names: set[str] = set()
    dynamic = 0
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "from_conf"
        ):
            continue
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
        else:  # from_conf("DEBUG_%s" % typ.upper(), False) in the DEBUG_OPTIONS loops
            assert isinstance(first, ast.BinOp), ast.dump(first)
            assert isinstance(first.left, ast.Constant), ast.dump(first)
            assert first.left.value == "DEBUG_%s"
            dynamic += 1
    assert dynamic, "the DEBUG_* loop was not found"
    names.update("DEBUG_" + option.upper() for option in metaflow_debug_options(tree))
    return names


def test_table_declares_exactly_metaflows_from_conf_names() -> None:
    """The table holds every from_conf name of Metaflow's module, and nothing else undocumented."""
    theirs = metaflow_from_conf_names()
    ours = set(BY_NAME)
    assert sorted(theirs - ours) == []
    assert sorted(ours - theirs) == sorted(TABLE_ONLY)


def test_debug_options_match_metaflow() -> None:
    """DEBUG_OPTIONS and the Debug section list Metaflow's debug switches, in its order."""
    theirs = metaflow_debug_options(metaflow_source())
    assert list(DEBUG_OPTIONS) == theirs
    debug = dict(SECTIONS)["debug"]
    assert [f.name for f in debug.fields] == ["DEBUG_" + o.upper() for o in theirs]


def test_every_setting_has_doc_section_and_unique_names() -> None:
    """Each setting has a one-line doc, a section, and env names and aliases no other one uses."""
    envs = [f.env for f in FIELDS]
    aliases = [a for f in FIELDS for a in f.aliases]
    assert len(set(envs)) == len(envs)
    assert len(set(envs + aliases)) == len(envs) + len(aliases)
    assert all(e.startswith("METAFLOW_") for e in envs + aliases)
    section_names = {cls.__name__ for _, cls in SECTIONS}
    for f in FIELDS:
        assert f.doc.strip(), f.env
        assert "\n" not in f.doc, f.env
        assert f.section in section_names, f.env
        assert f.attr, f.env
    for attr, cls in SECTIONS:
        assert cls.__doc__, attr
        attrs = [f.attr for f in cls.fields]
        assert len(set(attrs)) == len(attrs), attr
        assert all(f.section == cls.__name__ for f in cls.fields), attr
    assert len(FIELDS) == len(BY_NAME)


@pytest.mark.parametrize("name", ["SERVICE_AUTH_KEY", "SERVICE_HEADERS", "AWS_SANDBOX_API_KEY"])
def test_secrets_are_flagged(name: str) -> None:
    """Credentials are flagged secret, so every display masks them."""
    assert BY_NAME[name].secret


def test_job_queue_name_is_an_alias_of_batch_job_queue(tmp_path: Path) -> None:
    """METAFLOW_JOB_QUEUE_NAME resolves to BATCH_JOB_QUEUE, below the setting's own name."""
    field = BY_NAME["BATCH_JOB_QUEUE"]
    assert BY_ENV["METAFLOW_JOB_QUEUE_NAME"] is field
    s = load(env={"METAFLOW_JOB_QUEUE_NAME": "my-queue"}, home=tmp_path, cwd=tmp_path)
    assert s.batch.job_queue == "my-queue"
    assert s.explain("METAFLOW_BATCH_JOB_QUEUE").location == "METAFLOW_JOB_QUEUE_NAME"
    both = {"METAFLOW_JOB_QUEUE_NAME": "alias", "METAFLOW_BATCH_JOB_QUEUE": "own"}
    assert load(env=both, home=tmp_path, cwd=tmp_path).batch.job_queue == "own"


def _members(annotation: Any) -> set[Any]:
    if typing.get_origin(annotation) in (Union, types.UnionType):
        return set(typing.get_args(annotation))
    return {annotation}


@pytest.mark.skipif(sys.version_info < (3, 10), reason="`X | None` evaluates from Python 3.10")
def test_annotations_agree_with_kinds(tmp_path: Path) -> None:
    """Each accessor's annotation is its kind's type, Optional exactly when it can be unset."""
    empty = load(env={}, home=tmp_path, cwd=tmp_path)
    for attr, cls in SECTIONS:
        hints = typing.get_type_hints(cls)
        for f in cls.fields:
            expected = set(KIND_TYPES[f.kind]) if not f.kind.choices else {str}
            members = _members(hints[f.attr])
            nullable = empty[f.env] is None
            assert members - {type(None)} == expected, f"{attr}.{f.attr} ({f.env})"
            assert (type(None) in members) == nullable, f"{attr}.{f.attr} ({f.env})"


def test_every_kind_has_a_type() -> None:
    """Every kind the table uses is mapped above, so the annotation test sees every setting."""
    unmapped = {f.env for f in FIELDS if f.kind not in KIND_TYPES and not f.kind.choices}
    assert not unmapped


def test_the_table_only_declares() -> None:
    """The table modules import nothing of the snapshot, its views or the requirements."""
    import ast

    package = Path(__file__).resolve().parent.parent / "metaflow_config"
    above = {"_sources", "_resolve", "_snapshot", "_scope", "_override", "settings", "views"}
    for path in sorted(package.glob("_model/table*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            (node.module or "").lstrip(".").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        } | {
            alias.name.split(".")[-1]
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        assert not imported & above, (path.name, sorted(imported & above))


def test_views_add_accessors_to_the_same_fields() -> None:
    """Each view has exactly its table section's settings (it only adds accessors)."""
    from metaflow_config._snapshot.views import VIEWS

    table = dict(SECTIONS)
    for attr, view in VIEWS.items():
        assert issubclass(view, table[attr])
        assert view.fields == table[attr].fields


def test_arns_and_regions_of_every_partition_botocore_knows_are_taken() -> None:
    """An IAM role, log group and table ARN of each partition botocore lists (the European
    Sovereign Cloud's ``aws-eusc`` and its ``eusc-de-east-1`` among them), in each of its
    regions: Metaflow takes them, and refusing one stops every ``import metaflow``."""
    import json

    import botocore

    endpoints = Path(botocore.__file__).parent / "data" / "endpoints.json"
    partitions = json.loads(endpoints.read_text(encoding="utf-8"))["partitions"]
    assert set(_kinds.ARN_PARTITIONS) == {p["partition"] for p in partitions}
    env = {}
    for p in partitions:
        name = p["partition"]
        for region in p["regions"]:
            env = {
                "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": f"arn:{name}:iam::123456789012:role/mf",
                "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN": (
                    f"arn:{name}:logs:{region}:123456789012:log-group:/aws/states/mf:*"
                ),
                "METAFLOW_SFN_DYNAMO_DB_TABLE": (
                    f"arn:{name}:dynamodb:{region}:123456789012:table/mf-steps"
                ),
            }
            s = load(env=env)
            assert {k: s[k] for k in env} == env
    with pytest.raises(Exception, match="partition 'aws-eu' is not one of aws, aws-cn"):
        load(env={"METAFLOW_ECS_S3_ACCESS_IAM_ROLE": "arn:aws-eu:iam::123456789012:role/mf"})
    made_up = "arn:awsx:dynamodb:us-east-1:123456789012:table/steps"  # no such partition
    with pytest.raises(Exception, match="METAFLOW_SFN_DYNAMO_DB_TABLE"):
        load(env={"METAFLOW_SFN_DYNAMO_DB_TABLE": made_up})
