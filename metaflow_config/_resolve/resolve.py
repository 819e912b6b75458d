"""One resolution pass: read the layers, merge with provenance, validate at once, derive.

``resolve(inputs)`` is pure: it reads only the environment mapping, home, profile and working
directory in ``inputs`` and writes nothing. All problems of one pass come back together in one
:class:`~metaflow_config.errors.ConfigError`.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._display import printable, show_value
from .._model.fields import Context, Setting
from .._model.kinds import (
    BOOL,
    MARK,
    Reference,
    TooDeep,
    conceal,
    freeze,
    parse_bool,
    parse_reference,
    plain_definition,
    plain_problem,
)
from .._model.table import BY_ENV, BY_NAME, DERIVED, FIELDS, MACHINE_VARIABLES
from .._sources.environ import metaflow_items
from .._sources.layers import BY_LAYER, LAYERS, SOURCES, LayerData, Raw, suggest
from ..errors import ConfigError, ConfigWarning, Problem

if TYPE_CHECKING:
    from pydantic_core import SchemaValidator, ValidationError

__all__ = [
    "SOURCES",
    "Inputs",
    "Resolution",
    "check_layer",
    "default_home",
    "resolve",
    "resolve_over",
    "selected_profile",
    "validate_value",
]

# The layers and their order: _layers.LAYERS (SOURCES adds "default" and "derived" below them: a
# value set anywhere beats a derived one).

_DEFAULT_HOME = "~/.metaflowconfig"
#: JSON-valued settings: held frozen (read-only mappings and tuples) in every snapshot
_JSON_VALUED = frozenset(f.name for f in FIELDS if f.kind.json_valued)
#: secret settings: held so that no repr shows them (see _kinds.conceal)
_SECRET = frozenset(f.name for f in FIELDS if f.secret)
#: their environment names, as a message lists them
_SECRET_NAMES = tuple(f.env for f in FIELDS if f.secret)
#: the settings of a text kind (``Kind.text``): a valid ``str`` is its own validated value
_TEXT = frozenset(f.name for f in FIELDS if f.kind.text)
_DEFAULTS = {f.name: freeze(f.default) for f in FIELDS}


def default_home(env: Mapping[str, str]) -> str:
    """``$METAFLOW_HOME`` (when set and not empty) or ``~/.metaflowconfig``, expanded."""
    return os.path.expanduser(env.get("METAFLOW_HOME") or _DEFAULT_HOME)


def selected_profile(env: Mapping[str, str], profile: str | None = None) -> str | None:
    """The named profile in force (``None``: the default ``config.json``).

    ``profile`` if given (``""``: the default file), else ``$METAFLOW_PROFILE`` of ``env``.
    """
    return (env.get("METAFLOW_PROFILE") or None) if profile is None else (profile or None)


class Inputs:
    """Everything one resolution reads. ``None`` fields are taken from ``env`` (see ``load``).

    Immutable by convention (nothing assigns to an attribute after ``__init__``). Plain classes
    with ``__slots__`` here and in ``Resolution``: one of each is made per resolution and per
    ``override`` scope, and every process builds the classes at import; a frozen dataclass costs
    more in both (see ``_fields.Context``).
    """

    __slots__ = ("cwd", "env", "home", "overrides", "profile", "strict")
    env: Mapping[str, str]
    home: str
    profile: str | None
    cwd: str
    overrides: Mapping[str, Any]
    strict: bool | None

    def __init__(  # noqa: PLR0917 - the fields, as a dataclass would take them
        self,
        env: Mapping[str, str],
        home: str,
        profile: str | None,
        cwd: str,
        overrides: Mapping[str, Any] | None = None,
        strict: bool | None = None,
    ) -> None:
        self.env = env
        self.home = home
        self.profile = profile
        self.cwd = cwd
        self.overrides = {} if overrides is None else overrides
        self.strict = strict

    def _fields(self) -> tuple[Any, ...]:
        return (self.env, self.home, self.profile, self.cwd, self.overrides, self.strict)

    def __eq__(self, other: object) -> bool:
        if type(other) is not Inputs:
            return NotImplemented
        return self._fields() == other._fields()

    __hash__ = None  # type: ignore[assignment]  # equal by value; the mappings are mutable

    def __repr__(self) -> str:  # never the environment's values nor the overrides'
        return (
            f"Inputs(home={self.home!r}, profile={self.profile!r}, cwd={self.cwd!r}, "
            f"env=<{len(self.env)} variables>, overrides=<{len(self.overrides)} values>)"
        )

    def __reduce__(self) -> tuple[Any, ...]:  # every pickle protocol (slots need it below 2)
        return (Inputs, self._fields())

    def replace(self, **changes: Any) -> Inputs:
        """These inputs with ``changes`` (keyword names as ``__init__``'s)."""
        fields = dict(zip(Inputs.__slots__, (getattr(self, k) for k in Inputs.__slots__)))
        fields.update(changes)
        return Inputs(**fields)

    def portable(self) -> Inputs:
        """These inputs with the environment reduced to what a resolution reads of it.

        ``METAFLOW_*`` and :data:`~metaflow_config._model.table.MACHINE_VARIABLES`, as a plain dict:
        what a pickled snapshot keeps (never the rest of the machine's environment).
        """
        env = dict(metaflow_items(self.env))
        env.update((k, self.env[k]) for k in MACHINE_VARIABLES if k in self.env)
        return self.replace(env=env)


class Resolution:
    """The result of one pass: values and origins by short name, and what each layer held.

    ``layers`` holds each layer's data by layer name, in the order of ``_layers.LAYERS``.
    ``fetched`` holds what secret references of this snapshot fetched, by setting (see
    ``_references``), and ``sections`` the models of registered sections resolved from it
    (``Settings.section``): neither takes part in equality. Immutable by convention, as
    :class:`Inputs`.
    """

    __slots__ = (
        "fetched",
        "inputs",
        "layers",
        "origins",
        "sections",
        "values",
        "warnings",
    )
    inputs: Inputs
    values: dict[str, Any]
    origins: dict[str, tuple[str, str]]
    layers: dict[str, LayerData]
    warnings: tuple[str, ...]
    fetched: dict[str, Any]
    sections: dict[Any, Any]

    def __init__(  # noqa: PLR0917 - the fields, as a dataclass would take them
        self,
        inputs: Inputs,
        values: dict[str, Any],
        origins: dict[str, tuple[str, str]],
        layers: dict[str, LayerData],
        warnings: tuple[str, ...],
        fetched: dict[str, Any] | None = None,
        sections: dict[Any, Any] | None = None,
    ) -> None:
        self.inputs = inputs
        self.values = values
        self.origins = origins
        self.layers = layers
        self.warnings = warnings
        self.fetched = {} if fetched is None else fetched
        self.sections = {} if sections is None else sections

    def __eq__(self, other: object) -> bool:
        if type(other) is not Resolution:
            return NotImplemented
        return (self.inputs, self.values, self.origins, self.layers, self.warnings) == (
            other.inputs,
            other.values,
            other.origins,
            other.layers,
            other.warnings,
        )

    __hash__ = None  # type: ignore[assignment]  # equal by value; the dicts are mutable

    def __repr__(self) -> str:  # the values are read through a Settings, which masks them
        return f"<Resolution of {len(self.values)} settings from {self.inputs!r}>"

    def __reduce__(self) -> tuple[Any, ...]:  # every pickle protocol (slots need it below 2)
        fields = (self.inputs, self.values, self.origins, self.layers, self.warnings)
        return (Resolution, (*fields, self.fetched, self.sections))

    def portable(self) -> Resolution:
        """The resolution with :meth:`Inputs.portable` inputs (picklable, nothing else kept)."""
        fields = (self.values, self.origins, self.layers, self.warnings)
        return Resolution(self.inputs.portable(), *fields)


#: Fewer values than this may get a validator of their own settings (see _validator)
_FEW = 8
#: How many such validators are kept (each name set asked for twice gets one)
_KEPT = 64
#: name sets asked for once (a second request builds their validator), and the validators built
_ASKED: set[frozenset[str]] = set()
_SMALL: dict[frozenset[str], tuple[SchemaValidator, type[ValidationError]]] = {}


def _validator(names: Iterable[str]) -> tuple[SchemaValidator, type[ValidationError]]:
    """A validator for values of the settings ``names``, and pydantic-core's error type.

    One call validates all the values. A validator of the whole table costs a lookup of each of
    its settings per call, so a handful of values asked for again (an ``override`` scope's, the
    settings derived from them) is validated by one built for just their settings. A name set
    asked for once uses the table's: a process that resolves once builds nothing more.
    """
    names = frozenset(names)
    if len(names) >= _FEW:
        return _table_validator()
    found = _SMALL.get(names)
    if found is not None:
        return found
    if names not in _ASKED or len(_SMALL) >= _KEPT:
        if len(_ASKED) < 4 * _KEPT:
            _ASKED.add(names)
        return _table_validator()
    found = _SMALL[names] = _build_validator(names)  # a race builds it twice, harmlessly
    return found


@functools.cache
def _table_validator() -> tuple[SchemaValidator, type[ValidationError]]:
    return _build_validator(frozenset(BY_NAME))


def _build_validator(names: frozenset[str]) -> tuple[SchemaValidator, type[ValidationError]]:
    from .._model import (
        core as _core,  # pydantic-core's compiled validator, loaded alone (see there)
    )

    schemas: dict[int, Any] = {}  # one schema per kind, shared by its settings
    fields = {}
    for f in FIELDS:
        if f.name in names:
            schema = schemas.get(id(f.kind))
            if schema is None:
                schema = schemas[id(f.kind)] = f.kind.core_schema(shared=True)
            fields[f.name] = _core.typed_dict_field(schema, required=False)
    table = _core.typed_dict_schema(fields, total=False)
    schema = _core.definitions_schema(table, [plain_definition()])  # one compiled pattern
    validator, error = _core.validator_types()
    return validator(schema), error


_DERIVED_LAYER = LayerData("derived")


def _fix(layer: LayerData, location: str) -> str:
    if layer is _DERIVED_LAYER:
        return f"set it explicitly, or correct what it derives from ({location})"
    source = BY_LAYER.get(layer.layer)
    return source.fix(location) if source else f"correct the value given in {location}"


def _describe(err: Mapping[str, Any], setting: Setting, value: Any) -> str:
    """What ``setting`` expects, with what pydantic-core found wrong with ``value``."""
    kind, expected, secret = err["type"], setting.kind.expected, setting.secret
    inner = () if secret else err["loc"][1:]  # a key of a secret's map (a header name) is secret
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if isinstance(value, (bytes, bytearray)):  # pydantic-core reads bytes as UTF-8 text
        value = bytes(value).decode("utf-8", "replace")
    if not inner and setting.kind.text and isinstance(value, str):
        problem = plain_problem(value)  # a control character and where: none of the text
        if problem is not None:
            return f"{expected} ({problem})"
    if kind == "string_pattern_mismatch" and not inner:
        diagnose = setting.kind.diagnose
        if diagnose is None or secret or not isinstance(value, str):
            return expected
        return f"{expected} ({diagnose(value)})"
    where = "".join(f"[{k!r}]" for k in inner)
    detail = f"{where}: {msg}" if where else msg
    return f"{expected} ({detail})"


def _held(
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
    # No repr shows a secret (see _kinds.conceal): a secret setting's value, or text that may
    # hold a URL's password (the others are held as they are).
    for name in [n for n, v in validated.items() if n in _SECRET or (type(v) is str and "@" in v)]:
        validated[name] = conceal(validated[name], secret=name in _SECRET)
    return validated, problems


def _freeze(
    validated: dict[str, Any], name: str, winners: Mapping[str, tuple[LayerData, Any]]
) -> Problem | None:
    """Freeze ``validated[name]`` in place; the problem of a value nested too deeply, if so."""
    try:
        validated[name] = freeze(validated[name])
    except TooDeep as exc:
        layer, raw = winners[name]
        fix = _fix(layer, raw.location)
        return Problem.bad_value(
            BY_NAME[name].env, layer.layer, raw.location, expected=str(exc), fix=fix
        )
    return None


def _holds_mark(values: Iterable[Any]) -> bool:
    """Whether any of ``values`` is text holding a secret reference's mark (one C-level scan)."""
    return MARK in "\0".join([v for v in values if isinstance(v, str)])


def _validate(
    winners: Mapping[str, tuple[LayerData, Any]],
) -> tuple[dict[str, Any], list[Problem]]:
    """The winners' values validated in one pydantic-core call, and the problems of the rest.

    Secret references are parsed, not validated: they are fetched (and validated) when read.
    """
    raw = {name: w[1].value for name, w in winners.items()}
    references: dict[str, Reference] = {}
    problems: list[Problem] = []
    if _holds_mark(raw.values()):
        references, problems = _references(winners)
        unread = {BY_ENV[p.setting].name for p in problems} | references.keys()
        raw = {name: value for name, value in raw.items() if name not in unread}
    validator, validation_error = _validator(raw)
    try:
        validated = validator.validate_python(raw)
    except validation_error as exc:
        errors = exc.errors(include_url=False, include_input=False)
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
                expected=_describe(err, setting, raw_value.value),
                fix=_fix(layer, raw_value.location),
            )
        )
    rest = {name: winners[name] for name in raw if name not in bad}
    # the valid values too (one more call, on this path only): their problems come with these
    return {**(_validate(rest)[0] if rest else {}), **references}, problems


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
            if isinstance(parsed, Reference) and not setting.secret:
                parsed = (
                    "a plain value: a secret reference is fetched only for a secret setting "
                    f"({', '.join(_SECRET_NAMES)})"
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
                        fix=_fix(layer, raw.location),
                    )
                )
    return references, problems


