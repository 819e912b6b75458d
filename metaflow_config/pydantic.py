"""Settings the library does not declare: pydantic-settings models resolved in the same layers.

::

    from pydantic import SecretStr
    from pydantic_settings import SettingsConfigDict
    from metaflow_config.pydantic import MetaflowBaseSettings

    class Acme(MetaflowBaseSettings):
        \"\"\"ACME's Metaflow settings.\"\"\"
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
        gpu_queue: str | None = None
        api_token: SecretStr | None = None

    Acme()                         # field defaults < profile < local file < METAFLOW_ACME_* <
                                   # override() in force < keyword arguments
    settings.section(Acme)         # the same, from a snapshot's own inputs (cached there)

Registered with the entry point group ``metaflow_config.sections`` (``acme =
"acme_mf.config:Acme"``), its keys are known to every layer, ``override()``, ``settings[...]``,
``explain`` and ``to_env`` (see ``_sections``). :class:`LayerSource` offers each layer as a
pydantic-settings source for a model's own ``settings_customise_sources``.

Importing this module imports pydantic-settings; ``import metaflow_config`` does not.
"""

from __future__ import annotations

import dataclasses
import json
import types
import weakref
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Union, cast, get_args, get_origin, get_type_hints

import pydantic as _pydantic
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from typing_extensions import is_typeddict

from ._display import (
    MASK,
    mask_url_password,
    mask_value,
    redact,
    show_value,
    shown_as,
    url_passwords,
)
from ._model.fields import is_unset
from ._model.jsontext import decode_json, secret_texts
from ._model.kinds import INT
from ._model.values import SecretDict, conceal, freeze
from ._resolve.validate import given_instead
from ._scope import current
from ._snapshot.settings import Settings, resolution_of
from ._sources.data import LayerData, Raw
from ._sources.layers import LAYERS
from ._sources.sections import registry
from .errors import ConfigError, Problem

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._sources.sections import SectionModel

__all__ = ["LayerSource", "MetaflowBaseSettings", "bound", "resolve_model"]

#: the layers a model is being resolved from (``Settings.section``); else those in force
_BOUND: ContextVar[Mapping[str, LayerData] | None] = ContextVar(
    "metaflow_config_section", default=None
)


def _layers() -> Mapping[str, LayerData]:
    """The layers models resolve from here: those bound, else the snapshot in force's."""
    layers = _BOUND.get()
    return resolution_of(current()).layers if layers is None else layers


@contextmanager
def _binding(layers: Mapping[str, LayerData]) -> Iterator[None]:
    token = _BOUND.set(layers)
    try:
        yield
    finally:
        _BOUND.reset(token)


@contextmanager
def bound(snapshot: Settings) -> Iterator[None]:
    """Resolve models from ``snapshot`` in the enclosed code (what ``Settings.section`` does)."""
    with _binding(resolution_of(snapshot).layers):
        yield


def _key(settings_cls: type[BaseSettings], field_name: str) -> str:
    return (str(settings_cls.model_config.get("env_prefix") or "") + field_name).upper()


class LayerSource(PydanticBaseSettingsSource):
    """One of metaflow_config's layers (``profile``, ``local``, ``env``, ``override``).

    Reads the values the layer holds for the model's keys (``env_prefix`` + field name) in the
    snapshot in force (or the one ``Settings.section`` resolves from); JSON text is decoded for
    complex fields, as pydantic-settings' environment source does. The empty string and JSON
    ``null`` mean "not set", as in every layer.
    """

    def __init__(self, settings_cls: type[BaseSettings], layer: str) -> None:
        super().__init__(settings_cls)
        names = [x.name for x in LAYERS]
        if layer not in names:
            raise ConfigError(
                [Problem.not_one_of("LayerSource(layer=...)", layer, names, "LayerSource()")]
            )
        self.layer = layer

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        """The raw value of ``field_name`` in this layer (``None`` when it does not set it)."""
        key, how = _shape(self.settings_cls)[field_name]
        raw = _layers()[self.layer].raw(key)
        value = None if raw is None or is_unset(raw.value) else raw.value
        return value, key, value is not None and how == JSON_TEXT

    def __call__(self) -> dict[str, Any]:
        """The values this layer holds for the model, by the names the model takes them by."""
        data = _layers()[self.layer]
        if not data.extra and not data.loose:
            return {}
        return _by_argument(self.settings_cls, _layer_values(_shape(self.settings_cls), data))


#: how a field's text is read: as it is, as JSON, or as JSON where it is an object or array
PLAIN, JSON_TEXT, JSON_IF_CONTAINER = 0, 1, 2

