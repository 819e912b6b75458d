"""Secret references fetched: from AWS Secrets Manager or SSM Parameter Store, once per snapshot.

In any layer the value of a setting may be a reference in CloudFormation's dynamic-reference
syntax (``_model.references``), which stays a reference through resolution, ``show``,
``explain`` and ``to_env`` (a container fetches it with its own role: the plaintext never enters
a job definition or a state machine):

- ``{{resolve:secretsmanager:<secret-id>}}``: the secret's string (a name or a full ARN);
- ``{{resolve:secretsmanager:<secret-id>:SecretString:<json-key>}}``: one key of a JSON secret;
- ``{{resolve:ssm:<parameter-name>}}``: a parameter (a SecureString decrypted).

It is fetched the first time the setting's value is read (:func:`fetched`: boto3 is imported
then, and only then), validated as the setting's kind, and kept for the snapshot's life. The
call itself (:func:`fetch_text`) is bounded (:data:`FETCH_TIMEOUTS`, one retry), and nothing the
AWS libraries log while it runs reaches a handler (:func:`unlogged`); ``metaflow_config.aws``
offers it as ``fetch_reference``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .._display import MASK
from .._model.jsontext import decode_json
from .._model.references import Reference
from .._model.table import BY_NAME
from .._model.values import conceal, freeze
from .._resolve.resolution import Resolution
from .._resolve.validate import validate_value
from ..errors import ConfigError, Problem

__all__ = [
    "FETCH_TIMEOUTS",
    "FetchError",
    "fetch_and_validate",
    "fetch_text",
    "fetched",
    "missing_aws_profile",
    "no_answer",
    "session",
    "unlogged",
]

_LOCK = threading.Lock()


class FetchError(ConfigError):
    """A secret reference that could not be fetched, or fetched a value the setting refuses.

    A ``ConfigError`` like any other; told apart where the way to see it again differs: only
    ``metaflow-config check --aws`` fetches (``check`` alone reads no secret).
    """


def fetched(resolution: Resolution, name: str, reference: Reference) -> Any:
    """The value of setting ``name`` (short) that ``reference`` holds, fetched once per snapshot.

    ``resolution`` is the snapshot's: what was fetched is kept there.

    Raises:
        ConfigError: it cannot be fetched, or what was fetched is not a valid value of the
            setting; naming the setting, where the reference came from and the reference.

    """
    cache: dict[str, Any] = resolution.fetched
    if name in cache:
        return cache[name]
    with _LOCK:  # one fetch per setting, whatever the threads reading it
        if name not in cache:
            cache[name] = fetch_and_validate(resolution, name, reference)
    return cache[name]


def fetch_and_validate(
    resolution: Resolution, name: str, reference: Reference, client: Any = None
) -> Any:
    """Fetch ``reference`` (with ``client`` if given) and validate it as setting ``name``.

    What :func:`fetched` keeps; ``check --aws`` calls it with the clients of its session.
    """
    setting = BY_NAME[name]
    layer, location = resolution.origins.get(name, ("derived", ""))
    where = f"{reference.text} ({layer}: {location})"
    text = fetch_text(reference, resolution, setting.env, where, client=client)
    # Raised outside the handler: no exception chain keeps the fetched text (a ConfigError
    # about a value quotes it; this one quotes the reference only).
    failure: ConfigError | None = None
    try:
        value = validate_value(
            setting, text, layer=layer, location=location, references_taken=False
        )
    except ConfigError as exc:
        failure = FetchError(
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


#: Bounds of a secret reference's fetch: it happens on a read, so it must not hang the reader.
FETCH_TIMEOUTS = {"connect_timeout": 5, "read_timeout": 10}


def fetch_text(
    reference: Reference, resolution: Resolution, name: str, where: str, *, client: Any = None
) -> str:
    """The text ``reference`` holds in Secrets Manager or SSM (for the setting ``name``).

    What ``aws.fetch_reference`` does for a snapshot; ``resolution`` is the snapshot's.

    The region is the ARN's, else (Secrets Manager) ``AWS_SECRETS_MANAGER_DEFAULT_REGION``,
    else boto3's own chain; connect and read timeouts, at most one retry. ``client`` (of the
    reference's service) is used instead of a new one, as ``check --aws`` does.

    Raises:
        ConfigError: no credentials, no region, not found, access denied (naming the IAM
            action), a timeout, a JSON key that is not there: naming ``name``, ``where`` (the
            reference, the layer and the location), never a secret.

    """
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    region = reference.region
    if region is None and reference.service == "secretsmanager":
        region = resolution.values["AWS_SECRETS_MANAGER_DEFAULT_REGION"]
    config = BotoConfig(**FETCH_TIMEOUTS, retries={"max_attempts": 2, "mode": "standard"})

    def problem(expected: str, fix: str) -> ConfigError:
        return FetchError([Problem.missing(name, f"{expected} for {where}", fix)])

    # The error is raised outside the handlers: no exception chain keeps botocore's error.
    failure: ConfigError | None = None
    text = ""
    try:
        if client is None:
            made = session(resolution.values)
            client = made.client(reference.service, region_name=region, config=config)
        with unlogged():  # botocore logs response bodies at DEBUG: the secret's text
            if reference.service == "ssm":
                answer = client.get_parameter(Name=reference.name, WithDecryption=True)
                text = str(answer["Parameter"]["Value"])
            else:
                answer = client.get_secret_value(SecretId=reference.name)
                if "SecretString" not in answer:
                    failure = problem(
                        "a secret holding text (SecretString), found binary",
                        f"store {reference.name} as text",
                    )
                else:
                    text = str(answer["SecretString"])
            del answer
    except (NoRegionError, ProfileNotFound, NoCredentialsError) as exc:  # no call was made:
        failure = _not_called(exc, reference, problem)  # not the network nor the timeouts
    except ClientError as exc:
        failure = _client_problem(
            reference, where, str(exc.response.get("Error", {}).get("Code", "")), problem
        )
    except (BotoCoreError, OSError) as exc:
        failure = problem(
            no_answer(reference.service, exc),
            "check the network and the region, then read the setting again",
        )
    if failure is None and reference.key:  # the key's value: the rest of the secret goes
        text, failure = _json_key(reference, text, problem)
    if failure is not None:
        # A traceback shows its frames' locals (pytest -l, Sentry, rich): the fetched text is
        # no local of this frame when it raises (nor of _json_key's, which has returned).
        text = ""
        raise failure
    return text


def _not_called(
    exc: BaseException, reference: Reference, problem: Callable[[str, str], ConfigError]
) -> ConfigError:
    """The error of a fetch of ``reference`` that made no call: no region, profile, credentials."""
    from botocore.exceptions import NoRegionError, ProfileNotFound

    if isinstance(exc, NoRegionError):
        own = ", or METAFLOW_AWS_SECRETS_MANAGER_DEFAULT_REGION"
        return problem(
            "an AWS region to fetch it from",
            "set AWS_DEFAULT_REGION (or AWS_REGION), or the region of the AWS profile in "
            f"~/.aws/config{own if reference.service == 'secretsmanager' else ''}",
        )
    if isinstance(exc, ProfileNotFound):
        profile, source, known = missing_aws_profile(exc)
        return problem(
            f"an AWS profile to fetch it with ({source} names {profile!r}, which the AWS "
            f"config and credentials files do not hold; their profiles: {known})",
            f"correct or unset {source}" if source.startswith("AWS_") else "correct it",
        )
    return problem(
        "AWS credentials to fetch it",
        "configure credentials (AWS_PROFILE, `aws configure`, or a role of the machine)",
    )


def _client_problem(
    reference: Reference, where: str, code: str, problem: Callable[[str, str], ConfigError]
) -> ConfigError:
    """The error of an AWS error ``code`` answered to a fetch of ``reference``."""
    if code in ("ResourceNotFoundException", "ParameterNotFound"):
        return problem(
            f"an existing {reference.service} entry {reference.name!r}",
            f"create it, or correct the reference in {where}",
        )
    if "AccessDenied" in code:
        return problem(
            f"permission to read it ({reference.action}; kms:Decrypt for an encrypted one)",
            f"allow {reference.action} on {reference.name} to this machine's role or user",
        )
    return problem(f"an answer from {reference.service} (got {code or 'an error'})", "retry")


#: Loggers of the libraries a fetch goes through (botocore logs response bodies at DEBUG)
_FETCH_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


class _Fetching(logging.Filter):
    """Drops the records a thread logs while it fetches a secret (see :func:`unlogged`)."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.local, "on", False)