def _strict(inputs: Inputs, problems: list[Problem]) -> bool:
    if inputs.strict is not None:
        return inputs.strict
    text = inputs.env.get("METAFLOW_CONFIG_STRICT", "")
    if not text:
        return False
    try:
        return parse_bool(text)
    except ValueError:
        problems.append(
            Problem.bad_value(
                "METAFLOW_CONFIG_STRICT",
                "env",
                "METAFLOW_CONFIG_STRICT",
                value=repr(text),
                expected=BOOL.expected,
                fix="set METAFLOW_CONFIG_STRICT to 1 or 0",
            )
        )
        return False


#: Unknown keys reported one by one per layer; the rest are counted in one line.
MAX_UNKNOWN_REPORTED = 10


def _unknown(layer: LayerData, strict: bool, problems: list[Problem], notes: list[str]) -> None:
    """Report a layer's unknown keys with a did-you-mean (errors when strict)."""
    for key, location in layer.unknown[:MAX_UNKNOWN_REPORTED]:
        hint = suggest(key)
        if strict:
            problems.append(
                Problem.bad_value(
                    key, layer.layer, location, value="", expected="a known setting", fix=hint
                )
            )
        else:
            where = layer.path or location  # a file, or the variable
            notes.append(f"unknown setting {key} ({layer.layer}: {where}); {hint}")
    rest = len(layer.unknown) - MAX_UNKNOWN_REPORTED
    if rest > 0:
        where = layer.path or layer.layer
        text = f"{rest} more unknown keys in {where}"
        fix = "remove them; `metaflow-config docs` lists every setting"
        if strict:
            problems.append(
                Problem.bad_value(
                    text, layer.layer, where, value="", expected="known settings only", fix=fix
                )
            )
        else:
            notes.append(f"{text}; {fix}")