#: model -> {field name: (key, how its text is read)}; pydantic-settings' test is costly
_SHAPES: dict[type[BaseSettings], dict[str, tuple[str, int]]] = {}


def _shape(cls: type[BaseSettings]) -> dict[str, tuple[str, int]]:
    """Each field of ``cls`` by name: its key and how its text is read (remembered per model).

    As pydantic-settings' environment source reads text: JSON for a complex field (a list, a
    dict, a model); for a union with a complex arm (``Optional[dict]``, ``Union[int, list]``)
    JSON where the text is an object or an array, the text as it is otherwise.
    """
    shape = _SHAPES.get(cls)
    if shape is None:
        probe = LayerSource(cls, LAYERS[0].name)
        shape = {}
        for name, field in cls.model_fields.items():
            how = PLAIN
            if probe.field_is_complex(field):
                how = JSON_TEXT
            elif get_origin(field.annotation) in _UNIONS and any(
                probe.field_is_complex(FieldInfo.from_annotation(arm))
                for arm in get_args(field.annotation)
                if arm is not type(None)
            ):
                how = JSON_IF_CONTAINER
            shape[name] = (_key(cls, name), how)
        # the arguments first: a thread that finds the shape finds them too
        _ARGS[cls] = {name: _argument(cls, name, field) for name, field in cls.model_fields.items()}
        _SHAPES[cls] = shape
    return shape


#: model -> {field name: the name its ``__init__`` takes the field's value by}
_ARGS: dict[type[BaseSettings], dict[str, str]] = {}


def _argument(cls: type[BaseSettings], name: str, field: FieldInfo) -> str:
    """The name ``cls(...)`` takes ``name``'s value by.

    The field's alias where it has one (a key is always ``env_prefix`` + field name), unless
    the model also takes field names.
    """
    config = cls.model_config
    if config.get("populate_by_name") or config.get("validate_by_name"):
        return name
    alias = field.validation_alias if field.validation_alias is not None else field.alias
    if isinstance(alias, str):
        return alias
    choices = getattr(alias, "choices", None)  # AliasChoices: its first plain name
    if choices and isinstance(choices[0], str):
        return choices[0]
    return name


def _by_argument(cls: type[BaseSettings], values: dict[str, Any]) -> dict[str, Any]:
    """``values`` (by field name) by the names ``cls(...)`` takes them by."""
    _shape(cls)
    args = _ARGS[cls]
    return {args[name]: value for name, value in values.items()}


def _field_name(cls: type[BaseSettings], argument: str) -> str:
    """The field a validation error's location names (by its argument name, or its own)."""
    _shape(cls)
    for name, arg in _ARGS[cls].items():
        if arg == argument:
            return name
    return argument


_UNIONS = (Union, getattr(types, "UnionType", Union))  # X | Y is types.UnionType from 3.10


def _layer_values(shape: dict[str, tuple[str, int]], data: LayerData) -> dict[str, Any]:
    """The values one layer holds for a model's fields (:meth:`LayerData.raw`), by field name.

    JSON text is decoded for complex fields, as pydantic-settings' environment source does, but
    strictly (as every layer reads JSON: no ``NaN``, nesting bounded at ``MAX_JSON_DEPTH``); text
    that is not such JSON is kept, for validation to refuse (and :func:`_problems` to say why).
    The empty string and JSON ``null`` mean "not set".
    """
    found: dict[str, Any] = {}
    for name, (key, how) in shape.items():
        raw = data.raw(key)
        if raw is None or is_unset(raw.value):
            continue
        value = raw.value
        if how and isinstance(value, str):
            decoded, reason = decode_json(value, bounded=True)
            if reason is None and (how == JSON_TEXT or isinstance(decoded, (dict, list))):
                value = decoded
        found[name] = value
    return found


def _deep_update(mapping: dict[str, Any], updating: dict[str, Any]) -> dict[str, Any]:
    """``mapping`` updated by ``updating``, nested dicts merged: how pydantic-settings merges."""
    updated = mapping.copy()
    for key, value in updating.items():
        if key in updated and isinstance(updated[key], dict) and isinstance(value, dict):
            updated[key] = _deep_update(updated[key], value)
        else:
            updated[key] = value
    return updated


#: pydantic-settings' hooks; a model defining one of its own resolves through BaseSettings
_HOOKS = frozenset(
    {"settings_customise_sources", "_settings_build_values", "_settings_init_sources"}
)

#: the settings-only configuration keys (not pydantic's own) other than the env_prefix
_SETTINGS_KEYS = (
    frozenset(BaseSettings.model_config) - frozenset(ConfigDict.__annotations__) - {"env_prefix"}
)

