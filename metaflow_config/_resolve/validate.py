"""Validation as a resolution does it: pydantic-core validators, their cache, the messages.

A resolution validates the values in force in one pydantic-core call (:func:`validate`); a
handful of values asked for again (an ``override`` scope's) get a validator of their own
settings (:func:`validator_for`). A process's first resolution of values that are all plain
ASCII text (a task's) is validated in Python by the same schemas, and pydantic-core is not even
loaded (:func:`in_python`, ``_model.quick``): anything else, and every message, is its. What
a value is held as afterwards (frozen, concealed) is :func:`hold`'s; :func:`check_layer` and
:func:`validate_value` validate a layer or one value alone, with the same messages.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._display import around, mask_quoted_long, mask_url_password, redact, url_passwords
from .._model.fields import Setting
from .._model.kinds import PLAIN_REF, plain_definition, plain_problem
from .._model.quick import Unsure, quick
from .._model.references import MARK, Reference, parse_reference
from .._model.table import BY_ENV, BY_NAME, FIELDS
from .._model.values import TooDeep, conceal, freeze, freeze_top
from .._sources.data import LayerData, Raw
from .._sources.layers import BY_LAYER
from ..errors import ConfigError, Problem

if TYPE_CHECKING:
    from pydantic_core import SchemaValidator, ValidationError

__all__ = [
    "DERIVED_LAYER",
    "SECRET",
    "TEXT",
    "check_layer",
    "hold",
    "valid",
    "validate",
    "validate_value",
    "validator_for",
]


#: JSON-valued settings: held frozen (read-only mappings and tuples) in every snapshot
_JSON_VALUED = frozenset(f.name for f in FIELDS if f.kind.json_valued)


#: secret settings: held so that no repr shows them (see ``values.conceal``)
SECRET = frozenset(f.name for f in FIELDS if f.secret)


#: their environment names, as a message lists them
_SECRET_NAMES = tuple(f.env for f in FIELDS if f.secret)


#: the settings of a text kind (``Kind.text``): a valid ``str`` is its own validated value
TEXT = frozenset(f.name for f in FIELDS if f.kind.text)


#: How many validators of name sets are kept (see validator_for)
_KEPT = 64


#: the validators built, by the names of the settings they validate
_BUILT: dict[frozenset[str], tuple[SchemaValidator, type[ValidationError]]] = {}


def validator_for(names: Iterable[str]) -> tuple[SchemaValidator, type[ValidationError]]:
    """A validator for values of the settings ``names``, and pydantic-core's error type.

    One call validates all the values, by a validator built for just their settings and kept
    for the next values of the same settings (a resolution over an unchanged environment, an
    ``override`` scope entered again). Building it compiles the patterns of their kinds only:
    the first resolution of a task, which sets a few dozen settings, does not pay for the whole
    table's (several times the cost), and a validator of the whole table would also look up
    each of its settings on every call. Past :data:`_KEPT` name sets (a process resolving many
    different configurations), the table's validator serves every other set.
    """
    names = frozenset(names)
    found = _BUILT.get(names)
    if found is not None:
        return found
    if len(_BUILT) >= _KEPT:
        return _table_validator()
    found = _BUILT[names] = _build_validator(names)  # a race builds it twice, harmlessly
    return found


@functools.cache
def _table_validator() -> tuple[SchemaValidator, type[ValidationError]]:
    return _build_validator(frozenset(BY_NAME))


def _build_validator(names: frozenset[str]) -> tuple[SchemaValidator, type[ValidationError]]:
    from .._model import core  # pydantic-core's compiled validator, loaded alone (see there)

    schemas: dict[int, Any] = {}  # one schema per kind, shared by its settings
    fields = {}
    for f in FIELDS:
        if f.name in names:
            schema = schemas.get(id(f.kind))
            if schema is None:
                schema = schemas[id(f.kind)] = f.kind.core_schema(shared=True)
            fields[f.name] = core.typed_dict_field(schema, required=False)
    table = core.typed_dict_schema(fields, total=False)
    schema = core.definitions_schema(table, [plain_definition()])  # one compiled pattern
    validator, error = core.validator_types()
    return validator(schema), error


#: Each setting's core schema as :func:`in_python` reads it, built on first use
_SCHEMAS: dict[str, Any] = {}

#: The definitions the schemas refer to: on ASCII text without control characters (all that
#: ``_model.quick`` judges), the plain-text check (``plain_definition``) checks nothing more
_DEFINITIONS = {PLAIN_REF: {"type": "str"}}


def in_python(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """``raw`` validated in Python where that is exact (see ``_model.quick``); ``None`` else."""
    validated = {}
    try:
        for name, value in raw.items():
            schema = _SCHEMAS.get(name)
            if schema is None:
                schema = _SCHEMAS[name] = BY_NAME[name].kind.core_schema(shared=True)
            validated[name] = quick(schema, value, _DEFINITIONS)
    except Unsure:
        return None
    return validated


#: The sets of settings validated once in Python (see :func:`_quickly`)
_TRIED: set[frozenset[str]] = set()


def _quickly(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """:func:`in_python`, the first time these settings are validated; ``None`` after.

    A process's first resolution whose values are all plain ASCII text (a task's, which
    resolves once) never loads pydantic-core. The same settings validated again (a warm
    ``load()``, a reload) get their validator, the faster of the two once built (a warm
    ``load()`` of ten settings: 95 us, against 120 us in Python); past :data:`_KEPT` sets,
    pydantic-core validates every other.
    """
    names = frozenset(raw)
    if names in _TRIED or names in _BUILT or len(_TRIED) >= _KEPT:
        return None
    _TRIED.add(names)
    return in_python(raw)


DERIVED_LAYER = LayerData("derived")


def fix_of(layer: LayerData, location: str) -> str:
    if layer is DERIVED_LAYER:
        return f"set it explicitly, or correct what it derives from ({location})"
    source = BY_LAYER.get(layer.layer)
    return source.fix(location) if source else f"correct the value given in {location}"


def given_instead(value: Any, *, code: bool) -> tuple[str, str]:
    """What a text setting was given instead, and how its text is given where it came from.

    In Python's words where the value came from code (``override()``), else in JSON's: the
    built-in settings and the registered sections (``pydantic``) say it alike. The how is
    ``""`` for an object or an array in a file (no quotes make text of it).
    """
    if code:
        return f"a Python {type(value).__name__}", "pass it as a str"
    if isinstance(value, (dict, list, tuple)):
        return ("a JSON object" if isinstance(value, dict) else "a JSON array"), ""
    return ("a JSON boolean" if isinstance(value, bool) else "a JSON number"), "write it in quotes"


def _found_a_number(setting: Setting, value: Any, *, code: bool) -> str:
    """What a text setting given a number (or a boolean) expects: the text, if that is meant.

    In Python's words where the value came from code (``override()``), else in JSON's. The
    text is suggested only where it would be valid, and never a secret's (its digits).
    """
    import json  # the error path only

    text, expected = json.dumps(value), setting.kind.expected
    what, how = given_instead(value, code=code)
    quoted = f"'{text}'" if code else f'"{text}"'
    if validate({setting.name: (LayerData("check"), Raw(text, setting.env))})[1]:
        return f"{expected} (found {what})"  # quoted, it would be wrong still: not said
    shown = "" if setting.secret else f", {quoted}"  # a secret's digits are secret
    return f"{expected} (found {what}: if the text is meant, {how}{shown})"


#: The text settings Metaflow reads as ``key=value`` pairs separated by commas
#: (``parse_kube_keyvalue_list``): a JSON object given for one is said as that text.
_KEY_VALUE_TEXT = frozenset(
    {
        "METAFLOW_KUBERNETES_LABELS",
        "METAFLOW_KUBERNETES_ANNOTATIONS",
        "METAFLOW_KUBERNETES_NODE_SELECTOR",
    }
)


#: The longest text an error offers to write instead (a hostile file's object may be huge)
_LONGEST_SUGGESTED = 200


def _found_a_structure(setting: Setting, value: Any, *, code: bool) -> str:
    """What a text setting given an object or an array expects: its text.

    For a setting Metaflow reads as ``key=value`` pairs, the pairs an object of text values
    stands for, where they would be valid (never a secret's).
    """
    import json  # the error path only

    what = given_instead(value, code=code)[0]
    said = f"{setting.kind.expected} (found {what}: Metaflow reads this setting as text"
    if (
        isinstance(value, dict)
        and value
        and setting.env in _KEY_VALUE_TEXT
        and not setting.secret
        and all(isinstance(v, str) for v in value.values())
        # a ',' or '=' in a key or value would read as other pairs: no text stands for it
        and not any(c in part for part in (*value, *value.values()) for c in ",=")
    ):
        text = ",".join(f"{k}={v}" for k, v in value.items())
        if (
            len(text) <= _LONGEST_SUGGESTED
            and not validate({setting.name: (LayerData("check"), Raw(text, setting.env))})[1]
        ):
            return f"{said}, key=value pairs separated by commas: {json.dumps(text)})"
    return said + ")"


#: What pydantic-core says of a string its plain-text check refuses (see ``kinds.PLAIN_REF``)
_NOT_PLAIN_ERRORS = ("string_pattern_mismatch", "string_unicode")


def _describe(err: Mapping[str, Any], setting: Setting, value: Any, *, code: bool = False) -> str:
    """What ``setting`` expects, with what pydantic-core found wrong with ``value``.

    ``code``: the value was given in Python (``override()``), not in JSON or an environment.
    """
    kind, expected, secret = err["type"], setting.kind.expected, setting.secret
    inner = () if secret else err["loc"][1:]  # a key of a secret's map (a header name) is secret
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if secret:  # a check's words stay, what it quotes (of the value: a host, a key) does not
        msg = mask_quoted_long(msg) or ""  # a quote left open: the detail is not said
    found = err.get("input")
    if len(err["loc"]) > 1 and kind in _NOT_PLAIN_ERRORS and isinstance(found, str):
        problem = plain_problem(found)  # a string inside a JSON value: the character and where
        if problem is not None:
            kind, msg = "value_error", problem
    if isinstance(value, (bytes, bytearray)):  # pydantic-core reads bytes as UTF-8 text
        value = bytes(value).decode("utf-8", "replace")
    if not inner and setting.kind.text and isinstance(value, str):
        problem = plain_problem(value)  # a control character and where: none of the text
        if problem is not None:
            return f"{expected} ({problem})"
    if kind == "string_type" and not inner and isinstance(value, (int, float, dict, list, tuple)):
        found = _found_a_number if isinstance(value, (int, float)) else _found_a_structure
        return found(setting, value, code=code)
    if kind == "string_pattern_mismatch" and not inner:
        return _diagnosed(setting, value)
    if kind in _SAID_BY_EXPECTED and not inner:  # pydantic-core's words would repeat it
        return expected + _SAID_BY_EXPECTED[kind]
    if kind == "literal_error" and not inner and setting.kind.choices:
        return expected + _case_of(setting.kind.choices, value, secret)  # the choices: said once
    if kind == "extra_forbidden" and inner and str(inner[-1]) in _SNAKE:  # Kubernetes' spelling
        msg = f"{msg}: write it {_SNAKE[str(inner[-1])]!r}, as Metaflow takes it"
    # a secret map's key is secret too: its place is not
    secret_place = secret and len(err["loc"]) > 1
    where = _place_in(value, err["loc"][1]) if secret_place else "".join(f"[{k!r}]" for k in inner)
    detail = f"{where}: {msg}" if where and msg else where or msg
    return f"{expected} ({detail})" if detail else expected


def _place_in(value: Any, key: Any) -> str:
    """Where ``key`` is in ``value`` (JSON text or a value), said without it: ``item 2``."""
    import json  # the error path only

    if isinstance(value, (str, bytes, bytearray)):
        try:
            value = json.loads(value)
        except ValueError:
            return ""
    if isinstance(value, Mapping):
        places = [i for i, k in enumerate(value, 1) if k == key]
        return f"the value of item {places[0]}" if places else ""
    if isinstance(value, (list, tuple)) and isinstance(key, int) and 0 <= key < len(value):
        return f"item {key + 1}"
    return ""


def _diagnosed(setting: Setting, value: Any) -> str:
    """What ``setting`` expects, with what is wrong with ``value``, which its pattern refused."""
    expected, diagnose = setting.kind.expected, setting.kind.diagnose
    if diagnose is None or setting.secret or not isinstance(value, str):
        return expected
    if setting.kind.raw_diagnosis:  # it quotes no part a password may be in: and if it did,
        # the password, and each piece a parser cuts it into, is masked where it is quoted
        said = redact(diagnose(value), url_passwords([value]))
    else:  # a diagnosis quotes parts of the value (the characters a bucket holds): of a value
        # holding a URL password, the value as it is shown (the password masked) is diagnosed
        said = diagnose(mask_url_password(value) if "@" in value else value)
    return f"{expected} ({said})" if said else expected  # "": nothing to add to ``expected``


#: pydantic-core's errors of an integer that the kind's ``expected`` says, and what to add.
_SAID_BY_EXPECTED = {
    "int_parsing": "",
    "int_type": "",
    "greater_than_equal": "",
    "less_than_equal": "",
    "int_from_float": " (it has a fractional part)",
}
#: Keys Kubernetes' API spells in camel case where Metaflow takes the Python client's names.
_SNAKE = {"tolerationSeconds": "toleration_seconds"}


def _case_of(choices: tuple[str, ...], value: Any, secret: bool) -> str:
    """`` (did you mean 'X'?)`` where ``value`` is one of ``choices`` in another case."""
    if secret or not isinstance(value, str):
        return ""
    same = [choice for choice in choices if choice.lower() == value.strip().lower()]
    return f" (did you mean {same[0]!r}?)" if same else ""


def hold(
    validated: dict[str, Any], winners: Mapping[str, tuple[LayerData, Any]]
) -> tuple[dict[str, Any], list[Problem]]:
    """The validated values as a snapshot holds them: JSON frozen (and bounded), secrets concealed.

    Freezing is the one walk of a JSON value after validation; a value nested deeper than
    ``MAX_JSON_DEPTH`` is a problem of its layer, as a value of the wrong type is.
    """
    problems = [
        p
        for name in _JSON_VALUED.intersection(validated)
        if (p := _freeze(validated, name, winners))
    ]
    # No repr shows a secret (see ``values.conceal``): a secret setting's value, or text that may
    # hold a URL's password (the others are held as they are).
    for name in [n for n, v in validated.items() if n in SECRET or (type(v) is str and "@" in v)]:
        validated[name] = conceal(validated[name], secret=name in SECRET)
    return validated, problems


def _freeze(
    validated: dict[str, Any], name: str, winners: Mapping[str, tuple[LayerData, Any]]
) -> Problem | None:
    """Freeze ``validated[name]`` in place; the problem of a value nested too deeply, if so.

    A value its layer read frozen (``LayerData.frozen``), given as a JSON value and not as JSON
    text, is frozen inside already: validation copied its top level only.
    """
    layer, raw = winners[name]
    if layer.frozen and not isinstance(raw.value, (str, bytes)):
        validated[name] = freeze_top(validated[name])
        return None
    try:
        validated[name] = freeze(validated[name])
    except TooDeep as exc:
        fix = fix_of(layer, raw.location)
        return Problem.bad_value(
            BY_NAME[name].env, layer.layer, raw.location, expected=str(exc), fix=fix
        )
    return None


def _holds_mark(values: Iterable[Any]) -> bool:
    """Whether any of ``values`` is text holding a secret reference's mark (one C-level scan)."""
    return MARK in "\0".join([v for v in values if isinstance(v, str)])


def validate(
    winners: Mapping[str, tuple[LayerData, Any]], *, references_taken: bool = True
) -> tuple[dict[str, Any], list[Problem]]:
    """The winners' values validated in one pydantic-core call, and the problems of the rest.

    Secret references are parsed, not validated: they are fetched (and validated) when read.
    ``references_taken=False``: a ``{{`` is text like any other (what a reference fetched).
    """
    raw = {name: w[1].value for name, w in winners.items()}
    references: dict[str, Reference] = {}
    problems: list[Problem] = []
    if references_taken and _holds_mark(raw.values()):
        references, problems = _references(winners)
        unread = {BY_ENV[p.setting].name for p in problems} | references.keys()
        raw = {name: value for name, value in raw.items() if name not in unread}
    validated = _quickly(raw)
    if validated is not None:
        validated.update(references)
        return validated, problems
    validator, validation_error = validator_for(raw)
    try:
        validated = validator.validate_python(raw)
    except validation_error as exc:
        errors = exc.errors(include_url=False)  # inputs: where a string is not plain
    else:
        validated.update(references)
        return validated, problems
    bad: set[str] = set()
    for err in errors:
        name = str(err["loc"][0])
        if name in bad:
            continue
        bad.add(name)
        setting = BY_NAME[name]
        layer, raw_value = winners[name]
        problems.append(
            Problem.bad_value(
                setting.env,
                layer.layer,
                raw_value.location,
                value=setting.show(raw_value.value),
                expected=_describe(err, setting, raw_value.value, code=layer.layer == "override")
                + _wrapped(setting, raw_value.value),
                fix=fix_of(layer, raw_value.location),
            )
        )
    rest = {name: winners[name] for name in raw if name not in bad}
    # the valid values too (one more call, on this path only): their problems come with these
    valid_rest = validate(rest, references_taken=references_taken)[0] if rest else {}
    return {**valid_rest, **references}, problems


def _wrapped(setting: Setting, value: Any) -> str:
    """What wraps ``value`` that it would be valid without: blanks at its ends, or quotes.

    A value pasted with a blank before or after it (``KEY= value`` in an ``env_file``, a copy
    from a console), a line ending of a file saved on Windows, or its quotes
    (``METAFLOW_DEFAULT_DATASTORE='"s3"'``: docker and systemd keep them as written) holds
    them, and each kind's own words say something else (an ARN's parts, a URL's scheme). Said
    as `` (it ends with a blank, ...: remove it)`` where the value without them is valid; the
    error path only.
    """
    if not isinstance(value, str):
        return ""
    inner = value.strip()
    if inner and inner != value:
        try:
            validate_value(setting, inner)
        except ConfigError:
            return ""
        return around(value, inner)
    return _quoted(setting, value)


def _quoted(setting: Setting, value: str) -> str:
    """`` (wrapped in quotes: ...)`` where ``value`` is valid without the quotes around it."""
    if not (len(value) > 2 and value[0] == value[-1] in "'\""):
        return ""
    inner = value[1:-1]
    if inner[0] == inner[-1] in "'\"":  # quoted twice: no hint (nor a validation per pair)
        return ""
    try:
        validate_value(setting, inner)
    except ConfigError:
        return ""
    return " (it is wrapped in quotes, which are part of the value where it is set: remove them)"


def _references(
    winners: Mapping[str, tuple[LayerData, Any]],
) -> tuple[dict[str, Reference], list[Problem]]:
    """The winners that are secret references, parsed; the problems of malformed ones."""
    references: dict[str, Reference] = {}
    problems: list[Problem] = []
    for name, (layer, raw) in winners.items():
        if isinstance(raw.value, str) and MARK in raw.value:
            parsed = parse_reference(raw.value)
            setting = BY_NAME[name]
            if not setting.secret:  # '{{' begins a reference: none is taken here
                parsed = (
                    "a value without '{{': it begins a secret reference, which only a secret "
                    f"setting takes ({', '.join(_SECRET_NAMES)})"
                )
            if isinstance(parsed, Reference):
                references[name] = parsed
            else:
                problems.append(
                    Problem.bad_value(
                        setting.env,
                        layer.layer,
                        raw.location,
                        value=setting.show(raw.value),
                        expected=parsed,
                        fix=fix_of(layer, raw.location),
                    )
                )
    return references, problems


def valid(values: dict[str, Any]) -> bool:
    """Whether every one of ``values`` is valid (no messages built: see :func:`validate`)."""
    if _quickly(values) is not None:
        return True
    validator, validation_error = validator_for(values)
    try:
        validator.validate_python(values)
    except validation_error:
        return False
    return True


def check_layer(data: LayerData) -> list[Problem]:
    """Every problem of one layer on its own: what reading it found, then each invalid value.

    Values are validated exactly as :func:`resolve` validates them (the same validator, the same
    messages, a plugin's name judged as it judges it), without merging other layers in: for
    checking a file before it is written, and ``show`` marking each invalid value.
    """
    from .plugins import PLUGIN_SETTINGS, plugin_problems

    winners = {name: (data, raw) for name, raw in data.values.items()}
    validated, problems = validate(winners)
    plugin_problems(
        (
            (name, validated[name], data.layer, winners[name][1].location)
            for name in PLUGIN_SETTINGS
            if name in validated
        ),
        problems,
        [],
    )
    return [*data.problems, *problems]


def validate_value(
    setting: Setting,
    raw: Any,
    *,
    layer: str = "override",
    location: str = "",
    references_taken: bool = True,
) -> Any:
    """The typed value of ``setting`` for the raw value ``raw``, validated as :func:`resolve` does.

    ``references_taken=False``: ``raw`` is what a secret reference fetched, a value whatever it
    holds (a ``{{`` in it begins no reference: nothing fetched is fetched again).

    Raises:
        ConfigError: with the one problem (setting, masked value, what was expected).

    """
    value = Raw(raw, location or setting.env)
    validated, problems = validate(
        {setting.name: (LayerData(layer), value)}, references_taken=references_taken
    )
    if problems:
        raise ConfigError(problems)
    return validated[setting.name]
