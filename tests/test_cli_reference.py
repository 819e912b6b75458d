"""Generated references: the JSON Schema of a profile file, and docs/settings.md."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import load
from metaflow_config.cli._reference import profile_schema, settings_markdown
from tests.conftest import invoke, write_json

ROOT = Path(__file__).resolve().parent.parent


def stdout_of(*args: str) -> str:
    """The stdout of the command run in-process (which must succeed)."""
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    return str(result.stdout)


# --- schema and docs --------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    import jsonschema

    schema = profile_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_schema_command_prints_the_schema() -> None:
    """`schema` prints the JSON Schema of a profile, valid under its own dialect."""
    printed = json.loads(stdout_of("schema"))
    assert printed == json.loads(json.dumps(profile_schema()))
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    _validator()


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({"METAFLOW_BATCH_EMIT_TAGS": "Yes", "METAFLOW_DEBUG_S3CLIENT": 1}, id="bools"),
        pytest.param({"METAFLOW_S3_RETRY_COUNT": "7", "METAFLOW_S3_WORKER_COUNT": 3}, id="ints"),
        pytest.param({"METAFLOW_BATCH_DEFAULT_TAGS": '{"a": "b"}'}, id="json-text"),
        pytest.param({"METAFLOW_SERVICE_HEADERS": {"a": "b"}}, id="json-object"),
        pytest.param({"METAFLOW_JOB_QUEUE_NAME": "q", "METAFLOW_USER": None}, id="alias-null"),
        pytest.param({"METAFLOW_S3_VERIFY_CERTIFICATE": "/etc/ca.pem"}, id="verify-path"),
        pytest.param(
            {"METAFLOW_KUBERNETES_MEMORY": 4096, "METAFLOW_KUBERNETES_CPU": "0.5"}, id="quantities"
        ),
        pytest.param({"METAFLOW_DEFAULT_DATASTORE": "spin"}, id="plugin-name"),
        pytest.param({"METAFLOW_KUBERNETES_SECRETS": ["db", "api"]}, id="comma-list-as-json"),
        pytest.param({"METAFLOW_DEFAULT_DECOSPECS": ["retry", "timeout:minutes=5"]}, id="spaces"),
    ],
)
def test_schema_accepts_what_the_resolver_accepts(doc: dict[str, Any], tmp_path: Path) -> None:
    """A profile the resolver accepts validates against the schema."""
    write_json(tmp_path / "config.json", doc)
    load(env={}, home=tmp_path, cwd=tmp_path)
    assert list(_validator().iter_errors(doc)) == []


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({"METAFLOW_BATCH_EMIT_TAGS": "maybe"}, id="bool-junk"),
        pytest.param({"METAFLOW_S3_RETRY_COUNT": 5.7}, id="int-fraction"),
        pytest.param({"METAFLOW_DATASTORE_SYSROOT_S3": "bucket/x"}, id="s3-no-scheme"),
        pytest.param({"METAFLOW_SFN_IAM_ROLE": "arn:aws:s3:::b"}, id="arn-wrong-service"),
        pytest.param({"METAFLOW_S3_SERVER_SIDE_ENCRYPTION": "aes256"}, id="choice-case"),
        pytest.param({"METAFLOW_KUBERNETES_CPU": "2 cores"}, id="quantity-words"),
        pytest.param({"METAFLOW_KUBERNETES_MEMORY": -1}, id="quantity-negative"),
        pytest.param({"METAFLOW_BATCH_JOB_QEUE": "q"}, id="unknown-key"),
        pytest.param({"METAFLOW_KUBERNETES_SECRETS": ["db", "a,b"]}, id="list-item-with-sep"),
        pytest.param({"METAFLOW_KUBERNETES_SECRETS": []}, id="list-empty"),
        pytest.param({"METAFLOW_DEFAULT_DECOSPECS": ["retry "]}, id="list-item-blank-end"),
    ],
)
def test_schema_rejects_what_the_resolver_rejects(doc: dict[str, Any]) -> None:
    """A bad value or an unknown key fails the schema, as it fails (or warns in) the resolver."""
    assert list(_validator().iter_errors(doc)) != []


def test_docs_file_is_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/settings.md is exactly what `metaflow-config docs` generates from the table.

    With no section registered: a plugin installed beside the package (the README's example)
    adds its keys to `docs`, not to the committed file.
    """
    from metaflow_config._sources import sections as _sections

    monkeypatch.setattr(_sections, "_entry_points", list)
    _sections.reset()
    monkeypatch.setattr(_sections, "_found", None)
    committed = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == settings_markdown(), (
        "docs/settings.md is stale: run `python -m metaflow_config docs > docs/settings.md`"
    )
    assert stdout_of("docs") == committed


def test_docs_cover_every_setting_with_type_default_and_secret() -> None:
    """Every setting of the table has a row naming its type, default or derivation, secret flag."""
    from metaflow_config._model.table import FIELDS

    text = settings_markdown()
    rows = {line.split("`")[1]: line for line in text.splitlines() if line.startswith("| `")}
    assert set(rows) == {f.env for f in FIELDS}
    assert (
        "| derived: `<METAFLOW_DATASTORE_SYSROOT_S3>/<METAFLOW_DATATOOLS_SUFFIX>` |"
        in (rows["METAFLOW_DATATOOLS_S3ROOT"])
    )
    assert rows["METAFLOW_SERVICE_AUTH_KEY"].split(" | ")[3] == "yes"
    assert rows["METAFLOW_S3_RETRY_COUNT"].split(" | ")[2] == "`7`"


def test_docs_preamble_names_reveal_secrets_and_aliases() -> None:
    """The docs say secrets show only with --reveal-secrets, and how an alias is read."""
    head = " ".join(settings_markdown().split("\n## ", 1)[0].split())
    assert (
        "Secret values are masked in every output of `metaflow-config` unless "
        "`metaflow-config env --reveal-secrets` asks for them." in head
    )
    assert 'An alias ("Also read as") is read like the setting\'s own name' in head