#: model -> whether it resolves from the layers alone (see ``_direct``)
_DIRECT: dict[type[BaseSettings], bool] = {}


def _direct(cls: type[BaseSettings]) -> bool:
    """Whether ``cls()`` is exactly the layers merged and validated (remembered per model).

    True when nothing but the layers can contribute: the model keeps our sources and
    pydantic-settings' hooks, and its settings-only configuration (``cli_parse_args``,
    ``nested_model_default_partial_update``, ``json_file``, ...) is BaseSettings' default. Then
    ``MetaflowBaseSettings`` merges the layers itself, as pydantic-settings would, instead of
    letting BaseSettings build its default sources first (which read all of ``os.environ``,
    twice, to be discarded). Anything else goes through BaseSettings.
    """
    direct = _DIRECT.get(cls)
    if direct is None:
        config, base = cls.model_config, BaseSettings.model_config
        direct = all(config.get(key) == base.get(key) for key in _SETTINGS_KEYS)
        for klass in cls.__mro__:
            if klass is MetaflowBaseSettings:
                break
            direct = direct and not _HOOKS & klass.__dict__.keys()
        _DIRECT[cls] = direct
    return direct


def _layered(cls: type[BaseSettings]) -> dict[str, Any]:
    """The layers' values for ``cls``, merged as BaseSettings merges its sources.

    Highest layer first, each laid under what the higher ones hold (nested dicts merged): the
    order pydantic-settings applies. It matters: a scalar between two dicts does not cut the
    lower dict off (profile ``{"k": {"p": 1}}``, local ``{"k": 2}``, env ``{"k": {"e": 3}}``
    give ``{"k": {"p": 1, "e": 3}}``).
    """
    shape, layers = _shape(cls), _layers()
    state: dict[str, Any] = {}
    for layer in reversed(LAYERS):
        data = layers[layer.name]
        if data.extra or data.loose:
            state = _deep_update(_layer_values(shape, data), state)
    return state


def env_text(value: Any) -> str | None:
    """A section's value as environment text (``None``: no variable can carry it).

    Text as it is (a ``SecretStr``, ``Secret[T]``, ... code gave as its secret: the container
    needs it); anything else as strict JSON, nested at most ``MAX_JSON_DEPTH`` levels (no
    ``NaN``, objects or non-JSON types); never text holding a NUL.
    """
    if isinstance(value, _SECRET_TYPES):  # e.g. a SecretStr code gave
        value = cast(Any, value).get_secret_value()
    if not isinstance(value, str):
        try:
            freeze(value)  # only to bound the nesting: TooDeep past MAX_JSON_DEPTH levels
            value = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError, RecursionError):  # NaN, objects, too deep
            return None
    return value if "\0" not in value else None


def exported(
    cls: type[MetaflowBaseSettings], layers: Mapping[str, LayerData], model: MetaflowBaseSettings
) -> tuple[dict[str, str], list[str]]:
    """The environment that rebuilds ``model`` (``cls`` from ``layers``); the keys that cannot go.

    What the layers hold for the model, merged as the model merges them (a dict set in two
    layers travels merged), as text; then read back as a container reads it (its environment
    alone). A key whose text would not read back to the same field value (``{1: "x"}`` comes
    back ``{"1": "x"}``, a tuple a list, ``True`` for an ``int`` field fails) is refused, not
    exported. ``model`` is ``cls`` resolved from ``layers`` (the caller reports its problems).
    """
    shape = _shape(cls)
    with _binding(layers):
        state = _layered(cls)
    texts: dict[str, str] = {}
    refused: list[str] = []
    for name, value in state.items():
        text = env_text(value)
        if text is None:
            refused.append(shape[name][0])
        else:
            texts[shape[name][0]] = text
    read_back = LayerData("env", extra={key: Raw(text, key) for key, text in texts.items()})
    back = _layer_values(shape, read_back)
    again: Any = cls.__new__(cls)
    try:
        BaseModel.__init__(again, **_by_argument(cls, back))
    except ValidationError as exc:
        bad = {_field_name(cls, str(e["loc"][0])) for e in exc.errors() if e["loc"]} or set(back)
        refused.extend(shape[name][0] for name in sorted(bad) if name in shape)
    else:
        refused.extend(
            shape[name][0] for name in back if getattr(again, name) != getattr(model, name)
        )
    for key in refused:
        texts.pop(key, None)
    return texts, refused