def untrusted_note(layer: LayerData) -> str:
    """The one sentence of a project file whose sensitive keys are not applied (see ``_trust``)."""
    keys = ", ".join(layer.untrusted)
    decide = "decides" if len(layer.untrusted) == 1 else "decide"
    return (
        f"{layer.path} ({layer.layer}) sets {keys}, which {decide} where data or credentials "
        f"go; not applied: {layer.distrust}"
    )


def _untrusted(layer: LayerData, strict: bool, problems: list[Problem], notes: list[str]) -> None:
    """Report the sensitive keys an untrusted project file set: one warning (errors when strict)."""
    if not layer.untrusted:
        return
    if not strict:
        notes.append(untrusted_note(layer))
        return
    why, _, advice = layer.distrust.partition("; ")
    for key, raw in layer.untrusted.items():
        field = BY_ENV.get(key)
        shown = field.show(raw.value) if field else show_value(raw.value, secret=True)
        problems.append(
            Problem.bad_value(
                key,
                layer.layer,
                raw.location,
                value=shown,
                expected="a value from a trusted source (it decides where data or credentials "
                f"go), but {layer.path} is a project file and {why}",
                fix=advice,
            )
        )


def resolve(inputs: Inputs, reuse: Mapping[str, LayerData] | None = None) -> Resolution:
    """Resolve every setting from ``inputs``; raise ConfigError with every problem found.

    ``reuse`` holds layers already read (by layer name) by a resolution that succeeded, to be
    used instead of reading them again: an ``override`` scope layers its values on the snapshot
    it was entered from, and what that snapshot already reported is not reported twice.
    """
    reuse = reuse or {}
    layers = {
        layer.name: reuse[layer.name] if layer.name in reuse else layer.read(inputs)
        for layer in LAYERS
    }
    fresh = tuple(data for name, data in layers.items() if name not in reuse)
    problems = [p for layer in fresh for p in layer.problems]

    winners: dict[str, tuple[LayerData, Any]] = {}
    for layer in layers.values():
        for name, raw in layer.values.items():
            winners[name] = (layer, raw)
    validated, invalid = _validate(winners)
    problems.extend(invalid)
    validated, unheld = _held(validated, winners)
    problems.extend(unheld)

    strict = _strict(inputs, problems)
    notes: list[str] = []
    for layer in fresh:
        _unknown(layer, strict, problems, notes)
        _untrusted(layer, strict, problems, notes)
        notes.extend(layer.warnings)
    if problems:
        raise ConfigError(problems)
    notes.extend(_shadowed_problems(fresh, winners))

    values = _DEFAULTS.copy()
    origins = {name: (w[0].layer, w[1].location) for name, w in winners.items()}
    values.update(validated)
    _derive(values, origins, Context(inputs.env, inputs.cwd))
    if notes:
        if not all(map(str.isprintable, notes)):  # keys and paths of input: no escapes
            notes = [printable(text) for text in notes]
        level = _caller_level()
        for text in notes:
            warnings.warn(text, ConfigWarning, stacklevel=level)
    return Resolution(inputs, values, origins, layers, tuple(notes))


