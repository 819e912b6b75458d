"""Secret references: values kept in AWS Secrets Manager or SSM Parameter Store.

In any layer the value of a setting may be a reference in CloudFormation's dynamic-reference
syntax, which stays a reference through resolution, ``show``, ``explain`` and ``to_env`` (a
container fetches it with its own role: the plaintext never enters a job definition or a
state machine):

- ``{{resolve:secretsmanager:<secret-id>}}``: the secret's string (a name or a full ARN);
- ``{{resolve:secretsmanager:<secret-id>:SecretString:<json-key>}}``: one key of a JSON secret;
- ``{{resolve:ssm:<parameter-name>}}``: a parameter (a SecureString decrypted).

It is fetched the first time the setting's value is read (``metaflow_config.aws`` does it,
importing boto3 then), validated as the setting's kind, and kept for the snapshot's life.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .._display import MASK
from .._model.kinds import Reference
from ..errors import ConfigError, Problem

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["fetch_and_validate", "fetched"]

_LOCK = threading.Lock()


def fetched(snapshot: Settings, name: str, reference: Reference) -> Any:
    """The value of setting ``name`` (short) that ``reference`` holds, fetched once per snapshot.

    Raises:
        ConfigError: it cannot be fetched, or what was fetched is not a valid value of the
            setting; naming the setting, where the reference came from and the reference.

    """
    cache: dict[str, Any] = snapshot._resolution.fetched
    if name in cache:
        return cache[name]
    with _LOCK:  # one fetch per setting, whatever the threads reading it
        if name not in cache:
            cache[name] = fetch_and_validate(snapshot, name, reference)
    return cache[name]


def fetch_and_validate(
    snapshot: Settings, name: str, reference: Reference, client: Any = None
) -> Any:
    """Fetch ``reference`` (with ``client`` if given) and validate it as setting ``name``.

    What :func:`fetched` keeps; ``check --aws`` calls it with the clients of its session.
    """
    from .._model.kinds import conceal, freeze
    from .._model.table import BY_NAME
    from .._resolve.resolve import validate_value
    from ..aws import fetch_reference

    setting = BY_NAME[name]
    layer, location = snapshot._resolution.origins.get(name, ("derived", ""))
    where = f"{reference.text} ({layer}: {location})"
    text = fetch_reference(reference, snapshot, setting.env, where, client=client)
    # Raised outside the handler: no exception chain keeps the fetched text (a ConfigError
    # about a value quotes it; this one quotes the reference only).
    failure: ConfigError | None = None
    try:
        value = validate_value(setting, text, layer=layer, location=location)
    except ConfigError as exc:
        failure = ConfigError(
            [
                Problem.bad_value(
                    setting.env,
                    layer,
                    location,
                    value=f"{MASK} (fetched from {reference.text})",
                    expected=exc.problems[0].expected,
                    fix=f"store a valid value in {reference.service} under {reference.name}",
                )
            ]
        )
    del text
    if failure is not None:
        raise failure
    if setting.kind.json_valued:
        value = freeze(value)
    return conceal(value, secret=True)  # what a reference fetched is kept out of every repr