def layer_problems(data: LayerData) -> list[Problem]:
    """The problems of the registered keys one layer holds (what ``import`` checks first).

    Each model is checked on this layer alone. Only the fields the layer sets are judged
    (another layer may set the rest); a model's own validator, which judges values together,
    is left to the resolution.
    """
    known = registry()
    problems: list[Problem] = []
    for cls in {id(known[k].cls): known[k].cls for k in data.extra if k in known}.values():
        shape = _shape(cls)
        values = _layer_values(shape, data)
        try:
            BaseModel.__init__(cls.__new__(cls), **_by_argument(cls, values))
        except ValidationError as exc:
            secret = cls.secret_keys()
            quoted = _quoted(cls, {}, {data.layer: data})
            for err in exc.errors(include_url=False):
                name = _field_name(cls, str(err["loc"][0])) if err["loc"] else ""
                if name not in values:
                    continue
                key = shape[name][0]
                raw = data.extra[key]  # a registered key
                problems.append(
                    Problem.bad_value(
                        key,
                        data.layer,
                        raw.location,
                        value=show_value(raw.value, secret=key in secret),
                        expected=_redacted(
                            _expected(cls, name, err, raw.value), [*quoted, *_inputs(cls, err)]
                        )
                        + _inner(cls, name, err, secret=key in secret),
                        fix=f"correct or remove {raw.location or key}",
                    )
                )
        except Exception:  # noqa: S112 - a validator of its own: judged when resolved
            continue
    return problems


def resolve_model(cls: type[MetaflowBaseSettings], snapshot: Settings) -> MetaflowBaseSettings:
    """``cls`` resolved from ``snapshot``'s layers (what ``Settings.section`` gives)."""
    with bound(snapshot):
        return cls()


