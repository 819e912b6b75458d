"""Generated references, read off the settings table: the JSON Schema of a profile, the docs.

``profile_schema()`` is what ``metaflow-config schema`` prints (editors validate and complete
``config_*.json`` with it); ``settings_markdown()`` is what ``metaflow-config docs`` prints and
``docs/settings.md`` holds. Neither lists a setting by hand: both walk ``SECTIONS``.
"""

from __future__ import annotations

from typing import Any

from .._display import MASK, entry_text
from .._model.fields import Setting
from .._model.kinds import BOOL, BOOL_WORDS, QUANTITY, QUANTITY_PATTERN, VERIFY, Kind, any_case
from .._model.table import FIELDS, SECTIONS

__all__ = ["profile_schema", "settings_markdown"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: What the resolver also accepts for an integer in a file: a string of digits (``"60"``).
_INT_TEXT = r"^\s*[+-]?[0-9]+(_[0-9]+)*(\.0*)?\s*$"


def _kind_alternatives(kind: Kind) -> list[dict[str, Any]]:
    """JSON Schemas of the values a file may hold for ``kind`` (what the resolver accepts)."""
    if kind is BOOL:
        words = "|".join(any_case(w) for w in BOOL_WORDS)
        return [
            {"type": "boolean"},
            {"enum": [0, 1]},
            {"type": "string", "pattern": rf"^\s*({words})\s*$"},
        ]
    if kind is VERIFY:
        return [{"type": "boolean"}, {"type": "string", "minLength": 1}]
    if kind is QUANTITY:
        return [{"type": "number", "minimum": 0}, {"type": "string", "pattern": QUANTITY_PATTERN}]
    from pydantic.errors import PydanticInvalidForJsonSchema
    from pydantic.json_schema import GenerateJsonSchema

    try:
        generated: dict[str, Any] = GenerateJsonSchema().generate(kind.core_schema())
    except PydanticInvalidForJsonSchema:  # a validator function without a schema: say so
        return [{"description": kind.expected}]
    alternatives = [generated]
    if kind.json_valued or kind.json_text:
        alternatives.append({"type": "string", "contentMediaType": "application/json"})
    if generated.get("type") == "integer":
        alternatives.append({"type": "string", "pattern": _INT_TEXT})
    if kind.list_item is not None:  # the items as a JSON list (a file only)
        item = {"type": "string", "pattern": kind.list_item}
        alternatives.append({"type": "array", "items": item, "minItems": 1})
    return alternatives


def _describe(field: Setting) -> str:
    parts = [field.doc, f"Type: {field.kind.expected}."]
    if field.derive is not None:
        parts.append(f"Derived when not set: {field.derive.text}.")
    if field.secret:
        parts.append("Secret: masked wherever metaflow-config shows it; keep the file mode 0600.")
    if field.local:
        parts.append("Machine-local: not exported to remote containers.")
    return " ".join(parts)


def _property(field: Setting, alternatives: list[dict[str, Any]]) -> dict[str, Any]:
    unset: list[dict[str, Any]] = [{"type": "null"}, {"const": ""}]
    prop: dict[str, Any] = {"description": _describe(field), "anyOf": alternatives + unset}
    if field.default is not None:
        prop["default"] = field.default
    return prop


def profile_schema() -> dict[str, Any]:
    """The JSON Schema of a profile file (``config.json``, ``config_<name>.json``).

    One property per setting, per alias and per old name read (``deprecated``), typed as the
    resolver validates it (``null`` or ``""`` mean "not set"); any other key is reported, as the
    resolver warns about it.
    """
    properties: dict[str, Any] = {
        "$schema": {
            "type": "string",
            "description": "Where an editor finds this schema (ignored by the resolver).",
        }
    }
    cache: dict[int, list[dict[str, Any]]] = {}
    for field in FIELDS:
        alternatives = cache.get(id(field.kind))
        if alternatives is None:
            alternatives = cache[id(field.kind)] = _kind_alternatives(field.kind)
        properties[field.env] = _property(field, alternatives)
        for alias in field.aliases:
            alias_prop = _property(field, alternatives)
            alias_prop["description"] = f"Alias of {field.env} (that name wins). {field.doc}"
            properties[alias] = alias_prop
        for old in field.renamed:
            if old.applied:  # read as the setting, with a warning
                old_prop = _property(field, alternatives)
                old_prop["description"] = (
                    f"Old name of {field.env} ({old.note}; that name wins); "
                    "`metaflow-config migrate` renames it."
                )
                old_prop["deprecated"] = True
                properties[old.name] = old_prop
    defs = _registered_properties(properties)
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "title": "Metaflow configuration profile",
        "description": (
            "A Metaflow profile: $METAFLOW_HOME/config.json or config_<profile>.json "
            "(METAFLOW_HOME defaults to ~/.metaflowconfig), or a project's "
            ".metaflow/config.json. Generated by `metaflow-config schema`."
        ),
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if defs:
        schema["$defs"] = defs
    return schema


def _registered_properties(properties: dict[str, Any]) -> dict[str, Any]:
    """Add the keys of registered sections to ``properties``; return their models' ``$defs``.

    Each key is typed by its pydantic model's JSON Schema (``null`` or ``""``: not set, as
    for the built-in settings); nested models' definitions go to the schema's ``$defs``,
    where pydantic's ``#/$defs/...`` references point.
    """
    from .._sources.sections import registry

    found = registry()
    defs: dict[str, Any] = {}
    models: dict[int, dict[str, Any]] = {}
    for key in sorted(found):
        section = found[key]
        model = models.get(id(section.cls))
        if model is None:
            model = models[id(section.cls)] = section.cls.model_json_schema()
            defs.update(model.get("$defs", {}))
        field = dict(model.get("properties", {}).get(section.keys[key], {}))
        description = field.pop("description", "") or field.pop("title", "")
        field.pop("title", None)
        origin = f"{section.cls.__qualname__} ({section.origin})"
        properties[key] = {
            "description": f"{description} Registered by {origin}.".strip(),
            "anyOf": [field, {"type": "null"}, {"const": ""}],
        }
    return defs


# --- Markdown ---------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return _cell(f"``{text}``" if "`" in text else f"`{text}`")


def _type(kind: Kind) -> str:
    if kind.choices:
        return "one of " + ", ".join(_code(c) for c in kind.choices)
    return _cell(kind.name)


def _default(field: Setting) -> str:
    if field.derive is not None:
        return "derived: " + _code(field.derive.text)
    if field.default is None:
        return "unset"
    text = field.kind.to_text(field.default)
    return _code(text) if text else '`""`'


def settings_markdown() -> str:
    """The Markdown reference of every setting, section by section (``docs/settings.md``)."""
    lines = [
        "# Settings reference",
        "",
        "<!-- Generated from the settings table by `metaflow-config docs`; do not edit by hand.",
        "     Regenerate: python -m metaflow_config docs > docs/settings.md -->",
        "",
        f"{len(FIELDS)} settings in {len(SECTIONS)} sections. Each is read from (lowest first)",
        "its default or derivation, the profile file, the project's `.metaflow/config.json`, the",
        "environment variable of the same name, and `override()`. `metaflow-config explain NAME`",
        "shows where a value in force came from; `metaflow-config schema` prints the JSON Schema",
        "of a profile file. Secret values are masked in every output of `metaflow-config` unless",
        '`metaflow-config env --reveal-secrets` asks for them. An alias ("Also read as") is read',
        "like the setting's own name; where one file or the environment holds both, the own name",
        "wins. An old name is read so too, with a warning (`metaflow-config migrate` renames it).",
        "",
    ]
    for attr, section in SECTIONS:
        doc = (section.__doc__ or "").strip().splitlines()[0] if section.__doc__ else ""
        lines.extend([f"## {section.__name__} (`settings.{attr}`)", "", doc, ""])
        lines.append("| Setting | Type | Default | Secret | Description |")
        lines.append("|---------|------|---------|--------|-------------|")
        for field in section.fields:
            name = f"`{field.env}`<br>`settings.{attr}.{field.attr}`"
            notes = [field.doc]
            if field.aliases:
                notes.append("Also read as " + ", ".join(_code(a) for a in field.aliases) + ".")
            olds = [f"{_code(o.name)} ({o.note})" for o in field.renamed if o.applied]
            if olds:
                notes.append("Old name, read with a warning: " + "; ".join(olds) + ".")
            if field.local:
                notes.append("Machine-local: not exported to remote containers.")
            secret = "yes" if field.secret else ""
            cells = [name, _type(field.kind), _default(field), secret, _cell(" ".join(notes))]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines.extend(_registered_markdown())
    return "\n".join(lines)


def _registered_markdown() -> list[str]:
    """The reference of the registered sections (none installed: nothing), after the table's."""
    from .._sources.sections import registry

    found = registry()
    by_model: dict[int, list[str]] = {}
    for key in sorted(found):
        by_model.setdefault(id(found[key].cls), []).append(key)
    lines: list[str] = []
    for keys in by_model.values():
        section = found[keys[0]]
        cls = section.cls
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        lines.extend([f"## {cls.__qualname__} (registered: {_cell(section.origin)})", "", doc, ""])
        lines.append("| Setting | Type | Default | Secret | Description |")
        lines.append("|---------|------|---------|--------|-------------|")
        for key in keys:
            model = cls.model_fields[section.keys[key]]
            default = model.get_default()
            secret = "yes" if key in section.secret else ""
            shown = "unset" if default is None else (MASK if secret else _code(entry_text(default)))
            cells = [
                f"`{key}`<br>`settings.section({cls.__qualname__}).{section.keys[key]}`",
                _cell(_annotation_text(model.annotation)),
                shown,
                secret,
                _cell(model.description or ""),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _annotation_text(annotation: Any) -> str:
    """A field's type as its code writes it: ``Optional[SecretStr]``, ``int`` (no modules)."""
    import re

    if isinstance(annotation, type):
        return annotation.__name__
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+([A-Za-z_]\w*)", r"\1", str(annotation))
