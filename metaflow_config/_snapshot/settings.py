"""The Settings snapshot: typed sections, lookup by name, explain, export to remote containers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._display import MASK, has_url_password, show_value
from .._model.fields import Section, Setting
from .._model.kinds import MAX_JSON_DEPTH, Reference, strict_loads, thaw
from .._model.table import BY_ENV, FIELDS, SECTIONS, Sections, find
from .._resolve.resolve import Inputs, Resolution, resolve, resolve_over
from .._sources.layers import LAYERS, LayerData, scope_layer
from ..errors import ConfigError, Problem
from . import views
from .views import VIEWS

if TYPE_CHECKING:
    from .explanation import Explanation, Shadowed

T = TypeVar("T")

__all__ = [
    "SFN_ENV_LIMIT",
    "TARGETS",
    "ExportedEnv",
    "Settings",
    "check_sfn_size",
    "environment_sizes",
    "lookup",
]

#: the class of each section: the table's, or the view adding its consumers' accessors
_SECTION_CLASSES: dict[str, type[Section]] = {**dict(SECTIONS), **VIEWS}


def _fetching(cls: type[Section]) -> type[Section]:
    """``cls`` for a snapshot holding secret references: their attributes fetch on first read.

    A subclass, so that the sections without references keep no ``__getattr__`` (their reads
    stay plain attribute loads); a fetched value is then stored as an attribute like any other.
    """
    made = _FETCHING.get(cls)
    if made is not None:
        return made
    by_attr = {f.attr: f for f in cls.fields}

    def __getattr__(self: Section, attr: str) -> Any:  # noqa: N807 - the hook itself
        field = by_attr.get(attr)
        if field is None:
            msg = f"{type(self).__name__!r} object has no attribute {attr!r}"
            raise AttributeError(msg)
        value = object.__getattribute__(self, "_snapshot")._value(field.name)
        object.__setattr__(self, attr, value)
        return value

    made = type(cls.__name__, (cls,), {"__getattr__": __getattr__, "__module__": cls.__module__})
    _FETCHING[cls] = made
    return made


_FETCHING: dict[type[Section], type[Section]] = {}


#: Where an exported environment goes: this machine, an AWS Batch job, a Step Functions task.
TARGETS = ("local", "batch", "sfn")
#: Step Functions rejects a state machine whose container overrides exceed this many characters.
SFN_ENV_LIMIT = 8192


def _section_of(name: str) -> Any:
    """(registered section, full key) of ``name`` when it is a registered section's key."""
    from .._sources.sections import find_key

    return find_key(name)


def model_problems(snapshot: Settings, cls: Any) -> list[Problem]:
    """The problems of building the registered model ``cls`` from ``snapshot`` (none: [])."""
    try:
        snapshot.section(cls)
    except ConfigError as exc:
        return list(exc.problems)
    return []


def lookup(name: str) -> Setting:
    """The setting called ``name`` (``METAFLOW_X``, an alias, or short ``X``); else KeyError."""
    field = find(name)
    if field is None:
        from .._sources.layers import suggest

        msg = f"{name} is not a Metaflow setting; {suggest(name)}"
        raise KeyError(msg)
    return field