class MetaflowBaseSettings(BaseSettings):
    """A ``pydantic_settings.BaseSettings`` resolved in metaflow_config's layers.

    Precedence, lowest first: field defaults < profile < local ``.metaflow/config.json`` <
    ``METAFLOW_*`` environment (with the model's ``env_prefix``) < ``override()`` in force <
    keyword arguments. ``SecretStr`` fields (and ``json_schema_extra={"secret": True}``) are
    secrets, masked wherever metaflow_config shows values. A bad value is a ``ConfigError``
    naming the key, the layer and the place it came from.
    """

    def __init__(self, **values: Any) -> None:
        cls = type(self)
        inputs: dict[str, Any] = values
        try:
            if values or not _direct(cls):
                super().__init__(**values)
            else:  # the layers alone: what BaseSettings would give, without its default sources
                inputs = _by_argument(cls, _layered(cls))
                BaseModel.__init__(self, **inputs)
        except ValidationError as exc:
            problems = _problems(cls, exc, values)
        except ConfigError:
            raise
        except Exception as exc:  # a validator of the model's own raised something else
            # its message may quote an input: shown only where the model holds no secret, and
            # with the URL passwords of the inputs masked (a piece of one, too: no URL left)
            said = ""
            if not cls.secret_keys():
                said = f": {_redacted(str(exc), _quoted(cls, inputs, _layers()))}"
            problems = [
                _model_problem(
                    cls,
                    f"values {cls.__name__} validates (one of its validators raised "
                    f"{type(exc).__name__}{said})",
                    f", or the validators of {cls.__module__}.{cls.__qualname__}",
                )
            ]
        else:
            _conceal(self)
            return
        # A traceback shows its frames' locals (pytest -l, Sentry, rich): the values given and
        # those of the layers, secrets in plain text, are no locals of this frame when it raises.
        del inputs, values
        # Raised here, outside the handlers: pydantic's error (its inputs, secrets included)
        # is then neither the ConfigError's cause nor its context, in no traceback.
        raise ConfigError(problems)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments, then the layers from the highest (``override``) down."""
        return (init_settings, *(LayerSource(settings_cls, x.name) for x in reversed(LAYERS)))

    def __repr_args__(self) -> Any:
        """The fields as ``repr`` and ``str`` show them: a secret masked, unset as ``None``.

        A URL's password is masked too.

        As a built-in section shows its settings (a value ``_conceal`` could not hold so, a URL
        type or a nested model, is shown by its ``repr`` with the passwords masked).
        """
        secret = _secret_fields(type(self))
        for name, value in super().__repr_args__():
            masked = name in secret and value is not None  # unset shows as unset, as built-ins
            yield name, shown_as(MASK) if masked else mask_value(value)

    @classmethod
    def secret_keys(cls) -> set[str]:
        """The keys (``METAFLOW_...``) of the fields holding secrets.

        A field is secret when it is one of pydantic's secret types (``SecretStr``,
        ``SecretBytes``, ``Secret[T]``, a subclass) or marked ``json_schema_extra={"secret":
        True}``, or holds one anywhere inside (a model, a list or dict of them): its whole value
        is masked.
        """
        return {_key(cls, name) for name in _secret_fields(cls)}

    @classmethod
    def sensitive_keys(cls) -> set[str]:
        """The keys (``METAFLOW_...``) only a trusted source may set (see README, "Trust").

        Every secret key, and the fields marked ``json_schema_extra={"sensitive": True}``: those
        that decide where data or credentials go (an endpoint, a bucket, a role), or hold such a
        field anywhere inside (a model grouping an endpoint's fields). A project file sets them
        only once the user has trusted it (``metaflow-config trust``).
        """
        marked = {
            _key(cls, name)
            for name, field in cls.model_fields.items()
            if _marked(field, "sensitive")
        }
        return marked | cls.secret_keys()

    # -- the section protocol (``_sources.sections.SectionModel``): how the package calls it --

    @classmethod
    def _metaflow_keys(cls) -> tuple[str, dict[str, str], frozenset[str], frozenset[str]]:
        """Its ``env_prefix``, its keys by field, its secret and sensitive keys."""
        prefix = str(cls.model_config.get("env_prefix") or "")
        keys = {_key(cls, name): name for name in cls.model_fields}
        return prefix, keys, frozenset(cls.secret_keys()), frozenset(cls.sensitive_keys())

    @classmethod
    def _metaflow_resolve(cls, layers: Mapping[str, LayerData]) -> MetaflowBaseSettings:
        """The model resolved from ``layers`` (a ``ConfigError`` when it refuses them)."""
        with _binding(layers):
            return cls()

    @classmethod
    def _metaflow_field(cls, name: str) -> tuple[Any, str]:
        """The default of the field ``name`` and its description (``""``: none)."""
        field = cls.model_fields[name]
        return field.get_default(), field.description or ""

    @classmethod
    def _metaflow_export(
        cls, layers: Mapping[str, LayerData], model: Any
    ) -> tuple[dict[str, str], list[str]]:
        """The environment that rebuilds ``model``; the keys whose values cannot travel."""
        return exported(cls, layers, model)


#: pydantic's secret types: ``SecretStr``, ``SecretBytes``, ``Secret[T]`` (pydantic 2.7+), and any
#: subclass of them
_SECRET_TYPES: tuple[type, ...] = (
    _pydantic.SecretStr,
    _pydantic.SecretBytes,
    *((_pydantic.Secret,) if hasattr(_pydantic, "Secret") else ()),
)


def _secret(field: FieldInfo) -> bool:
    """Whether ``field`` holds a secret: itself, or a field of a model anywhere inside it.

    Secret: marked so (``json_schema_extra={"secret": True}``), or typed with one of pydantic's
    secret types or a subclass (``Optional[SecretStr]``, ``Secret[int]``, ``list[Token]``).
    """
    return _marked(field, "secret")


def _marked(field: FieldInfo, mark: str) -> bool:
    """Whether ``field`` is marked ``mark`` (``secret``, ``sensitive``), or holds such a field.

    Marked: ``json_schema_extra={mark: True}`` on it, or anywhere in its type: on an
    ``Annotated`` part (``Annotated[str, Field(json_schema_extra=...)] | None``, where pydantic
    leaves the mark inside the type), or on a field of a structure pydantic validates by its
    fields (a model, a dataclass, a ``TypedDict``, a ``NamedTuple``: ``Endpoint``,
    ``Optional[list[Endpoint]]``), its ``Field()`` default included; a secret also by its type
    (pydantic's secret types, a subclass), anywhere in it. A structure whose fields' types
    cannot be read here counts as marked: what cannot be told apart is masked, and withheld.
    """
    seen: dict[int, Any] = {}  # each part by id, and kept: a freed part's id may be reused
    pending: list[Any] = [field]
    while pending:
        part = pending.pop()
        if part is _UNREADABLE:
            return True
        if id(part) in seen:  # a type met twice (a recursive model) is looked at once
            continue
        seen[id(part)] = part
        if isinstance(part, FieldInfo):
            extra = part.json_schema_extra
            if isinstance(extra, dict) and extra.get(mark):
                return True
            pending.extend((part.annotation, *part.metadata))
            continue
        pending.extend(get_args(part))
        for candidate in (part, get_origin(part)):
            if not isinstance(candidate, type):
                continue
            if mark == "secret" and issubclass(candidate, _SECRET_TYPES):
                return True
            pending.extend(_fields_of(candidate))
    return False


#: What :func:`_fields_of` gives for a structure whose fields' types it cannot read.
_UNREADABLE = object()


def _fields_of(cls: type) -> list[Any]:
    """The parts pydantic validates an instance of ``cls`` by, field by field.

    Their ``FieldInfo`` (a ``Field()`` default of a dataclass or a ``NamedTuple`` too) or
    annotated types (``Annotated`` parts kept); none for a class that is not a model, a
    dataclass, a ``TypedDict`` or a ``NamedTuple``; :data:`_UNREADABLE` among them where the
    types cannot be read (a name only the defining function knew).
    """
    if issubclass(cls, BaseModel):
        return list(cls.model_fields.values())
    fields = getattr(cls, "__pydantic_fields__", None)  # a pydantic dataclass
    if isinstance(fields, dict):
        return list(fields.values())
    named_tuple = issubclass(cls, tuple) and hasattr(cls, "_fields")
    if not (dataclasses.is_dataclass(cls) or is_typeddict(cls) or named_tuple):
        return []
    defaults: list[Any] = []
    if dataclasses.is_dataclass(cls):
        defaults = [f.default for f in dataclasses.fields(cls)]
    elif named_tuple:
        defaults = list(getattr(cls, "_field_defaults", {}).values())
    parts: list[Any] = [d for d in defaults if isinstance(d, FieldInfo)]
    try:
        parts.extend(get_type_hints(cls, include_extras=True).values())
    except Exception:  # a name it cannot resolve from here (pydantic may, from its caller)
        parts.append(_UNREADABLE)
    return parts


def _model_problem(cls: type[MetaflowBaseSettings], expected: str, rest: str) -> Problem:
    """A problem of the model's values together (``METAFLOW_X_* (Model)``): no one input shown.

    ``rest`` ends the fix "correct the values of METAFLOW_X_*".
    """
    prefix = _key(cls, "")
    return Problem.bad_value(
        f"{prefix}* ({cls.__name__})",
        "",
        "",
        expected=expected,
        fix=f"correct the values of {prefix}*{rest}",
    )


def _conceal(model: MetaflowBaseSettings) -> None:
    """Hold ``model``'s values as a snapshot holds the built-in settings' values.

    A secret field's text as ``SecretText``, its ``dict`` as a ``SecretDict`` (still a mutable
    ``dict``); text holding a URL's password as ``PasswordURL`` wherever it is held (in a list, a
    set, a dict, a nested model): ``str`` and ``dict`` subclasses whose ``repr`` is masked, so
    that ``vars()``, ``pprint`` and the reprs of what holds them show no secret either. A value
    of another type (a pydantic URL type) keeps its own ``repr`` there; the model's own ``repr``
    and ``str`` mask it (``__repr_args__``). Plain text without an ``@`` costs a type test.
    """
    held = model.__dict__
    secret = _secret_fields(type(model))
    for name, value in held.items():
        if name in secret:
            held[name] = _held(value, secret=True)
        elif type(value) is not str or "@" in value:
            held[name] = _held(value, secret=False)


_SECRET_FIELDS: weakref.WeakKeyDictionary[type, frozenset[str]] = weakref.WeakKeyDictionary()


def _secret_fields(cls: type[MetaflowBaseSettings]) -> frozenset[str]:
    """The names of ``cls``'s secret fields (worked out once per class)."""
    found = _SECRET_FIELDS.get(cls)
    if found is None:
        fields = cls.model_fields
        found = _SECRET_FIELDS[cls] = frozenset(n for n, f in fields.items() if _secret(f))
    return found


