"""The Settings snapshot: typed sections, lookup by name, explain, export to remote containers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._fields import Setting
from ._resolve import Inputs, Resolution, resolve
from ._table import BY_ENV, FIELDS, SECTIONS, Sections
from .errors import ConfigError, Problem

__all__ = ["SFN_ENV_LIMIT", "TARGETS", "Explanation", "Settings", "Shadowed", "lookup"]

#: Where an exported environment goes: this machine, an AWS Batch job, a Step Functions task.
TARGETS = ("local", "batch", "sfn")
#: Step Functions rejects a state machine whose container overrides exceed this many characters.
SFN_ENV_LIMIT = 8192


def lookup(name: str) -> Setting:
    """The setting called ``name`` (``METAFLOW_X``, an alias, or short ``X``); else KeyError."""
    field = BY_ENV.get(name) or BY_ENV.get("METAFLOW_" + name)
    if field is None:
        from ._layers import suggest

        msg = f"{name} is not a Metaflow setting; {suggest(name)}"
        raise KeyError(msg)
    return field


@dataclass(frozen=True)
class Shadowed:
    """A lower layer that also set a setting, and what it held (masked if secret)."""

    source: str
    location: str
    value: str


@dataclass(frozen=True)
class Explanation:
    """Why a setting has its value: ``settings.explain("METAFLOW_X")``.

    Attributes:
        name: the environment name.
        value: the typed value in force (``repr`` masks it if secret).
        source: ``default``, ``derived``, ``profile``, ``local``, ``env`` or ``override``.
        location: the file path and key, the environment variable, or what it derived from.
        shadowed: the lower layers that also set it, lowest first, with masked values.
        derived_from: the rule of its derived default, if it has one (``""`` otherwise).
        doc: the one-line description from the table.
        secret: whether the value is masked wherever it is shown.

    """

    name: str
    value: Any
    source: str
    location: str
    shadowed: tuple[Shadowed, ...]
    derived_from: str
    doc: str
    secret: bool

    @property
    def shown(self) -> str:
        """The value as it may be shown to a person (masked if secret)."""
        return BY_ENV[self.name].show(self.value)

    def __repr__(self) -> str:
        return (
            f"Explanation(name={self.name!r}, value={self.shown}, source={self.source!r}, "
            f"location={self.location!r}, shadowed={self.shadowed!r})"
        )

    def __str__(self) -> str:
        lines = [f"{self.name} = {self.shown}", f"  source:   {self.source}"]
        if self.location:
            lines.append(f"  from:     {self.location}")
        lines.extend(f"  shadows:  {s.source} {s.location} = {s.value}" for s in self.shadowed)
        if self.derived_from:
            lines.append(f"  derived:  {self.derived_from} when no layer sets it")
        lines.append(f"  doc:      {self.doc}")
        return "\n".join(lines)


class Settings(Sections):
    """An immutable, typed snapshot of one resolution of the Metaflow configuration.

    Read values through the sections (``s.batch.job_queue``), by environment name
    (``s["METAFLOW_BATCH_JOB_QUEUE"]``), ask where one came from (``s.explain(...)``), or export
    what a remote container needs (``s.to_env("batch")``). Build one with
    :func:`metaflow_config.load`; the process-wide ``settings`` has the same API.
    """

    _resolution: Resolution

    def __init__(self, resolution: Resolution) -> None:
        state = self.__dict__
        state["_resolution"] = resolution
        values = resolution.values
        for attr, cls in SECTIONS:
            state[attr] = cls(values)

    # -- reading ---------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        """The typed value of the setting ``name`` (``METAFLOW_X``; aliases and ``X`` work too)."""
        return self._resolution.values[lookup(name).name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in BY_ENV or "METAFLOW_" + name in BY_ENV)

    def items(self) -> Iterator[tuple[str, Any]]:
        """Every setting as ``(environment name, typed value)``, in table order."""
        values = self._resolution.values
        return ((f.env, values[f.name]) for f in FIELDS)

    def source(self, name: str) -> str:
        """The layer the value of ``name`` came from (see :meth:`explain` for the details)."""
        return self._resolution.origins.get(lookup(name).name, ("default", ""))[0]

    def explain(self, name: str) -> Explanation:
        """Value, source, location and shadowed lower layers of the setting ``name``."""
        field = lookup(name)
        source, location = self._resolution.origins.get(field.name, ("default", ""))
        shadowed: list[Shadowed] = []
        for layer in self._resolution.layers:
            if layer.layer == source:
                break
            raw = layer.values.get(field.name)
            if raw is not None:
                shadowed.append(Shadowed(layer.layer, raw.location, field.show(raw.value)))
        return Explanation(
            field.env,
            self._resolution.values[field.name],
            source,
            location,
            tuple(shadowed),
            field.derive.text if field.derive else "",
            field.doc,
            field.secret,
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
        return self._resolution.layers[0].path

    @property
    def local_path(self) -> str:
        """The project's local config file, or ``""`` when there is no ``.metaflow`` directory."""
        return self._resolution.layers[1].path

    @property
    def warnings(self) -> tuple[str, ...]:
        """Warnings of the resolution (unknown keys with did-you-mean suggestions)."""
        return self._resolution.warnings

    def reload(self) -> Settings:
        """Resolve again from the same inputs, re-reading the files (and a live environment)."""
        return Settings(resolve(self._resolution.inputs))

    def _replace(self, **changes: Any) -> Settings:
        inputs = self._resolution.inputs
        fields = {
            k: getattr(inputs, k) for k in ("env", "home", "profile", "cwd", "overrides", "strict")
        }
        fields.update(changes)
        return Settings(resolve(Inputs(**fields)))

    # -- export ----------------------------------------------------------------------------

    def to_env(self, target: str = "local") -> dict[str, str]:
        """The ``METAFLOW_*`` environment that makes a fresh process resolve this snapshot.

        Every value set in a layer travels, serialized so it parses back identically; derived
        values stay behind to re-derive. For ``batch`` and ``sfn`` machine-local paths stay
        behind and ``METAFLOW_SERVICE_URL`` carries the internal service URL. ``sfn`` checks the
        Step Functions limit of 8,192 characters. Secrets are included: never print the result.
        """
        if target not in TARGETS:
            raise ConfigError(
                [
                    Problem(
                        "to_env(target)",
                        "",
                        "",
                        repr(target),
                        "one of " + ", ".join(TARGETS),
                        'call to_env("local"), to_env("batch") or to_env("sfn")',
                    )
                ]
            )
        remote = target != "local"
        values, origins = self._resolution.values, self._resolution.origins
        env: dict[str, str] = {}
        for field in FIELDS:
            origin = origins.get(field.name)
            if origin is None or (remote and field.local):
                continue
            if origin[0] == "derived" and (field.derive is None or field.derive.bases):
                continue
            env[field.env] = field.kind.to_text(values[field.name])
        if remote and values["SERVICE_INTERNAL_URL"] is not None:
            env["METAFLOW_SERVICE_URL"] = values["SERVICE_INTERNAL_URL"]
            env.pop("METAFLOW_SERVICE_INTERNAL_URL", None)
        if target == "sfn":
            _check_sfn_size(env)
        return env

    # -- protocol --------------------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        msg = f"settings are read-only: use metaflow_config.override({name}=...) instead"
        raise AttributeError(msg)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return self._resolution.values == other._resolution.values

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        origins = self._resolution.origins
        shown = [
            f"{f.env}={f.show(self._resolution.values[f.name])}"
            for f in FIELDS
            if origins.get(f.name, ("default",))[0] not in ("default", "derived")
        ]
        profile = self.profile or "default"
        return f"Settings(profile={profile!r}, home={self.home!r}, set=[{', '.join(shown)}])"


def _check_sfn_size(env: dict[str, str]) -> None:
    """Step Functions limits container overrides; say which variables make it too large."""
    sizes = {k: len(k) + len(v) + len('{"Name":"","Value":""},') for k, v in env.items()}
    total = sum(sizes.values()) + 2
    if total <= SFN_ENV_LIMIT:
        return
    largest = sorted(sizes.items(), key=lambda kv: -kv[1])[:5]
    listed = ", ".join(f"{k} ({n} chars)" for k, n in largest)
    raise ConfigError(
        [
            Problem(
                "to_env('sfn')",
                "",
                "",
                f"{total} characters",
                f"at most {SFN_ENV_LIMIT} characters of container environment for Step Functions "
                f"(largest: {listed})",
                "shorten or unset the largest values (e.g. move long JSON into the profile of the "
                "container image), or set METAFLOW_SFN_COMPRESS_STATE_MACHINE=true",
            )
        ]
    )