class Settings(Sections):
    """An immutable, typed snapshot of one resolution of the Metaflow configuration.

    Read values through the sections (``s.batch.job_queue``), by environment name
    (``s["METAFLOW_BATCH_JOB_QUEUE"]``), ask where one came from (``s.explain(...)``), or export
    what a remote container needs (``s.to_env("batch")``). Build one with
    :func:`metaflow_config.load`; the process-wide ``settings`` has the same API.
    """

    # the sections with accessors of their consumers (``_views``), typed as such
    s3: views.S3
    datatools: views.Datatools
    service: views.Service
    batch: views.Batch
    sfn: views.StepFunctions

    _resolution: Resolution

    def __init__(self, resolution: Resolution) -> None:
        self.__dict__["_resolution"] = resolution

    def __getattr__(self, name: str) -> Any:
        """Build a section on its first read, then keep it (later reads find it directly).

        Sections are views of the values: an ``override`` scope's snapshot builds only those
        that its code reads.
        """
        cls = _SECTION_CLASSES.get(name)
        if cls is None:
            msg = f"{type(self).__name__!r} object has no attribute {name!r}"
            raise AttributeError(msg)
        values = self.__dict__["_resolution"].values
        if any(isinstance(values[f.name], Reference) for f in cls.fields):
            cls = _fetching(cls)
        section = cls(values)
        # for the accessors that export (Batch, SFN); not via __dict__ (see Section)
        object.__setattr__(section, "_snapshot", self)
        self.__dict__[name] = section
        return section

    # -- reading ---------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        """The typed value of the setting ``name`` (``METAFLOW_X``; aliases and ``X`` work too).

        A secret reference is fetched on this first read (see ``_references``). The keys of a
        registered section (``metaflow_config.sections``) read its model's fields.
        """
        if find(name) is None:
            section = _section_of(name)
            if section is not None:
                registered, key = section
                return getattr(self.section(registered.cls), registered.keys[key])
        return self._value(lookup(name).name)

    def section(self, cls: type[T]) -> T:
        """The model ``cls`` (a ``MetaflowBaseSettings``) resolved from this snapshot's inputs.

        Built once per snapshot; a bad value is a ``ConfigError`` naming where it came from.

        Raises:
            ConfigError: a value the model refuses; ``cls`` is not a ``MetaflowBaseSettings``.

        """
        cache = self._resolution.sections
        made = cache.get(cls) if isinstance(cls, type) else None
        if made is None:
            from ..pydantic import MetaflowBaseSettings, resolve_model

            if not (isinstance(cls, type) and issubclass(cls, MetaflowBaseSettings)):
                given = cls.__name__ if isinstance(cls, type) else type(cls).__name__
                raise ConfigError(
                    [
                        Problem.bad_argument(
                            "section(cls)",
                            given,
                            "a subclass of metaflow_config.pydantic.MetaflowBaseSettings",
                            "pass the model class (settings.section(Acme))",
                        )
                    ]
                )
            made = cache[cls] = resolve_model(cls, self)
        return cast(T, made)

    def _value(self, name: str) -> Any:
        """The value of the setting ``name`` (short): its reference fetched, if it holds one."""
        value = self._resolution.values[name]
        if isinstance(value, Reference):
            from .fetch import fetched

            return fetched(self, name, value)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and find(name) is not None

    def items(self) -> Iterator[tuple[str, Any]]:
        """Every setting as ``(environment name, typed value)``, in table order."""
        return ((f.env, self._value(f.name)) for f in FIELDS)

    def source(self, name: str) -> str:
        """The layer the value of ``name`` came from (see :meth:`explain` for the details)."""
        if find(name) is None and _section_of(name) is not None:
            return self.explain(name).source
        return self._resolution.origins.get(lookup(name).name, ("default", ""))[0]

    def _explain_section(self, registered: Any, key: str, *, typed: bool = True) -> Explanation:
        """:meth:`explain` of a registered section's key, from the layers that hold it.

        ``typed=False``: the value as the layer holds it (the field's default when none does),
        without building the model: how ``show`` lists the keys of a model that does not build.
        """
        from .explanation import Explanation, Shadowed

        secret = key in registered.secret
        held = [
            (data.layer, data.extra[key])
            for data in self._resolution.layers.values()
            if key in data.extra
        ]
        if typed:
            value = getattr(self.section(registered.cls), registered.keys[key])
        elif held:
            value = held[-1][1].value
        else:
            value = registered.cls.model_fields[registered.keys[key]].get_default()
        source, location = ("default", "") if not held else (held[-1][0], held[-1][1].location)
        shadowed = tuple(
            Shadowed(layer, raw.location, show_value(raw.value, secret=secret))
            for layer, raw in held[:-1]
        )
        doc = registered.cls.model_fields[registered.keys[key]].description or ""
        ignored, why = self._not_applied(key, secret=secret)
        return Explanation(
            key, value, source, location, shadowed, "", doc, secret, None, ignored, why
        )

    def explain(self, name: str) -> Explanation:
        """Value, source, location and shadowed lower layers of the setting ``name``."""
        if find(name) is None:
            section = _section_of(name)
            if section is not None:
                return self._explain_section(*section)
        from .explanation import Explanation, Shadowed

        field = lookup(name)
        source, location = self._resolution.origins.get(field.name, ("default", ""))
        shadowed: list[Shadowed] = []
        for layer in self._resolution.layers.values():
            if layer.layer == source:
                break
            raw = layer.values.get(field.name)
            if raw is not None:
                shadowed.append(Shadowed(layer.layer, raw.location, field.show(raw.value)))
        value = self._resolution.values[field.name]
        ignored, why = self._not_applied(field.env, secret=field.secret)
        return Explanation(
            field.env,
            value,
            source,
            location,
            tuple(shadowed),
            field.derive.text if field.derive else "",
            field.doc,
            field.secret,
            (field.name in self._resolution.fetched) if isinstance(value, Reference) else None,
            ignored,
            why,
        )

    def _not_applied(self, key: str, *, secret: bool) -> tuple[tuple[Shadowed, ...], str]:
        """What an untrusted project file set for ``key`` (full name) and why it is not applied."""
        from .explanation import Shadowed

        for data in self._resolution.layers.values():
            raw = data.untrusted.get(key)
            if raw is not None:
                shown = Shadowed(data.layer, raw.location, show_value(raw.value, secret=secret))
                return (shown,), data.distrust
        return (), ""

    # -- where it came from ----------------------------------------------------------------

    @property
    def home(self) -> str:
        """The METAFLOW_HOME this snapshot read its profile from (expanded)."""
        return self._resolution.inputs.home

    @property
    def profile(self) -> str | None:
        """The named profile in force, or ``None`` for the default ``config.json``."""
        return self._resolution.inputs.profile

    @property
    def profile_path(self) -> str:
        """The profile file this snapshot read (it may not exist)."""
        return self._resolution.layers["profile"].path

    @property
    def local_path(self) -> str:
        """The project's local config file, or ``""`` when there is no ``.metaflow`` directory."""
        return self._resolution.layers["local"].path

    @property
    def warnings(self) -> tuple[str, ...]:
        """Warnings of the resolution (unknown keys with did-you-mean suggestions)."""
        return self._resolution.warnings

    def reload(self) -> Settings:
        """Resolve again from the same inputs, re-reading the files (and a live environment)."""
        return Settings(resolve(self._resolution.inputs))

    def _replace(self, layer: LayerData | None = None, **changes: Any) -> Settings:
        """Resolve this snapshot again with ``changes`` to its inputs, reusing what it can.

        ``layer``: the values a scope adds, read (see ``_layers.scope_layer``), when ``changes``
        are its merged ``overrides``.
        """
        inputs = self._resolution.inputs
        if changes.keys() == {"overrides"}:  # an override scope: only its values are new
            below = self._resolution.layers["override"]
            fresh = None if layer is None else scope_layer(below, layer)
            overrides = changes["overrides"]
            inputs = Inputs(
                inputs.env, inputs.home, inputs.profile, inputs.cwd, overrides, inputs.strict
            )
            return Settings(resolve_over(self._resolution, inputs, fresh))
        fields = {
            k: getattr(inputs, k) for k in ("env", "home", "profile", "cwd", "overrides", "strict")
        }
        fields.update(changes)
        # Build on what this snapshot read of the layers whose inputs did not change.
        layers = self._resolution.layers
        reuse = (
            {}
            if "strict" in changes
            else {x.name: layers[x.name] for x in LAYERS if not changes.keys() & set(x.reads)}
        )
        return Settings(resolve(Inputs(**fields), reuse))

    # -- export ----------------------------------------------------------------------------

    def to_env(self, target: str = "local") -> ExportedEnv:
        """The ``METAFLOW_*`` environment that makes a fresh process resolve this snapshot.

        Every value set in a layer (profile, local file, environment, override) travels,
        serialized so that it validates back to the same value (JSON for JSON-valued settings).
        Derived values stay behind to re-derive from what travels, except those derived from
        the machine itself (``USER`` from ``$USER``). For ``batch`` and ``sfn`` machine-local
        paths stay behind and ``METAFLOW_SERVICE_URL`` carries the internal service URL.
        ``METAFLOW_HOME`` and ``METAFLOW_PROFILE`` never travel: a container has no profile.
        For ``sfn`` the size is checked against the Step Functions limit of 8,192 characters of
        container overrides.

        Secrets are included (the container needs them); the result's ``repr`` masks them.

        Raises:
            ConfigError: an unknown target; a value that would not read back unchanged (e.g.
                ``NaN`` or a tuple injected with ``override``); for ``sfn``, an environment over
                the limit (naming the largest variables, never their values).

        """
        if target not in TARGETS:
            raise ConfigError(
                [Problem.not_one_of("to_env(target)", target, TARGETS, "to_env(target)")]
            )
        remote = target != "local"
        values, origins = self._resolution.values, self._resolution.origins
        env = ExportedEnv()
        problems: list[Problem] = []
        for field in FIELDS:
            origin = origins.get(field.name)
            if origin is None or (remote and field.local):
                continue
            if origin[0] == "derived" and not (field.derive and field.derive.machine):
                continue
            text = _export_text(field, values[field.name])
            if text is None:
                problems.append(_unexportable(field, values[field.name], origin))
            else:
                env[field.env] = text
        env.update(self._section_env(problems))
        if problems:
            raise ConfigError(problems)
        internal = values["SERVICE_INTERNAL_URL"]
        if remote and internal is not None:
            # The container talks to the service through the internal URL. An explicitly set
            # SERVICE_INTERNAL_URL travels too: in the sandbox it would re-derive differently.
            env["METAFLOW_SERVICE_URL"] = str(internal)  # a reference: as its text
        if target == "sfn":
            check_sfn_size(env)
        return env

    def _registered_held(self) -> dict[str, tuple[str, Any]]:
        """The registered sections' keys some layer sets: the layer and raw value in force.

        Sorted by key; nothing is looked up when no layer holds a key the table does not declare.
        """
        found: dict[str, tuple[str, Any]] = {}
        for data in self._resolution.layers.values():  # lowest first: the highest wins
            found.update((key, (data.layer, raw)) for key, raw in data.extra.items())
        if not found:
            return {}
        from .._sources.sections import registry

        known = registry()
        return {key: found[key] for key in sorted(found) if key in known}

    def _section_env(self, problems: list[Problem]) -> dict[str, str]:
        """The keys of registered sections that a layer set, as environment text.

        Each model they belong to is built first: an invalid value does not travel, its
        problem is added to ``problems`` (a container would only fail on it later).
        """
        found = self._registered_held()
        if not found:
            return {}
        from .._sources.sections import registry
        from ..pydantic import exported

        known = registry()
        env: dict[str, str] = {}
        for cls in {id(known[k].cls): known[k].cls for k in found}.values():
            invalid = model_problems(self, cls)
            if invalid:
                problems.extend(invalid)
                continue
            texts, refused = exported(cls, self)
            env.update(texts)
            for key in refused:
                layer, raw = found[key]
                problems.append(
                    Problem.bad_value(
                        key,
                        layer,
                        raw.location,
                        value=show_value(raw.value, secret=key in known[key].secret),
                        expected="a value that reads back unchanged from an environment "
                        "variable (text, or plain JSON: no NaN, tuples, objects, non-string "
                        f"keys, or nesting deeper than {MAX_JSON_DEPTH} levels)",
                        fix=f"give {key} a plain value in {raw.location or layer}",
                    )
                )
        return env

    def require(self, capability: str) -> None:
        """Check that every setting ``capability`` needs is set and usable; raise if not.

        ``capability`` is one of ``s3``, ``batch``, ``sfn``, ``sfn-schedule``, ``sfn-foreach``,
        ``service`` (``batch`` includes ``s3``; the ``sfn`` ones include ``batch``).

        Raises:
            ConfigError: listing every missing or unusable setting at once, each with the
                environment variable and the profile key (in :attr:`profile_path`) that set it.

        """
        from .require import check

        check(self, capability)

    # -- protocol --------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        msg = f"settings are read-only: use metaflow_config.override({name}=...) instead"
        raise AttributeError(msg)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return self._resolution.values == other._resolution.values

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle (and copy) the resolution, with only the environment variables it read.

        The live ``os.environ`` does not pickle, and the rest of the machine's environment
        (credentials, tokens) has no business in an artifact. An unpickled snapshot equals the
        original; its ``reload()`` re-reads the files, with the environment it was pickled with.
        """
        return (Settings, (self._resolution.portable(),))

    def __repr__(self) -> str:
        origins = self._resolution.origins
        shown = [
            f"{f.env}={f.show(self._resolution.values[f.name])}"
            for f in FIELDS
            if origins.get(f.name, ("default",))[0] not in ("default", "derived")
        ]
        profile = self.profile or "default"
        return f"Settings(profile={profile!r}, home={self.home!r}, set=[{', '.join(shown)}])"


class ExportedEnv(dict[str, str]):
    """What :meth:`Settings.to_env` returns: a ``dict[str, str]`` whose ``repr`` masks secrets."""

    def __repr__(self) -> str:
        shown = (f"{key!r}: {_shown(key, value)}" for key, value in self.items())
        return "{" + ", ".join(shown) + "}"


if sys.version_info < (3, 10):  # pragma: no cover - Python 3.9 only
    # pprint of 3.9 prints a long dict subclass item by item, bypassing its __repr__ (3.10 asks
    # the class first): register the masking repr where that pprint looks, or secrets would show.
    import pprint

    def _pprint_masked(printer: Any, obj: Any, stream: Any, *args: Any) -> None:
        stream.write(repr(obj))

    pprint.PrettyPrinter._dispatch[ExportedEnv.__repr__] = _pprint_masked  # type: ignore[attr-defined]


def _shown(key: str, value: str) -> str:
    if bears_secret(key, value):
        field = BY_ENV.get(key)
        return repr(field.show_text(value)) if field and not field.secret else MASK
    return repr(value)


def bears_secret(key: str, text: str) -> bool:
    """Whether the exported variable ``key`` holding ``text`` would show a secret.

    A secret setting's (a registered section's secret field too), or a URL with a password.
    """
    field = BY_ENV.get(key)
    if field is not None:
        return field.bears_secret(text)
    from .._sources.sections import find_key

    section = find_key(key)
    return (section is not None and key in section[0].secret) or has_url_password(text)


def _export_text(field: Setting, value: Any) -> str | None:
    """``value`` as environment text that validates back to ``value``; ``None`` if impossible.

    A secret reference travels as the reference: the container fetches it with its own role.
    """
    if isinstance(value, Reference):
        return value.text
    try:
        text = field.kind.to_text(value)
        if field.kind.json_valued and strict_loads(text) != thaw(value):
            return None
    except (TypeError, ValueError, RecursionError):  # NaN, objects, non-string keys
        return None
    return text if text and "\0" not in text else None


def _unexportable(field: Setting, value: Any, origin: tuple[str, str]) -> Problem:
    return Problem.bad_value(
        field.env,
        origin[0],
        origin[1],
        value=field.show(value),
        expected=f"{field.kind.expected} that reads back unchanged from an environment variable "
        "(plain JSON: no NaN, tuples, objects or non-string keys)",
        fix=f"give {field.env} a plain value in {origin[1] or origin[0]}",
    )


def environment_sizes(env: Mapping[str, str]) -> dict[str, int]:
    """Characters each variable adds to a container override's ``environment`` list (as JSON)."""
    return {
        key: len(
            json.dumps({"name": key, "value": value}, ensure_ascii=False, separators=(",", ":"))
        )
        + 1  # the comma
        for key, value in env.items()
    }


def check_sfn_size(env: Mapping[str, str]) -> None:
    """Refuse an environment Step Functions would reject; name the variables that make it large.

    AWS Batch refuses a job submitted by Step Functions whose ``ContainerOverrides`` exceed
    8,192 characters ("Container Overrides length must be at most 8192"), and only when the
    state machine runs. The environment list is measured as the JSON it becomes; values are
    never shown (secrets travel).
    """
    sizes = environment_sizes(env)
    total = sum(sizes.values()) + len('{"environment":[]}') - (1 if sizes else 0)
    if total <= SFN_ENV_LIMIT:
        return
    largest = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    listed = ", ".join(f"{key} ({size} chars)" for key, size in largest)
    raise ConfigError(
        [
            Problem.bad_argument(
                "container environment for Step Functions",
                f"{total} characters in {len(sizes)} variables",
                f"at most {SFN_ENV_LIMIT} characters of container overrides, which AWS Batch "
                f"enforces when the state machine runs (largest: {listed})",
                "shorten or unset the largest values, or set them in a profile file baked into "
                "the container image instead; METAFLOW_SFN_COMPRESS_STATE_MACHINE=true also "
                "shrinks the rest of the overrides (the step command)",
            )
        ]
    )