def _held(value: Any, *, secret: bool) -> Any:
    """``value`` held with its text masked in every ``repr`` (see :func:`_conceal`)."""
    if type(value) is str:
        return conceal(value, secret=secret)
    if type(value) is dict:
        if secret:
            return SecretDict(value)
        return {key: _held(item, secret=False) for key, item in value.items()}
    if type(value) in (list, tuple, set, frozenset):
        return type(value)(_held(item, secret=secret) for item in value)
    if isinstance(value, BaseModel):
        for field, item in list(vars(value).items()):
            value.__dict__[field] = _held(item, secret=secret)
    return value


def _quoted(
    cls: type[MetaflowBaseSettings], given: Mapping[str, Any], layers: Mapping[str, LayerData]
) -> list[str]:
    """What no message about ``cls``'s values may quote (see :func:`_redacted`).

    The texts of its secret fields' values, as code gave them (``given``, by the names
    ``cls(...)`` takes) and as ``layers`` hold them; the URL passwords of all its values,
    whole and in the pieces a URL parser cuts them into.
    """
    secret = _secret_fields(cls)
    held: list[Any] = list(given.values())
    hidden = [value for argument, value in given.items() if _field_name(cls, argument) in secret]
    for key, name in cls._metaflow_keys()[1].items():
        for data in layers.values():
            raw = data.raw(key)
            if raw is not None:
                held.append(raw.value)
                if name in secret:
                    hidden.append(raw.value)
    return [*secret_texts(hidden), *url_passwords(held)]


