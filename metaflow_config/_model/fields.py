"""The declaration mechanism of the settings table: ``setting(...)``, ``Derive`` and ``Section``.

A section is a class whose body declares settings::

    class Batch(Section):
        job_queue: str | None = setting("BATCH_JOB_QUEUE", STR, "The Batch job queue.")

The annotation is the static type a reader gets (``settings.batch.job_queue``); the ``setting``
carries everything the runtime needs. At resolution time a section instance is built from the
resolved values and stores each value as a plain instance attribute, so reading one costs an
attribute lookup and nothing more.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from .._display import MASK, has_url_password, mask_url_password, no_attribute, show_value
from .kinds import PLUGIN_NAME, Kind
from .references import MARK, Reference, parse_reference
from .values import thaw

__all__ = [
    "PREFIX",
    "Context",
    "Derive",
    "Renamed",
    "Section",
    "Setting",
    "is_unset",
    "old_attribute",
    "read_only",
    "same_as",
    "setting",
    "times",
    "under",
]

#: The prefix of every setting's environment name (and of every key of a config file).
PREFIX = "METAFLOW_"


def read_only(setting: Setting | None, example: Setting | None = None) -> str:
    """What a change of settings in place is told: they change in a scope, by a setting's name.

    ``setting``: the setting the change named (``settings.batch.job_queue = ...`` names
    ``BATCH_JOB_QUEUE``); else the message takes a setting's name, ``example``'s if given.
    """
    if setting is not None:
        return f"settings are read-only: use metaflow_config.override({setting.name}=...) instead"
    named = f", e.g. override({example.name}=...)" if example is not None else ""
    return (
        "settings are read-only: use metaflow_config.override(NAME=...) with a setting's name "
        f"instead{named}"
    )


def is_unset(value: Any) -> bool:
    """Whether a raw value means "not set": ``None`` (JSON ``null``) or the empty string.

    The rule of every layer (an empty variable, ``""`` or ``null`` in a file, ``None`` or ``""``
    given to ``override``): the layers below apply.
    """
    return value is None or (isinstance(value, str) and value == "")


class Context:
    """What derivations may read besides other settings: the injected environment and cwd.

    A plain class with ``__slots__``, as ``Derive`` (why not dataclasses: ``_model.record``).
    """

    __slots__ = ("cwd", "env")

    def __init__(self, env: Mapping[str, str], cwd: str) -> None:
        self.env = env
        self.cwd = cwd


DeriveFn = Callable[[Mapping[str, Any], Context], "tuple[Any, str]"]


class Derive:
    """How a setting's default is computed from other resolved settings (or the context).

    ``fn(values, ctx)`` returns ``(value, location)``: ``value`` is ``None`` when there is
    nothing to derive from, ``location`` names what it was derived from. ``bases`` are the short
    names it reads (for ordering and for ``explain``); ``text`` describes the rule for docs.
    ``machine``: derived from this machine (its environment, its working directory) rather than
    from other settings, so another machine would derive something else: ``to_env`` exports the
    value instead of leaving it to re-derive (``local`` settings still stay behind).
    """

    __slots__ = ("bases", "fn", "machine", "text")

    def __init__(
        self,
        bases: tuple[str, ...],
        fn: DeriveFn,
        text: str,
        *,
        machine: bool = False,
    ) -> None:
        self.bases = bases
        self.fn = fn
        self.text = text
        self.machine = machine

    def __repr__(self) -> str:
        return f"Derive({self.text!r})"


def join_url(root: str, suffix: str) -> str:
    """Join a storage root and a suffix as a URL: exactly one ``/`` between them."""
    return root.rstrip("/") + "/" + suffix.strip("/")


def under(base: str, *, suffix: str = "", suffix_setting: str = "") -> Derive:
    """``<base>/<suffix>`` joined as a URL, or unset when ``base`` is unset."""
    bases = (base, suffix_setting) if suffix_setting else (base,)
    where = ", ".join(PREFIX + b for b in bases)

    def fn(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
        root = values[base]
        if root is None:
            return None, where
        return join_url(root, values[suffix_setting] if suffix_setting else suffix), where

    tail = f"<{PREFIX}{suffix_setting}>" if suffix_setting else suffix
    return Derive(bases, fn, f"<{PREFIX}{base}>/{tail}")


def same_as(base: str) -> Derive:
    def fn(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
        return values[base], PREFIX + base

    return Derive((base,), fn, f"<{PREFIX}{base}>")


def times(base: str, factor: int) -> Derive:
    def fn(values: Mapping[str, Any], ctx: Context) -> tuple[Any, str]:
        return values[base] * factor, PREFIX + base

    return Derive((base,), fn, f"<{PREFIX}{base}> * {factor}")


class Renamed:
    """An old name of a setting: the name, the Metaflow release that renamed it, and its story.

    ``name`` is the full name as it was written (``METAFLOW_DECOSPECS``; ``METADATA_SERVICE_URL``,
    which Metaflow 2.0.0's wizard wrote without the prefix). ``applied``: a key Metaflow read or
    wrote, which configuration files still hold: a layer that sets it sets the setting, with a
    warning (``metaflow-config migrate`` renames it in a profile). Not ``applied``: a name
    Metaflow's module used for the value (its attribute) but never read as a key: a key of that
    name is told as a misspelling of the setting, and not applied (as Metaflow never applied it).
    A plain class with ``__slots__``, as ``Derive``.
    """

    __slots__ = ("applied", "name", "note", "release")

    def __init__(self, name: str, release: str, note: str, *, applied: bool = True) -> None:
        self.name = name
        self.release = release
        self.note = note
        self.applied = applied

    def story(self) -> str:
        """What the name was, for a message: ``its old name: Metaflow 2.12.1 to 2.14.1 ...``."""
        return f"its old name: {self.note}" if self.applied else self.note

    def __repr__(self) -> str:
        return f"Renamed({self.name!r}, {self.release!r})"


def old_attribute(name: str) -> Renamed:
    """``name``, the attribute of Metaflow's module holding the value until 2.7.14 (not a key).

    Metaflow 2.7.15 renamed the module's attributes to their keys' names (Netflix/metaflow
    #1183); the keys themselves did not change, so a file holding the old attribute's name as a
    key was never applied.
    """
    return Renamed(
        name,
        "2.7.15",
        "the name Metaflow's module gave its attribute until 2.7.14, never a key Metaflow read",
        applied=False,
    )


class Setting:
    """One row of the settings table (see :func:`setting`)."""

    __slots__ = (
        "aliases",
        "attr",
        "default",
        "derive",
        "doc",
        "env",
        "kind",
        "local",
        "name",
        "plugin",
        "renamed",
        "secret",
        "section",
        "sensitive",
    )

    def __init__(  # noqa: PLR0917 - built only by setting(), which takes keywords
        self,
        name: str,
        kind: Kind,
        doc: str,
        default: Any,
        derive: Derive | None,
        secret: bool,
        aliases: tuple[str, ...],
        local: bool,
        sensitive: bool,
        renamed: tuple[Renamed, ...] = (),
        plugin: str = "",
    ) -> None:
        self.name = name
        self.env = PREFIX + name
        self.kind = kind
        self.doc = doc
        self.default = default
        self.derive = derive
        self.secret = secret
        self.aliases = tuple(PREFIX + a for a in aliases)
        self.local = local
        self.sensitive = sensitive or secret
        self.renamed = renamed
        self.plugin = plugin
        self.attr = ""
        self.section = ""

    def __set_name__(self, owner: type, attr: str) -> None:
        self.attr = attr
        self.section = owner.__name__

    def show(self, value: Any) -> str:
        """Render a value of this setting for humans (masked when secret; a reference as is)."""
        if isinstance(value, Reference):
            return repr(value.text)
        return show_value(value, secret=self.secret)

    def show_text(self, text: str) -> str:
        """Environment text of this setting as it may be shown (masked, or its URL password)."""
        return MASK if self.secret else mask_url_password(text)

    def bears_secret(self, value: Any) -> bool:
        """Whether showing ``value`` would show a secret: a secret setting's, or a URL password.

        A secret reference (as a value, or as its text) shows where the secret is kept: no.
        """
        if value is None or isinstance(value, Reference):
            return False
        if (
            isinstance(value, str)
            and MARK in value
            and isinstance(parse_reference(value), Reference)
        ):
            return False
        return self.secret or has_url_password(value)

    def export_text(self, value: Any) -> str | None:
        """``value`` as environment text that validates back to it; ``None`` if impossible.

        A secret reference travels as the reference: the container fetches it with its own
        role. Here rather than with the export (``_snapshot.export``): every process that runs
        Metaflow's extension writes these texts into Metaflow's registry, and imports no more.
        """
        if isinstance(value, Reference):
            return value.text
        try:
            text = self.kind.to_text(value)
            if self.kind.json_valued:
                from .jsontext import strict_loads  # loaded with the first JSON value

                if strict_loads(text) != thaw(value):
                    return None
        except (TypeError, ValueError, RecursionError):  # NaN, objects, non-string keys
            return None
        return text if text and "\0" not in text else None

    def __repr__(self) -> str:
        return f"<setting {self.env}: {self.kind.name}>"


def setting(
    name: str,
    kind: Kind,
    doc: str,
    *,
    default: Any = None,
    derive: Derive | None = None,
    secret: bool = False,
    aliases: tuple[str, ...] = (),
    local: bool = False,
    sensitive: bool = False,
    renamed: tuple[Renamed, ...] = (),
    plugin: str = "",
) -> Any:
    """Declare a setting inside a :class:`Section` body.

    Args:
        name: the name without ``METAFLOW_`` (``BATCH_JOB_QUEUE``).
        kind: how values validate and serialize (see ``kinds``).
        doc: one line for docs, ``explain`` and the wizard.
        default: the built-in default (``None``: unset).
        derive: a rule computing the default from other resolved settings.
        secret: masked everywhere it could be shown.
        aliases: other names (without ``METAFLOW_``) it is also read from, lower priority.
        local: a machine-local value (a path) that never travels to remote containers.
        sensitive: it decides where data or credentials go (an endpoint, a storage root, a
            role, an identity): only a trusted source may set it (a project file only once the
            user trusted it, see ``_sources.trust``). Every secret setting is sensitive.
        renamed: the names Metaflow used for it before (see :class:`Renamed`).
        plugin: the category of the Metaflow plugin its value names (``datastore``), for a
            setting of the plugin-name kind (``_resolve.plugins`` compares the name with the
            category's plugins).

    """
    if bool(plugin) != (kind is PLUGIN_NAME):
        msg = f"{name}: a setting names a plugin category exactly when its kind is a plugin name"
        raise ValueError(msg)
    return Setting(
        name, kind, doc, default, derive, secret, aliases, local, sensitive, renamed, plugin
    )


class _SectionDoc:
    """A section's ``__doc__``: its docstring, then its settings (what ``help()`` shows).

    The settings are no class attributes (see ``Section.__init_subclass__``), so pydoc would
    list none of them; the list is made when asked (of the class, or of an instance).
    """

    __slots__ = ("own",)

    def __init__(self, own: str | None) -> None:
        self.own = own

    def __get__(self, instance: object, owner: type | None = None) -> str:
        cls = owner if owner is not None else type(instance)
        own = self.own or cls.__name__
        fields: tuple[Setting, ...] = getattr(cls, "fields", ())
        if not fields:
            return own
        listed = "\n".join(f"    {f.attr}: {f.env}. {f.doc}" for f in fields)
        return f"{own}\n\nSettings (attribute: environment name. what it is):\n{listed}"


class Section:
    """A family of settings; instances are immutable views of one resolution."""

    fields: ClassVar[tuple[Setting, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = tuple(v for v in vars(cls).values() if isinstance(v, Setting))
        # a subclass that declares nothing (a view adding accessors) has its base's fields
        inherited = () if own else cls.fields
        cls.fields = own or inherited
        # Reads are the hot path. CPython (3.11+) turns ``section.attr`` into a direct load of
        # the instance's inline values, but not while the class holds an attribute of the same
        # name whose type is a Python class (a Setting), and not once the instance's __dict__
        # has been touched: the declarations live on in ``fields``, and __init__ below stores
        # with object.__setattr__. Measured: 7 ns a read instead of 19 ns.
        for field in own:
            delattr(cls, field.attr)
        type.__setattr__(cls, "__doc__", _SectionDoc(cls.__dict__.get("__doc__")))

    def __init__(self, values: Mapping[str, Any]) -> None:
        put = object.__setattr__
        for field in self.fields:
            value = values[field.name]
            if not isinstance(value, Reference):  # fetched on first read (``_snapshot``)
                put(self, field.attr, value)

    def __setattr__(self, name: str, value: Any) -> None:
        named = next((f for f in self.fields if f.attr == name), None)
        raise AttributeError(read_only(named, self.fields[0] if self.fields else None))

    if sys.version_info < (3, 10):  # pragma: no cover - 3.10+ prints its own "Did you mean"

        def __getattr__(self, attr: str) -> Any:
            """A name no attribute has (called then only): the one it is near, if any.

            Not on Python 3.10+, whose traceback says it, and where a class with a
            ``__getattr__`` loses the specialized attribute load of every read.
            """
            owner = f"{type(self).__name__!r} object"
            raise AttributeError(no_attribute(owner, attr, dir(self)))

    def _held(self, field: Setting) -> Any:
        """The value of ``field`` as the resolution holds it: what ``repr`` shows, ``==`` compares.

        Never a fetch: a section holding secret references (``_snapshot``) answers the reference
        itself, fetched or not, so that showing or comparing a section makes no AWS call and
        cannot fail (a snapshot's ``repr`` and ``==`` do the same).
        """
        return object.__getattribute__(self, field.attr)

    def __repr__(self) -> str:
        parts = [f"{f.attr}={f.show(self._held(f))}" for f in self.fields]
        return f"{type(self).__name__}({', '.join(parts)})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(self._held(f) == other._held(f) for f in self.fields)

    __hash__ = None  # type: ignore[assignment]