_FETCHING = _Fetching()


@contextlib.contextmanager
def unlogged() -> Iterator[None]:
    """Nothing the AWS libraries log in this thread reaches a handler while the block runs.

    A filter of every logger of botocore, boto3, urllib3 and s3transfer (a logger's filters
    are asked where a record is made, so each logger gets it), on for this thread only: other
    threads' logging is untouched.
    """
    for logger_name in list(logging.root.manager.loggerDict):
        if logger_name.split(".", 1)[0] in _FETCH_LOGGERS:
            logger = logging.getLogger(logger_name)
            if _FETCHING not in logger.filters:
                logger.addFilter(_FETCHING)
    _FETCHING.local.on = True
    try:
        yield
    finally:
        _FETCHING.local.on = False


def _json_key(
    reference: Reference, text: str, problem: Callable[[str, str], ConfigError]
) -> tuple[str, ConfigError | None]:
    """The value of ``reference.key`` in the JSON secret ``text`` (JSON text if not a string).

    Or ``""`` and the error to raise where ``text`` is not a JSON object holding the key:
    returned, not raised, so that this frame, which holds the whole secret, is gone by then.
    """
    import json

    # strict and bounded (MAX_JSON_DEPTH, on every Python): a hostile secret is no RecursionError
    document = decode_json(text, bounded=True)[0]
    if not isinstance(document, dict) or reference.key not in document:
        return "", problem(
            f"a JSON secret with the key {reference.key!r}",
            f"add the key {reference.key!r} to {reference.name}, or correct the reference",
        )
    value = document[reference.key]
    return (value if isinstance(value, str) else json.dumps(value)), None