def _inputs(cls: type[MetaflowBaseSettings], err: Mapping[str, Any]) -> list[str]:
    """The texts of the secret values pydantic's error ``err`` was about (its ``input``).

    A field's input, if that field is secret; a model validator's input (the values together),
    its secret fields' entries. What a layer or code gave is in :func:`_quoted` already; this
    is the rest (a model's own sources, a validator's ``mode="before"`` changes).
    """
    secret = _secret_fields(cls)
    given = err.get("input")
    if err["loc"]:
        return secret_texts([given]) if _field_name(cls, str(err["loc"][0])) in secret else []
    if isinstance(given, BaseModel):  # an "after" model validator's: the model itself
        given = dict(vars(given))
    if not isinstance(given, Mapping):
        return []
    return secret_texts(v for k, v in given.items() if _field_name(cls, str(k)) in secret)


def _redacted(text: str, quoted: Iterable[str]) -> str:
    """A message taken from pydantic (a validator's words), as it may be shown.

    Every message about a model's values goes through here: whatever its shape (``Value
    error, ...``, a ``PydanticCustomError``'s own template, a model validator's words), none of
    ``quoted`` (:func:`_quoted`, :func:`_inputs`) is in it, whole or in a piece (``nonnumeric
    port: 'pw@host'``), nor any other URL's password.
    """
    return mask_url_password(redact(text, _escaped_too(quoted)))


def _escaped_too(quoted: Iterable[str]) -> list[str]:
    """``quoted``, and each as a ``repr`` or JSON writes it.

    A validator's ``{v!r}`` writes a backslash or a tab of a secret escaped: as it is, the
    secret no longer matches.
    """
    import json

    forms: list[str] = []
    for text in quoted:
        once = repr(text)[1:-1]
        written = json.dumps(text, ensure_ascii=False)[1:-1]
        forms.extend(dict.fromkeys((text, once, repr(once)[1:-1], written)))
    return forms


def _said(message: str, *, secret: bool = False) -> str:
    """Pydantic's message as what was expected.

    ``Input should be a valid boolean, unable to interpret input`` is ``a valid boolean (unable
    to interpret input)``; a validator's ``Value error, ...`` is what its validator said, unless
    the value is ``secret`` (the validator's words may quote it).
    """
    for head in ("Input should be ", "Value error, ", "Assertion failed, "):
        if message.startswith(head):
            rest = message[len(head) :]
            if head != "Input should be ":
                return "a value its validator accepts" + ("" if secret else f" ({rest})")
            what, _, why = rest.partition(", ")
            return f"{what} ({why})" if why else what
    return message


#: What pydantic takes, by the type of its error, where its own words do not say it
_SAID_AS = {
    "bool_parsing": "a boolean: true/false, 1/0, yes/no, on/off, t/f or y/n, in any case",
    "bool_type": "a boolean: true/false, 1/0, yes/no, on/off, t/f or y/n, in any case",
    "int_parsing": INT.expected,
    "int_from_float": INT.expected,
    "float_parsing": "a number (e.g. 0.5)",
}


def _found_instead(value: Any, *, code: bool) -> str:
    """What a text field was given instead, in the words of where it came from.

    Given in code (``override()``), in Python's; in a file or variable, in JSON's. As the
    built-in settings say it (``_resolve.validate``).
    """
    what, how = given_instead(value, code=code)
    if code:
        return f"found {what}: {how}"
    return f"found {what}: " + (f"if the text is meant, {how}" if how else "this field reads text")


def _expected(
    cls: type[MetaflowBaseSettings],
    name: str,
    err: Mapping[str, Any],
    value: Any,
    *,
    code: bool = False,
) -> str:
    """What pydantic said of field ``name``, with why its text is not JSON where it takes JSON.

    ``value`` is what a layer held: text that ``_layer_values`` kept as text, not being JSON
    the field could take, is refused by validation; the JSON reason says why.
    """
    expected = _said(str(err["msg"]), secret=_key(cls, name) in cls.secret_keys())
    kind = str(err.get("type", ""))
    if kind in _SAID_AS:  # what pydantic takes, in words a user can act on
        return _SAID_AS[kind]
    nested = len(err["loc"]) > 1  # a part of the value (``_inner`` says where)
    if nested:
        value = err.get("input")  # pydantic's input: that part
    if kind == "string_type" and isinstance(value, (int, float, dict, list, tuple)):
        return f"{expected} ({_found_instead(value, code=code)})"
    if nested:  # the field's text was JSON (or it would not have a part): nothing to add
        return expected
    shape = _shape(cls)
    if name in shape and shape[name][1] != PLAIN and isinstance(value, str):
        reason = decode_json(value, bounded=True)[1]
        if reason is not None:
            return f"{expected} ({reason})"
    return expected


