"""What ``Settings.explain`` returns: a setting's value, where it came from, what it shadows.

A module of its own, imported on the first ``explain``: building a dataclass costs about a
millisecond, which every task process (``import metaflow`` with the extension) would pay at
import otherwise. ``metaflow_config.Explanation`` and ``Shadowed`` import it when first named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._display import entry_text, printable, show_value, shown_text
from .._model.table import BY_ENV
from .._resolve.resolution import Resolution

__all__ = ["Explanation", "Shadowed", "not_applied"]


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
        fetched: for a secret reference (``value`` is the reference), whether this snapshot
            has fetched it yet; ``None`` for any other value.
        not_applied: what an untrusted project file set and was not applied (the setting
            decides where data or credentials go), with why and what to do in ``why``.
        why: why ``not_applied`` was not applied, and the command that trusts the file.

    """

    name: str
    value: Any
    source: str
    location: str
    shadowed: tuple[Shadowed, ...]
    derived_from: str
    doc: str
    secret: bool
    fetched: bool | None = None
    not_applied: tuple[Shadowed, ...] = ()
    why: str = ""

    @property
    def shown(self) -> str:
        """The value as it may be shown to a person (masked if secret)."""
        field = BY_ENV.get(self.name)  # None: a registered section's key
        return field.show(self.value) if field else show_value(self.value, secret=self.secret)

    def __repr__(self) -> str:
        return (
            f"Explanation(name={self.name!r}, value={self.shown}, source={self.source!r}, "
            f"location={self.location!r}, shadowed={self.shadowed!r})"
        )

    def ignored_lines(self) -> list[str]:
        """The lines of ``explain`` saying what was set and not applied (see ``not_applied``)."""
        return [
            f"  ignored:  {s.source} {s.location} = {s.value} (not applied: {self.why})"
            for s in self.not_applied
        ]

    def _text(self) -> str:
        """The value as ``metaflow-config explain`` says it (``true``, the JSON text)."""
        field = BY_ENV.get(self.name)
        if field is None:  # a registered key's: as its variable would hold it
            return shown_text(entry_text(self.value, secret=self.secret)) or '""'
        if field.secret:
            return self.shown
        return shown_text(field.kind.to_text(self.value)) or '""'

    def __str__(self) -> str:
        shown = "(unset)" if self.value is None else self._text()  # as `explain` says it
        lines = [f"{self.name} = {shown}", f"  source:   {self.source}"]
        if self.location:  # labelled as `metaflow-config explain` labels it
            label = "derived:" if self.source == "derived" else "from:"
            lines.append(f"  {label:<9} {self.location}")
        lines.extend(f"  shadows:  {s.source} {s.location} = {s.value}" for s in self.shadowed)
        lines.extend(self.ignored_lines())
        if self.derived_from:
            lines.append(f"  rule:     {self.derived_from} (when no layer sets it)")
        if self.fetched is not None:
            state = "fetched" if self.fetched else "fetched when first read (not yet)"
            lines.append(f"  secret:   a reference: {state}")
        if self.doc:  # a registered section's field may have none
            lines.append(f"  doc:      {self.doc}")
        return "\n".join(map(printable, lines))  # each line escaped: none can fake another


def not_applied(
    resolution: Resolution, key: str, *, secret: bool
) -> tuple[tuple[Shadowed, ...], str]:
    """What an untrusted project file set for ``key`` (full name) and why it is not applied."""
    for data in resolution.layers.values():
        raw = data.untrusted.get(key)
        if raw is not None:
            shown = Shadowed(data.layer, raw.location, show_value(raw.value, secret=secret))
            return (shown,), data.distrust
    return (), ""
