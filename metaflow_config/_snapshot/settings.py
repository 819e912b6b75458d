"""The Settings snapshot: typed sections, lookup by name, explain, export to remote containers.

A :class:`Settings` is a view of one ``Resolution``: what it reads, it reads there. The other
modules of the package reach that resolution through :func:`resolution_of` only. What a task
process does not need at import (exporting, registered sections, fetching a reference,
explaining) is in modules of its own, imported on first use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._display import no_attribute, short_name
from .._model.fields import Section, Setting, read_only
from .._model.references import Reference
from .._model.table import FIELDS, SECTIONS, Sections, find
from .._resolve.resolution import Resolution
from .._resolve.resolve import resolve
from .._sources.data import LayerData
from .._sources.environ import own
from .._sources.inputs import Inputs
from .._sources.keys import applied_in_env, suggest
from .._sources.layers import LAYERS, scope_layer
from .._sources.profiles import PROJECT_VAR
from .._sources.sections import find_key
from ..errors import ConfigError, Problem, show_value
from . import views
from .views import VIEWS

if TYPE_CHECKING:
    from .explanation import Explanation
    from .export import ExportedEnv

T = TypeVar("T")

__all__ = ["Settings", "lookup", "resolution_of"]

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
            raise AttributeError(no_attribute(f"{type(self).__name__!r} object", attr, dir(self)))
        value = object.__getattribute__(self, "_snapshot")._value(field.name)
        object.__setattr__(self, attr, value)
        return value

    def _held(self: Section, field: Setting) -> Any:
        # the reference where there is one, fetched or not: repr and == never fetch (Section)
        snapshot: Settings = object.__getattribute__(self, "_snapshot")
        return snapshot._resolution.values[field.name]

    def __reduce_ex__(self: Section, protocol: Any) -> tuple[Any, ...]:  # noqa: N807 - the hook
        # pickled by its base, which pickle finds by name (this class it cannot)
        return (_remade, (cls, dict(vars(self))))

    made = type(
        cls.__name__,
        (cls,),
        {
            "__getattr__": __getattr__,
            "_held": _held,
            "__reduce_ex__": __reduce_ex__,
            "__module__": cls.__module__,
        },
    )
    _FETCHING[cls] = made
    return made


def _remade(cls: type[Section], state: dict[str, Any]) -> Section:
    """A section of ``cls`` holding secret references, unpickled (see :func:`_fetching`)."""
    made = _fetching(cls)
    section = made.__new__(made)
    for attr, value in state.items():
        object.__setattr__(section, attr, value)
    return section


_FETCHING: dict[type[Section], type[Section]] = {}


def resolution_of(snapshot: Settings) -> Resolution:
    """The resolution behind ``snapshot`` (the package's one way to it from outside the class)."""
    return snapshot._resolution


def lookup(name: str) -> Setting:
    """The setting called ``name`` (``METAFLOW_X``, an alias, or short ``X``); else KeyError."""
    field = find(name)
    if field is None:
        shown = short_name(name)  # a pasted NAME=VALUE's value, a URL's password: not said
        quoted = shown if shown.startswith("'") else repr(shown)
        msg = f"{quoted} is not a Metaflow setting; {suggest(name)}"
        raise KeyError(msg)
    return field


def _name_given(name: object, call: str) -> str:
    """``name`` as ``call`` was given it: a setting's name (or a registered key), as text.

    A name that is no ``str`` at all (``settings[5]``) is a wrong argument, a ``ConfigError``
    headed as one (it was an ``AttributeError`` about ``startswith``); a ``str`` naming no
    setting stays a ``KeyError``, a mapping's answer, with its did-you-mean (:func:`lookup`).
    """
    if isinstance(name, str):
        return name
    raise ConfigError(
        [
            Problem.bad_argument(
                call,
                f"{show_value(name, secret=False)} (of type {type(name).__name__})",
                "a setting's name as a str ('METAFLOW_BATCH_JOB_QUEUE' or 'BATCH_JOB_QUEUE')",
                "pass the setting's name as a str",
            )
        ]
    )


def _no_attribute(name: str) -> str:
    """The message of an attribute a snapshot lacks, with the section it is near, if any."""
    return no_attribute("'Settings' object", name, _SECTION_CLASSES)


class Settings(Sections):
    """An immutable, typed snapshot of one resolution of the Metaflow configuration.

    Read values through the sections (``s.batch.job_queue``), by environment name
    (``s["METAFLOW_BATCH_JOB_QUEUE"]``), ask where one came from (``s.explain(...)``), or export
    what a remote container needs (``s.to_env("batch")``). Build one with
    :func:`metaflow_config.load`; the process-wide ``settings`` has the same API.
    """

    # the sections with accessors of their consumers (``views``), typed as such
    s3: views.S3
    datatools: views.Datatools
    service: views.Service
    batch: views.Batch
    sfn: views.StepFunctions

    _resolution: Resolution

    def __init__(self, resolution: Resolution) -> None:
        self.__dict__["_resolution"] = resolution

    def __dir__(self) -> list[str]:
        """The attributes, the sections (built on first read) among them."""
        return sorted({*super().__dir__(), *_SECTION_CLASSES})

    def __getattr__(self, name: str) -> Any:
        """Build a section on its first read, then keep it (later reads find it directly).

        Sections are views of the values: an ``override`` scope's snapshot builds only those
        that its code reads.
        """
        cls = _SECTION_CLASSES.get(name)
        if cls is None:
            missing = AttributeError(_no_attribute(name))
            # named: Python (3.10+) adds its own did-you-mean only to an error it names itself
            missing.name = name
            raise missing
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

        A secret reference is fetched on this first read (see ``fetch``). The keys of a
        registered section (``metaflow_config.sections``) read its model's fields.

        Raises:
            KeyError: ``name`` is no setting's name (with the nearest one).
            ConfigError: ``name`` is not a ``str``; the value cannot be fetched or its section
                refuses it.

        """
        try:  # the read path: a name that is no str is told off it, below
            field = find(name)
        except (AttributeError, TypeError):  # no str (``startswith``): said outside this handler
            field = None
        if field is not None:
            return self._value(field.name)
        section = find_key(_name_given(name, "settings[name]"))
        if section is not None:
            registered, key = section
            return getattr(self.section(registered.cls), registered.keys[key])
        return self._value(lookup(name).name)

    def section(self, cls: type[T]) -> T:
        """The model ``cls`` (a ``MetaflowBaseSettings``) resolved from this snapshot's layers.

        Built once per snapshot; a bad value is a ``ConfigError`` naming where it came from.

        Raises:
            ConfigError: a value the model refuses; ``cls`` is not a ``MetaflowBaseSettings``.

        """
        from . import sections

        return cast(T, sections.model(self._resolution, cls))

    def _value(self, name: str) -> Any:
        """The value of the setting ``name`` (short): its reference fetched, if it holds one."""
        value = self._resolution.values[name]
        if isinstance(value, Reference):
            from .fetch import fetched  # logging, and boto3 when it fetches: on first use

            return fetched(self._resolution, name, value)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and find(name) is not None

    def items(self) -> Iterator[tuple[str, Any]]:
        """Every setting as ``(environment name, typed value)``, in table order."""
        return ((f.env, self._value(f.name)) for f in FIELDS)

    def source(self, name: str) -> str:
        """The layer the value of ``name`` came from (see :meth:`explain` for the details).

        Raises:
            KeyError: ``name`` is no setting's name (with the nearest one).
            ConfigError: ``name`` is not a ``str``.

        """
        if find(_name_given(name, "source(name)")) is None and find_key(name) is not None:
            return self.explain(name).source
        return self._resolution.origins.get(lookup(name).name, ("default", ""))[0]

    def explain(self, name: str) -> Explanation:
        """Value, source, location and shadowed lower layers of the setting ``name``.

        Raises:
            KeyError: ``name`` is no setting's name (with the nearest one).
            ConfigError: ``name`` is not a ``str``.

        """
        if find(_name_given(name, "explain(name)")) is None:
            section = find_key(name)
            if section is not None:
                from .sections import explain_key

                return explain_key(self._resolution, *section)
        from .explanation import Explanation, Shadowed, not_applied

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
        ignored, why = not_applied(self._resolution, field.env, secret=field.secret)
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

        ``layer``: the values a scope adds, read (see ``layers.scope_layer``), when ``changes``
        are its merged ``overrides``. No changes: this snapshot.

        ``changes`` (an environment, values: secrets in plain text) is no local of this frame
        when the resolution raises: a traceback shows its frames' locals (``pytest -l``,
        Sentry, rich), and the inputs that hold them show neither in their repr.
        """
        if not changes:
            return self
        inputs = self._resolution.inputs
        if changes.keys() == {"overrides"}:  # an override scope: only its values are new
            below = self._resolution.layers["override"]
            fresh = None if layer is None else scope_layer(below, layer)
            inputs = Inputs(
                inputs.env,
                inputs.home,
                inputs.profile,
                inputs.cwd,
                changes["overrides"],
                inputs.strict,
            )
            del changes
            from .._resolve.over import resolve_over  # the first override scope imports it

            return Settings(resolve_over(self._resolution, inputs, fresh))
        # Build on what this snapshot read of the layers whose inputs did not change.
        layers = self._resolution.layers
        reuse = (
            {}
            if "strict" in changes
            else {x.name: layers[x.name] for x in LAYERS if not changes.keys() & set(x.reads)}
        )
        inputs = inputs.replace(**changes)
        del changes
        return Settings(resolve(inputs, reuse))

    # -- export ----------------------------------------------------------------------------

    def to_env(self, target: str = "local") -> ExportedEnv:
        """The ``METAFLOW_*`` environment that makes a fresh process resolve this snapshot.

        Every value set in a layer (profile, local file, environment, override) travels,
        serialized so that it validates back to the same value (JSON for JSON-valued settings).
        Derived values stay behind to re-derive from what travels, except those derived from
        the machine itself (``USER`` from ``$USER``). For the remote targets (``batch``,
        ``sfn``, ``kubernetes``, ``argo``, ``airflow``) machine-local paths stay behind,
        ``METAFLOW_SERVICE_URL`` carries the internal service URL, and no variable may reach
        128 KiB (``NAME=value``: no Linux process starts with it). ``METAFLOW_HOME`` and
        ``METAFLOW_PROFILE`` never travel: a container has no profile. For ``batch`` and
        ``sfn`` the settings of other platforms' launchers (``KUBERNETES_*``,
        ``ARGO_WORKFLOWS_*``, ``AIRFLOW_*``), with which a Batch task builds nothing, stay
        behind, and the size is checked against AWS Batch's limit of 8,192 characters of
        container overrides; the Kubernetes objects' limits are checked where they are built
        (the extension).

        Secrets are included (the container needs them); the result's ``repr`` masks them.

        Raises:
            ConfigError: an unknown target; a value that would not read back unchanged (e.g.
                ``NaN`` or a tuple injected with ``override``); a variable over 128 KiB for a
                remote target; for ``sfn``, an environment over the limit (naming the largest
                variables, never their values).

        """
        from .export import to_env

        return to_env(self._resolution, target)

    def require(self, capability: str) -> None:
        """Check that every setting ``capability`` needs is set and usable; raise if not.

        ``capability`` is one of ``s3``, ``batch``, ``sfn``, ``sfn-schedule``, ``sfn-foreach``,
        ``service`` (``batch`` includes ``s3``; the ``sfn`` ones include ``batch``).

        Raises:
            ConfigError: listing every missing or unusable setting at once, each with the
                environment variable and the profile key (in :attr:`profile_path`) that set it.

        """
        from .require import check
        from .taskenv import launcher_values, not_carried

        launcher = launcher_values()
        check(self, capability, lambda target: not_carried(self._resolution, target, launcher))

    # -- protocol --------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(changed_in_place(name))

    def __setitem__(self, name: str, value: Any) -> None:
        raise TypeError(changed_in_place(name, key=True))

    def __delitem__(self, name: str) -> None:
        raise TypeError(changed_in_place(name, key=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return self._resolution.values == other._resolution.values

    __hash__ = None  # type: ignore[assignment]
    #: not a sequence: without this, ``list(settings)`` would call ``settings[0]`` and say the
    #: name ``0`` is not a setting's; ``items()`` gives each setting's (name, value)
    __iter__ = None

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


def changed_in_place(name: str, *, key: bool = False) -> str:
    """What a change of the settings in place is told (``settings.X = ...``, ``settings[X] = ...``).

    ``key``: ``name`` is a setting's name (an item); else an attribute, a section's (the message
    takes one of its settings as the example) or any other.
    """
    if key:
        return read_only(find(name) if isinstance(name, str) else None)
    section = _SECTION_CLASSES.get(name)
    fields = getattr(section, "fields", ())
    return read_only(None, fields[0] if fields else None)


def child_variables(
    snapshot: Settings, base: Mapping[str, str], *, cwd_known: bool = False
) -> dict[str, str]:
    """The variables a child process needs over ``base`` to resolve ``snapshot``.

    ``base`` is the environment it inherits, or is given whole. The variables are
    ``to_env("local")``; the snapshot's home and profile; its project, where its walk for
    ``.metaflow/config.json`` started (``METAFLOW_CONFIG_PROJECT``); and ``""`` (unset, to this
    package) for each variable ``base`` holds that the environment layer would apply (a
    setting's, an old name, a registered key: ``keys.applied_in_env``) and the snapshot does
    not export, so that what a scope left out is left out when they are laid over ``base`` too
    (``metaflow.Runner`` adds ``env`` to ``os.environ``).

    ``cwd_known``: the child runs where it is told (a Runner's ``cwd``): a value derived from
    this process's working directory is left for it to derive.
    """
    env: dict[str, str] = dict(snapshot.to_env("local"))
    if cwd_known and snapshot.source("ARTIFACT_LOCALROOT") == "derived":
        env.pop("METAFLOW_ARTIFACT_LOCALROOT", None)
    env.update(
        (key, "")
        for key in base
        if key.startswith("METAFLOW_") and key not in env and applied_in_env(key)
    )
    env["METAFLOW_HOME"] = snapshot.home
    env["METAFLOW_PROFILE"] = snapshot.profile or ""  # "": the default profile, config.json
    # the project file's walk starts where the snapshot's did (a scope's cwd=, a project
    # variable), not where the child runs: a key the scope's project leaves unset stays unset
    inputs = resolution_of(snapshot).inputs
    env[PROJECT_VAR] = own(inputs.env, PROJECT_VAR) or inputs.cwd
    return env
