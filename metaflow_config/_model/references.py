"""Secret references: the syntax of a value kept in AWS Secrets Manager or SSM Parameter Store.

A value holding :data:`MARK` is read as a reference, in CloudFormation's dynamic-reference
syntax (``{{resolve:secretsmanager:<id>[:SecretString:<key>]}}``, ``{{resolve:ssm:<name>}}``);
:func:`parse_reference` gives the :class:`Reference`, or what is wrong with it. What fetches one
is ``_snapshot.fetch``.
"""

from __future__ import annotations

import re

from .record import Record

__all__ = ["MARK", "SERVICES", "SYNTAX", "Reference", "parse_reference"]


#: What every secret reference starts with: a value holding it is read as one.
MARK = "{{"
#: Patterns as text: compiled (and kept) by ``re`` on first use, not by every process at import.
_REFERENCE = r"\{\{resolve:([a-z]+):(.*)\}\}"
#: The services a reference names, and how a reference is written.
SERVICES = ("secretsmanager", "ssm")
SYNTAX = (
    "{{resolve:secretsmanager:<secret-id>}}, "
    "{{resolve:secretsmanager:<secret-id>:SecretString:<json-key>}} or {{resolve:ssm:<name>}}"
)


class Reference(Record):
    """A value to fetch when read: where it is kept (never the value itself).

    Immutable and equal by its fields (a :class:`~metaflow_config._model.record.Record`).

    Attributes:
        text: the reference as written (what ``show``, ``explain`` and ``to_env`` give).
        service: ``secretsmanager`` or ``ssm``.
        name: the secret id (a name or an ARN), or the parameter name.
        key: for a JSON secret, the key whose value is wanted (``""``: the whole string).

    """

    __slots__ = ("key", "name", "service", "text")
    __match_args__ = ("text", "service", "name", "key")
    text: str
    service: str
    name: str
    key: str

    def __init__(self, text: str, service: str, name: str, key: str = "") -> None:
        for attr, value in (("text", text), ("service", service), ("name", name), ("key", key)):
            object.__setattr__(self, attr, value)

    def __setattr__(self, name: str, value: object) -> None:
        msg = "a Reference is read-only"
        raise AttributeError(msg)

    def __hash__(self) -> int:  # immutable: hashable, unlike other records
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Reference(text={self.text!r}, service={self.service!r}, name={self.name!r}, "
            f"key={self.key!r})"
        )

    @property
    def region(self) -> str | None:
        """The region of an ARN (``arn:aws:secretsmanager:<region>:...``), else ``None``."""
        parts = self.name.split(":")
        return parts[3] if self.name.startswith("arn:") and len(parts) > 4 and parts[3] else None

    @property
    def action(self) -> str:
        """The IAM action that reads it."""
        return (
            "secretsmanager:GetSecretValue"
            if self.service == "secretsmanager"
            else ("ssm:GetParameter")
        )

    def __str__(self) -> str:
        return self.text


def parse_reference(text: str) -> Reference | str:
    """The reference ``text`` holds, or what is wrong with it (``text`` holds ``{{``)."""
    match = re.fullmatch(_REFERENCE, text.strip())
    if match is None:
        return f"a secret reference ({SYNTAX}); a value holding '{{{{' is read as one"
    service, body = match.groups()
    if service not in SERVICES:
        return f"a reference to secretsmanager or ssm, not {service!r} ({SYNTAX})"
    key = ""
    if service == "secretsmanager" and ":SecretString:" in body:
        body, key = body.rsplit(":SecretString:", 1)
        if not key:
            return f"a JSON key after :SecretString: ({SYNTAX})"
    if not body or any(c.isspace() or c in "{}" for c in body):
        # neither service allows a brace in a name: ``{{resolve:ssm:/x}}}`` is a typo
        return f"a secret id or parameter name without spaces or braces ({SYNTAX})"
    return Reference(text.strip(), service, body, key)