#: the package's folder (this module's is one below it)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _caller_level() -> int:
    """The ``stacklevel`` that attributes a warning to the first caller outside this package."""
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


_NO_NAMES: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=256)
def _rederived(changed: frozenset[str], unset: frozenset[str]) -> tuple[Setting, ...]:
    """The derived settings to derive again when ``changed`` changed, in DERIVED order.

    Those that depend on any of them, and those of them that no layer sets any more (``unset``):
    their derived default is back. Kept by name set: a scope's names are the same every entry.
    """
    dependents = _dependents()
    again = {d.name for name in changed for d in dependents[name]} | unset
    return tuple(d for d in DERIVED if d.name in again)


@functools.lru_cache(maxsize=1)
def _dependents() -> dict[str, tuple[Setting, ...]]:
    """For each setting, the derived settings that depend on it (directly or not), in order.

    Computed on the first ``override`` scope, not at import.
    """
    found: dict[str, set[str]] = {f.name: set() for f in FIELDS}
    for setting in DERIVED:
        assert setting.derive is not None  # noqa: S101 - DERIVED holds only derived settings
        for base in setting.derive.bases:
            found[base].add(setting.name)
            for dependents in found.values():
                if base in dependents:
                    dependents.add(setting.name)
    return {name: tuple(d for d in DERIVED if d.name in names) for name, names in found.items()}