def _inner(cls: type[BaseSettings], name: str, err: Mapping[str, Any], *, secret: bool) -> str:
    """`` (at .gpu.count)``: where in field ``name``'s value pydantic refused.

    A nested model's field, a dict's key, a list's item. Of a secret field, a nested model's
    field names are said (code), its dicts' keys are not (a header's name may be secret):
    ``[...]``.
    """
    path = err["loc"][1:]
    if not path:
        return ""
    hint: Any = cls.model_fields[name].annotation if name in cls.model_fields else None
    said = []
    for step in path:
        if get_origin(hint) in _UNIONS and isinstance(step, str):
            member = next((a for a in get_args(hint) if _tag(a) == _tag(step)), None)
            if member is not None:  # pydantic's tag of the union's member it tried: no place
                hint = member
                continue
        fields = _model_fields(hint)
        if isinstance(step, str) and fields is not None and step in fields:
            said.append(f".{step}")
            hint = fields[step].annotation
        elif isinstance(step, int) and get_origin(hint) in (list, tuple, set, frozenset):
            said.append(f"[{step}]")
            hint = (get_args(hint) or (None,))[0]
        else:  # a key of a mapping (or a place the annotation does not tell): data
            said.append("[...]" if secret else f"[{step!r}]")
            args = get_args(hint)
            hint = args[-1] if len(args) == 2 else None
    return f" (at {''.join(said)})" if said else ""


def _tag(member: Any) -> str:
    """A union member as pydantic tags it in an error's location (``int``, ``list[int]``)."""
    text = member if isinstance(member, str) else getattr(member, "__name__", None)
    if text is None or get_args(member):
        text = repr(member).replace("typing.", "")
    return text.replace(" ", "").lower()


def _model_fields(hint: Any) -> Mapping[str, Any] | None:
    """The fields of the pydantic model ``hint`` is, or is optionally (``X | None``), or None."""
    candidates = get_args(hint) if get_origin(hint) in _UNIONS else (hint,)
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate.model_fields
    return None


def _problems(
    cls: type[MetaflowBaseSettings], exc: ValidationError, given: dict[str, Any]
) -> list[Problem]:
    """The problems of a model's validation, each with the layer and place of its value.

    What pydantic and the model's validators say may quote a value: every message is said
    through :func:`_redacted`, without the secret fields' values nor any URL password of the
    values given and of those the layers hold for the model, whole or in a piece.
    """
    layers = _layers()
    secret = cls.secret_keys()
    quoted = _quoted(cls, given, layers)
    problems = []
    for err in exc.errors(include_url=False):
        if not err["loc"]:  # the model's own validator: about its values together, none alone
            said = _redacted(_said(str(err["msg"])), [*quoted, *_inputs(cls, err)])
            problems.append(_model_problem(cls, said, f" that {cls.__name__} refuses together"))
            continue
        name = _field_name(cls, str(err["loc"][0]))
        key = _key(cls, name)
        if name in given:
            layer, location, value = "init", f"{cls.__name__}({name}=...)", given[name]
        else:
            layer, location, value = "default", "", err.get("input")
            for data in layers.values():
                raw = data.raw(key)
                if raw is not None:
                    layer, location, value = data.layer, raw.location, raw.value
        expected = _redacted(
            _expected(cls, name, err, value, code=layer == "override")
            if layer not in {"init", "default"}  # text a layer held, not code's argument
            else _said(str(err["msg"]), secret=key in secret),
            [*quoted, *_inputs(cls, err)],
        ) + _inner(cls, name, err, secret=key in secret)
        fix = {
            "env": f"correct or unset the environment variable {location}",
            "override": "pass a valid value to override()",
            "init": f"pass a valid {name} to {cls.__name__}()",
        }.get(layer, f"correct or remove {location or key}")
        problems.append(
            Problem.bad_value(
                key,
                layer,
                location,
                value=show_value(value, secret=key in secret or isinstance(value, SecretStr)),
                expected=expected,
                fix=fix,
            )
        )
    return problems


if TYPE_CHECKING:  # the type checker holds the class to the protocol the package calls it by
    _SECTION_MODEL: type[SectionModel] = MetaflowBaseSettings