def session(values: Mapping[str, Any]) -> Any:
    """A new ``boto3.session.Session`` for the resolved ``values`` (boto3's chain).

    Metaflow's AWS sandbox gives its region (AWS_SANDBOX_REGION) to the session, as Metaflow
    does; otherwise credentials and the region are boto3's own business.
    """
    import boto3

    if values["AWS_SANDBOX_ENABLED"] and values["AWS_SANDBOX_REGION"]:
        return boto3.session.Session(region_name=values["AWS_SANDBOX_REGION"])
    return boto3.session.Session()


def missing_aws_profile(exc: BaseException, given: str | None = None) -> tuple[str, str, str]:
    """The AWS profile boto3 did not find (``ProfileNotFound``), who named it, the profiles.

    ``given``: the profile a command was given (``--aws-profile``); else boto3 took the name from
    ``AWS_PROFILE`` (or ``AWS_DEFAULT_PROFILE``). The profiles are listed without selecting one
    (which would fail again): ``"none"`` when there are none, ``"unknown"`` when unreadable.
    """
    kwargs = getattr(exc, "kwargs", None)
    named = kwargs.get("profile") if isinstance(kwargs, dict) else None
    name = str(given or named or os.environ.get("AWS_PROFILE") or "")
    if given:
        source = "--aws-profile"
    elif os.environ.get("AWS_PROFILE") == name:
        source = "AWS_PROFILE"
    elif os.environ.get("AWS_DEFAULT_PROFILE") == name:
        source = "AWS_DEFAULT_PROFILE"
    else:
        source = "the AWS configuration"
    try:
        import botocore.session

        known = ", ".join(botocore.session.Session().available_profiles) or "none"
    except Exception:  # an unreadable config file: said as unknown
        known = "unknown"
    return name, source, known


def no_answer(service: str, exc: BaseException) -> str:
    """What a call that got no answer from ``service`` expected: said as it failed.

    A timeout (connecting or reading) is said as one; a refused or unresolvable connection is
    no timeout (it fails at once): ``an answer from CloudFormation (could not connect: ...)``.
    """
    name = type(exc).__name__
    if "Timeout" in name:
        return f"an answer from {service} within the timeouts ({name})"
    if "Connection" in name:
        return f"an answer from {service} (could not connect: {name})"
    return f"an answer from {service} ({name})"