def _derive(
    values: dict[str, Any],
    origins: dict[str, tuple[str, str]],
    ctx: Context,
    only: Iterable[Setting] = DERIVED,
) -> None:
    """Compute the derived defaults no layer set, and validate them like any value.

    ``only`` (in DERIVED order) restricts it to those derivations: the ones that depend on what
    changed since ``values`` were derived; where one has nothing to derive from any more, its
    default is back.

    A derived value is only as good as what it derives from: ``DATATOOLS_SUFFIX="a b"`` or a
    ``$USER`` holding a newline would give a value no layer could set, so it is an error naming
    the derivation and its bases.
    """
    _check_derived(_derived(values, origins, ctx, only), origins)


def _derived(
    values: dict[str, Any],
    origins: dict[str, tuple[str, str]],
    ctx: Context,
    only: Iterable[Setting],
) -> dict[str, Any]:
    """Compute the derived defaults (see :func:`_derive`); the values to validate, by name.

    A setting a layer set (``origins`` names a layer, not ``derived``) keeps its value. No
    derivation reads a secret setting (a test of the table holds it), so none reads a secret
    reference: references are honoured in secret settings only.
    """
    derived: dict[str, Any] = {}
    for setting in only:
        derive = setting.derive
        assert derive is not None  # noqa: S101 - DERIVED holds only derived settings
        name = setting.name
        origin = origins.get(name)
        if origin is not None and origin[0] != "derived":  # set explicitly: it wins
            continue
        value, location = derive.fn(values, ctx)
        if value is not None:
            values[name] = value
            origins[name] = ("derived", location)
            derived[name] = value
        elif only is not DERIVED:  # nothing to derive from any more: the default again
            values[name] = _DEFAULTS[name]
            origins.pop(name, None)
    return derived


def _check_derived(derived: dict[str, Any], origins: Mapping[str, tuple[str, str]]) -> None:
    """Raise ConfigError naming each invalid derived value (one call when all are valid)."""
    if derived and not _valid(derived):  # the messages are built on this path only
        raws = {n: (_DERIVED_LAYER, Raw(v, origins[n][1])) for n, v in derived.items()}
        raise ConfigError(_validate(raws)[1])


def _valid(values: dict[str, Any]) -> bool:
    """Whether every one of ``values`` is valid (one pydantic-core call, no messages built)."""
    validator, validation_error = _validator(values)
    try:
        validator.validate_python(values)
    except validation_error:
        return False
    return True


def resolve_over(parent: Resolution, inputs: Inputs, fresh: LayerData | None = None) -> Resolution:
    """``parent`` with the override layer read from ``inputs`` (which differ in it alone).

    What an ``override`` scope costs on entry: its values are validated, the settings derived
    from them derived again, and everything else is ``parent``'s, as :func:`resolve` would give.
    ``fresh`` is that override layer when the caller has it already (``_layers.scope_layer``).
    """
    override = BY_LAYER["override"]
    fresh = override.read(inputs) if fresh is None else fresh
    if fresh.problems:
        raise ConfigError(fresh.problems)
    before = parent.layers[override.name].values
    layers = {**parent.layers, override.name: fresh}
    # What the scope sets differently (outside any other scope, ``before`` is empty: each of
    # its values), then what it no longer sets: a lower layer may set that.
    winners = {n: (fresh, raw) for n, raw in fresh.values.items() if before.get(n) != raw}
    changed = set(winners)
    for name in before.keys() - fresh.values.keys():
        changed.add(name)
        for data in layers.values():  # lowest first: the last one holding it wins
            if name in data.values:
                winners[name] = (data, data.values[name])
    resolution = _over_at_once(parent, inputs, layers, winners, changed)
    if resolution is not None:
        return resolution
    validated, problems = _validate(winners)
    if not problems:
        validated, problems = _held(validated, winners)
    if problems:
        raise ConfigError(problems)
    resolution, derived = _rebase(
        parent, inputs, layers=layers, winners=winners, changed=changed, held=validated
    )
    _check_derived(derived, resolution.origins)
    return resolution


def _over_at_once(
    parent: Resolution,
    inputs: Inputs,
    layers: dict[str, LayerData],
    winners: dict[str, tuple[LayerData, Raw]],
    changed: set[str],
) -> Resolution | None:
    """:func:`resolve_over` in one pydantic-core call, where the changed values allow it.

    When every changed value is text of a text kind (``Kind.text``: a valid one is its own
    validated value), the settings derived from them derive from the raw text exactly as from
    the validated values, and the changed and the derived values are validated together.
    ``None`` where that does not apply (another kind, a secret reference, a value that is not
    ``str``) or anything is invalid: the two-step path then gives the answer, and every message.
    """
    raw: dict[str, str] = {}
    plain = True  # no value to conceal: none secret, none a URL that may hold a password
    for name, (_, given) in winners.items():
        value = given.value
        if type(value) is not str or name not in _TEXT or MARK in value:
            return None
        raw[name] = value
        plain = plain and name not in _SECRET and "@" not in value
    held = raw if plain else _held(dict(raw), winners)[0]  # text: nothing to freeze
    resolution, derived = _rebase(
        parent, inputs, layers=layers, winners=winners, changed=changed, held=held
    )
    batch = {**raw, **derived}
    validator, validation_error = _validator(batch)
    try:
        validated = validator.validate_python(batch)
    except validation_error:
        return None
    if not raw.items() <= validated.items():  # a value validation changed: not text after all
        return None
    return resolution


def _rebase(
    parent: Resolution,
    inputs: Inputs,
    *,
    layers: dict[str, LayerData],
    winners: Mapping[str, tuple[LayerData, Raw]],
    changed: set[str],
    held: Mapping[str, Any],
) -> tuple[Resolution, dict[str, Any]]:
    """``parent`` with the ``changed`` settings' ``held`` values, and what derives from them.

    A changed setting missing from ``held`` is set by no layer any more: its default is back.
    Returns the resolution and the derived values it holds that are still to be validated.
    """
    # dict.copy: a block copy in C (dict() inserts item by item on Python 3.9)
    values = parent.values.copy()
    origins = parent.origins.copy()
    for name in changed:
        if name in held:
            values[name] = held[name]
            layer, raw = winners[name]
            origins[name] = (layer.layer, raw.location)
        else:  # no layer sets it any more
            values[name] = _DEFAULTS[name]
            origins.pop(name, None)
    unset = (
        _NO_NAMES
        if changed <= held.keys()
        else frozenset(n for n in changed if n not in held and BY_NAME[n].derive)
    )
    only = _rederived(frozenset(changed), unset)  # what to derive again, in DERIVED order
    derived: dict[str, Any] = {}
    if only:
        derived = _derived(values, origins, Context(inputs.env, inputs.cwd), only)
    return Resolution(inputs, values, origins, layers, ()), derived


def _shadowed_problems(
    fresh: tuple[LayerData, ...], winners: Mapping[str, tuple[LayerData, Raw]]
) -> list[str]:
    """Warnings for invalid values that a higher layer hides: latent, not yet in force."""
    notes: list[str] = []
    for layer in fresh:
        hidden = {
            name: (layer, raw) for name, raw in layer.values.items() if winners[name][1] is not raw
        }
        for problem in _validate(hidden)[1] if hidden else ():
            above = winners[BY_ENV[problem.setting].name][0].layer
            notes.append(f"{problem} (not in force: the {above} layer sets it)")
    return notes


def check_layer(data: LayerData) -> list[Problem]:
    """Every problem of one layer on its own: what reading it found, then each invalid value.

    Values are validated exactly as :func:`resolve` validates them (the same validator, the same
    messages), without merging other layers in: for checking a file before it is written.
    """
    winners = {name: (data, raw) for name, raw in data.values.items()}
    return [*data.problems, *_validate(winners)[1]]


def validate_value(
    setting: Setting, raw: Any, *, layer: str = "override", location: str = ""
) -> Any:
    """The typed value of ``setting`` for the raw value ``raw``, validated as :func:`resolve` does.

    Raises:
        ConfigError: with the one problem (setting, masked value, what was expected).

    """
    value = Raw(raw, location or setting.env)
    validated, problems = _validate({setting.name: (LayerData(layer), value)})
    if problems:
        raise ConfigError(problems)
    return validated[setting.name]
