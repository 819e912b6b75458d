"""boto3 for the settings: a session, and clients that apply the S3 settings.

The public module of metaflow_config that imports boto3 (``pip install 'metaflow-config[aws]'``;
``_snapshot.fetch`` imports it too, when a secret reference is first read); ``import
metaflow_config`` never does. Every function takes a snapshot (``load(...)``) or uses
the one in force (the innermost ``override``, else the process-wide ``settings``).

Credentials and the region are boto3's own business and are not re-implemented: the region
comes from ``AWS_DEFAULT_REGION``, then the AWS config file (``AWS_PROFILE``,
``AWS_CONFIG_FILE``), then whatever else botocore consults (instance metadata in its ``auto``
defaults mode). The one exception is Metaflow's AWS sandbox, whose AWS_SANDBOX_REGION is given
to the session, as Metaflow does by setting ``AWS_DEFAULT_REGION``.

``cloudformation_stack`` and ``api_key_value`` read a deployed Metaflow stack (its outputs, and
the metadata service's API key by its id), for ``metaflow-config import --from-cloudformation``.

A remote task needs the region too: pass ``{"AWS_DEFAULT_REGION": region()}`` as ``extra`` to
``settings.batch.container_environment`` (it is not a Metaflow setting, so ``to_env`` does not
carry it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError
except ImportError as exc:  # pragma: no cover - boto3 is the "aws" extra
    _msg = "metaflow_config.aws needs boto3: pip install 'metaflow-config[aws]'"
    raise ImportError(_msg) from exc

from ._checks.checks import CheckResult
from ._checks.checks import check as _check_live
from ._checks.probes import NO_REGION
from ._display import (
    MASK,
    mask_quoted,
    mask_url_password,
    redact,
    shell_quote,
    show_value,
    texts_of,
    url_passwords,
)
from ._model.references import Reference
from ._model.table import BY_NAME
from ._scope import current
from ._snapshot.fetch import (
    FETCH_TIMEOUTS,
    fetch_text,
    missing_aws_profile,
    no_answer,
    unlogged,
)
from ._snapshot.fetch import session as _session
from ._snapshot.settings import Settings, resolution_of
from ._sources.layers import BY_LAYER
from .errors import ConfigError, Problem

__all__ = [
    "FETCH_TIMEOUTS",
    "STACK_COMPLETE",
    "CheckResult",
    "Stack",
    "StackOutput",
    "api_key_value",
    "check",
    "client",
    "cloudformation_stack",
    "fetch_reference",
    "region",
    "s3_client",
    "session",
]


def _snapshot(
    settings: Settings | None, kwargs: Mapping[str, Any] | None = None, call: str = ""
) -> Settings:
    """``settings``, else the snapshot in force; ``kwargs``: the keywords ``call`` hands boto3."""
    if kwargs and "snapshot" in kwargs:  # as testing's helpers name it: boto3 would refuse it
        raise ConfigError(
            [
                Problem.bad_argument(
                    f"{call}(snapshot=...)",
                    "snapshot=, a keyword boto3 does not take",
                    "the snapshot as settings= (or first), as every helper of aws takes it",
                    f"call {call}(settings=<snapshot>)",
                )
            ]
        )
    return current() if settings is None else settings


def session(settings: Settings | None = None) -> Any:
    """A new ``boto3.session.Session`` for ``settings`` (credentials and region: boto3's chain).

    Raises:
        ConfigError: boto3 refused what the settings gave it (the sandbox's region), naming
            the setting, its layer and its location, with boto3's words masked.

    """
    s = _snapshot(settings)
    return _built(s, "a boto3 session", lambda: _session(resolution_of(s).values), _of_session(s))


def region(settings: Settings | None = None) -> str | None:
    """The AWS region boto3 resolves for ``settings`` (``None`` when nothing configures one)."""
    name = session(settings).region_name
    return str(name) if name else None


def client(
    service_name: str,
    settings: Settings | None = None,
    *,
    boto_session: Any = None,
    **kwargs: Any,
) -> Any:
    """A boto3 client of ``service_name`` (``"batch"``, ``"stepfunctions"``, ...).

    For ``"s3"`` this is :func:`s3_client`, with the S3 settings applied. ``kwargs`` go to
    ``Session.client``; ``boto_session`` reuses a session instead of making one.
    """
    if service_name == "s3":
        return s3_client(settings, boto_session=boto_session, **kwargs)
    s = _snapshot(settings, kwargs, "client")
    sess = boto_session if boto_session is not None else session(s)
    if not kwargs.get("region_name") and not sess.region_name:
        raise ConfigError(
            [
                Problem.missing(
                    NO_REGION,
                    f"a region for the {service_name} client (boto3 found none: not in "
                    "AWS_DEFAULT_REGION, nor in the AWS profile's config)",
                    "export AWS_DEFAULT_REGION=<region> (e.g. us-east-1), or run "
                    "`aws configure` to set the region of your AWS profile, or pass region_name=",
                )
            ]
        )
    fed = _of_session(s) if boto_session is None else ()  # a session given is the caller's
    return _built(
        s,
        f"the {service_name} client",
        lambda: sess.client(service_name, **kwargs),
        fed,
        handed=kwargs,
        call="client" if kwargs else "",
    )


def s3_client(settings: Settings | None = None, *, boto_session: Any = None, **kwargs: Any) -> Any:
    """A boto3 S3 client with the S3 settings applied.

    ``settings.s3.client_kwargs``: DATATOOLS_CLIENT_PARAMS, ``endpoint_url`` from
    S3_ENDPOINT_URL (MinIO, VPC endpoints), ``verify`` from S3_VERIFY_CERTIFICATE, and the
    retries of S3_CLIENT_RETRY_CONFIG. ``kwargs`` win over them; a ``config`` given here is
    merged over the settings' one. Uploads take ``settings.s3.upload_args`` as ``ExtraArgs``.

    Raises:
        ConfigError: boto3 refused the arguments the settings gave it (a keyword it does not
            take, a value of the wrong type, partial credentials), naming the settings, their
            layers and locations, with boto3's words masked (never a secret, nor a key of
            DATATOOLS_CLIENT_PARAMS).

    """
    s = _snapshot(settings, kwargs, "s3_client")
    params = s.s3.client_kwargs
    theirs = kwargs.pop("config", None)
    params.update(kwargs)
    config = _config(s, params.pop("config", {}))
    if theirs is not None:
        config = config.merge(theirs)
    sess = boto_session if boto_session is not None else session(s)
    fed = (*_S3_CLIENT, *(_of_session(s) if boto_session is None else ()))
    return _built(
        s,
        "the S3 client",
        lambda: sess.client("s3", config=config, **params),
        fed,
        handed={**params, "config": config},
        call="s3_client" if kwargs else "",
    )


def fetch_reference(
    reference: Reference, settings: Settings, name: str, where: str, *, client: Any = None
) -> str:
    """The text ``reference`` holds in Secrets Manager or SSM (for the setting ``name``).

    The region is the ARN's, else (Secrets Manager) ``AWS_SECRETS_MANAGER_DEFAULT_REGION``,
    else boto3's own chain; connect and read timeouts, at most one retry. ``client`` (of the
    reference's service) is used instead of a new one, as ``check --aws`` does.

    Raises:
        ConfigError: no credentials, no region, not found, access denied (naming the IAM
            action), a timeout, a JSON key that is not there: naming ``name``, ``where`` (the
            reference, the layer and the location), never a secret.

    """
    return fetch_text(reference, resolution_of(settings), name, where, client=client)


# --- what boto3 refuses -----------------------------------------------------------------------

_T = TypeVar("_T")

#: What boto3 and botocore raise on the arguments of a session or a client they refuse: a
#: keyword they do not take or a value of the wrong type (TypeError, AttributeError), an
#: endpoint or a region they refuse (ValueError, InvalidRegionError), partial credentials
_REFUSED = (TypeError, ValueError, AttributeError, LookupError, BotoCoreError)
#: The settings an S3 client is made from, besides its session's (see ``s3_client``)
_S3_CLIENT = (
    "DATATOOLS_CLIENT_PARAMS",
    "S3_ENDPOINT_URL",
    "S3_VERIFY_CERTIFICATE",
    "S3_CLIENT_RETRY_CONFIG",
)
#: The settings the resolution does not hold to what boto3 takes (any JSON object, any text):
#: a failure is theirs first; one of the others, held to it, is named only when none of these
#: was set
_UNCHECKED = frozenset({"DATATOOLS_CLIENT_PARAMS", "AWS_SANDBOX_REGION"})


def _of_session(s: Settings) -> tuple[str, ...]:
    """The settings a session of ``s`` is made from: the sandbox's region, in the sandbox.

    As ``_snapshot.fetch.session`` gives it (the sandbox's region, when set, else nothing).
    """
    return ("AWS_SANDBOX_REGION",) if resolution_of(s).values["AWS_SANDBOX_ENABLED"] else ()


def _built(
    s: Settings,
    what: str,
    build: Callable[[], _T],
    fed: Sequence[str],
    *,
    handed: Mapping[str, Any] | None = None,
    call: str = "",
) -> _T:
    """``build()``, which makes ``what`` (a session, a client) from the settings ``fed``.

    boto3 checks its arguments only when it makes a client, and its errors quote them (an
    endpoint with its password, a key of DATATOOLS_CLIENT_PARAMS, a region). What it refuses
    (``_REFUSED``) is a ConfigError naming those of ``fed`` a layer set, with their layers and
    locations, and boto3's words with every secret masked (see :func:`_refused_by_boto3`);
    raised outside the handler, from ``None``: no exception chain keeps boto3's error.
    ``handed``: the arguments given to boto3 (none of their text is shown); ``call``: the
    function whose caller gave arguments of its own, named when no setting was set. With
    neither, what boto3 refused is none of the settings' (an AWS_DEFAULT_REGION, an
    AWS_PROFILE): its error goes on as it is.
    """
    try:
        return build()
    except _REFUSED as exc:
        failure = _refused_by_boto3(s, what, exc, fed, handed=handed or {}, call=call)
        if failure is None:
            raise
    raise failure from None


def _refused_by_boto3(
    s: Settings,
    what: str,
    exc: BaseException,
    fed: Sequence[str],
    *,
    handed: Mapping[str, Any],
    call: str,
) -> ConfigError | None:
    """The ConfigError of ``exc``, boto3's refusal of ``what`` made from ``fed`` (or ``None``)."""
    set_here = [name for name in fed if s.explain(name).source != "default"]
    # a setting held to what boto3 takes is named only where nothing else can be the cause
    named = [name for name in set_here if name in _UNCHECKED] or ([] if call else set_here)
    if not named and not call:
        return None
    said = _masked_words(s, exc, handed)
    made = [BY_NAME[name].env for name in named]
    if call:
        made.append(f"the arguments given to {call}()")
    expected = f"arguments boto3 takes (it refused {what} made from {' and '.join(made)}: {said})"
    problems = []
    for name in named:
        info = s.explain(name)
        layer = BY_LAYER.get(info.source)
        problems.append(
            Problem.bad_value(
                info.name,
                info.source,
                info.location,
                value=show_value(info.value, secret=info.secret),
                expected=expected,
                fix=layer.fix(info.location) if layer else f"correct {info.name}",
            )
        )
    if not named:
        fix = f"pass {call}() only arguments boto3 takes, of the types it takes"
        problems.append(Problem.bad_argument(f"{call}(...)", "", expected, fix))
    return ConfigError(problems)


def _masked_words(s: Settings, exc: BaseException, handed: Mapping[str, Any]) -> str:
    """``exc`` in words (its type, its message), with no secret in them.

    Masked: the secrets the snapshot holds or fetched, the URL passwords of its values and of
    the arguments handed to boto3, every text among those arguments and every key of theirs
    that is no argument boto3 names (a key of a secret map is secret), then every quoted part
    (a secret under ``redact``'s shortest, a piece of one).
    """
    resolution = resolution_of(s)
    held = [v for name, v in resolution.values.items() if BY_NAME[name].secret]
    texts = texts_of([*resolution.fetched.values(), *held, *handed.values()])
    passwords = url_passwords([*resolution.values.values(), *handed.values()])
    boto3s = _client_arguments()
    keys = [key for key in _keys(handed) if key not in boto3s]
    words = redact(f"{type(exc).__name__}: {exc}", [*texts, *passwords, *keys])
    return mask_quoted(mask_url_password(words))


def _keys(value: Any) -> list[str]:
    """The keys of the mappings in ``value``, at any depth (each mapping once)."""
    found: list[str] = []
    pending, seen = [value], set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, Mapping):
            found.extend(str(key) for key in item)
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return found


def _client_arguments() -> frozenset[str]:
    """The names of the arguments of boto3's ``Session.client`` (no secret: boto3's own)."""
    import inspect  # the error path only

    return frozenset(inspect.signature(boto3.session.Session.client).parameters)


def _config(s: Settings, arguments: Mapping[str, Any]) -> Any:
    """``botocore.config.Config(**arguments)``, or a ConfigError naming where they came from.

    botocore's message names the key it refused: not shown, as no key of this secret map is.
    """
    try:
        return Config(**arguments)
    except TypeError:
        pass
    info = s.explain("METAFLOW_DATATOOLS_CLIENT_PARAMS")
    raise ConfigError(  # outside the handler: botocore's error is not its context
        [
            Problem.bad_value(
                info.name,
                info.source,
                info.location,
                value=MASK,
                expected="a 'config' object of botocore.config.Config arguments (botocore "
                "refused one of its keys)",
                fix="keep only botocore.config.Config's arguments in 'config' in "
                "METAFLOW_DATATOOLS_CLIENT_PARAMS",
            )
        ]
    )


def check(
    settings: Settings | None = None,
    capabilities: Iterable[str] | None = None,
    write_probe: bool = False,
    *,
    profile: str | None = None,
    **options: Any,
) -> list[CheckResult]:
    """Check ``settings`` live against AWS and the metadata service (``check --aws``).

    One :class:`CheckResult` per check (name, status PASS/WARN/FAIL/SKIP, detail, fix); see
    README "Checking against AWS". The session is :func:`session`'s (``profile``: that AWS
    profile's) and the clients are :func:`client`'s, each call with a timeout and at most one
    retry. ``options``: ``timeout``, ``deadline``, ``progress``, ``session``, ``client_factory``.
    """
    s = _snapshot(settings)
    if "session" not in options:
        from botocore.exceptions import ProfileNotFound

        try:
            made = boto3.session.Session(profile_name=profile) if profile else session(s)
        except ProfileNotFound:
            made = None  # the checks report it as the aws.credentials failure
        options["session"] = made
    boto_session = options.get("session")
    if boto_session is not None and "client_factory" not in options:

        def clients(service: str, *, config: Any = None, region_name: str | None = None) -> Any:
            return client(
                service, s, boto_session=boto_session, config=config, region_name=region_name
            )

        options["client_factory"] = clients
    return _check_live(s, capabilities, write_probe, profile=profile, **options)


# --- a deployed stack ---------------------------------------------------------------------------

#: The states of a stack whose outputs are those of a finished deployment (an update rolled back
#: is the previous deployment again; a creation rolled back, ``ROLLBACK_COMPLETE``, left nothing)
STACK_COMPLETE = frozenset(
    {
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE",
    }
)


@dataclass(frozen=True)
class StackOutput:
    """One output of a CloudFormation stack: its key, its value and its description."""

    key: str
    value: str
    description: str


@dataclass(frozen=True)
class Stack:
    """A CloudFormation stack as :func:`cloudformation_stack` read it."""

    name: str
    region: str
    status: str
    outputs: tuple[StackOutput, ...]


def _plain_session(region: str | None, aws_profile: str | None, what: str) -> Any:
    """A boto3 session of ``aws_profile`` (None: boto3's chain) with a region, for ``what``.

    The region is ``region``, else boto3's (``AWS_DEFAULT_REGION``, the AWS profile's config).
    """
    from botocore.exceptions import ProfileNotFound

    failure: ConfigError | None = None
    try:
        made = boto3.session.Session(profile_name=aws_profile, region_name=region)
    except ProfileNotFound as exc:
        name, source, known = missing_aws_profile(exc, aws_profile)
        leave = f"unset {source}" if source.startswith("AWS_") else "leave it out"
        failure = ConfigError(
            [
                Problem.bad_argument(
                    f"AWS profile ({source})",
                    repr(name),
                    "a profile of the AWS config or credentials file (none of that name; "
                    f"profiles: {known})",
                    f"check the name (`aws configure list-profiles`), or {leave} to use "
                    "boto3's default credentials",
                )
            ]
        )
    if failure is not None:
        raise failure
    if not made.region_name:
        raise ConfigError(
            [
                Problem.missing(
                    NO_REGION,
                    f"the region of {what} (none given, and boto3 found none: not in "
                    "AWS_DEFAULT_REGION, nor in the AWS profile's config)",
                    "pass --region REGION, or export AWS_DEFAULT_REGION=<region>",
                )
            ]
        )
    return made


def _aws_problem(exc: BaseException, where: str, action: str, service: str) -> Problem:
    """The problem of the AWS error ``exc``, met reading ``where`` (``action``: the IAM action)."""
    from ._checks.probes import classify, error_code

    kind = classify(exc)
    if kind == "credentials":
        code = error_code(exc) or type(exc).__name__
        expected = f"AWS credentials that {service} accepts (got {code})"
        fix = (
            "configure credentials (AWS_PROFILE or --aws-profile, `aws configure`, `aws sso "
            "login`, or a role of the machine)"
        )
    elif kind == "denied":
        expected, fix = f"permission to read it ({action})", f"allow {action} to this identity"
    elif kind == "region":
        expected, fix = "an AWS region", "pass --region REGION, or export AWS_DEFAULT_REGION"
    elif kind == "network":
        expected = no_answer(service, exc)
        fix = "check the network and the region, then run it again"
    else:
        expected = f"an answer from {service} (got {error_code(exc) or type(exc).__name__})"
        fix = "run it again"
    return Problem.missing(where, expected, fix)


def cloudformation_stack(
    name: str, *, region: str | None = None, aws_profile: str | None = None
) -> Stack:
    """The CloudFormation stack ``name`` (a name or a stack id) with its outputs.

    Credentials come from boto3's chain (``aws_profile``: that AWS profile); the region is
    ``region``, else the stack id's, else boto3's. One call, with timeouts and one retry.

    Raises:
        ConfigError: no region or credentials, a stack not found, one not in a complete state
            (:data:`STACK_COMPLETE`), access denied: naming the stack and the region.

    """
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import BotoCoreError, ClientError

    if region is None and name.startswith("arn:") and name.count(":") >= 5:
        region = name.split(":")[3] or None  # arn:aws:cloudformation:<region>:<account>:stack/...
    sess = _plain_session(region, aws_profile, f"CloudFormation stack {name!r}")
    where = f"CloudFormation stack {name!r} in {sess.region_name}"
    config = BotoConfig(**FETCH_TIMEOUTS, retries={"max_attempts": 2, "mode": "standard"})
    failure: Problem | None = None
    found: dict[str, Any] = {}
    try:
        answer = sess.client("cloudformation", config=config).describe_stacks(StackName=name)
        found = answer["Stacks"][0] if answer.get("Stacks") else {}
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ValidationError":  # no such stack
            found = {}
        else:
            failure = _aws_problem(exc, where, "cloudformation:DescribeStacks", "CloudFormation")
    except (BotoCoreError, OSError) as exc:
        failure = _aws_problem(exc, where, "cloudformation:DescribeStacks", "CloudFormation")
    if failure is not None:
        raise ConfigError([failure])
    quoted = f"--stack-name {shell_quote(name)} --region {shell_quote(sess.region_name)}"
    if not found:
        raise ConfigError(
            [
                Problem.missing(
                    where,
                    "an existing stack of that name or id (none found)",
                    "check the name and the region (--region): `aws cloudformation "
                    f"describe-stacks --region {shell_quote(sess.region_name)}` lists them",
                )
            ]
        )
    where = f"CloudFormation stack {str(found.get('StackName') or name)!r} in {sess.region_name}"
    status = str(found.get("StackStatus", ""))
    if status not in STACK_COMPLETE:
        waiting = status.endswith("_IN_PROGRESS")
        raise ConfigError(
            [
                Problem.missing(
                    where,
                    f"a stack in a complete state ({', '.join(sorted(STACK_COMPLETE))}), found "
                    f"{status or 'no state'}",
                    "wait until it completes, then run this again"
                    if waiting
                    else "see what went wrong: `aws cloudformation describe-stack-events "
                    f"{quoted}`; deploy it again, then run this again",
                )
            ]
        )
    outputs = tuple(
        StackOutput(
            str(out.get("OutputKey", "")),
            str(out.get("OutputValue", "")),
            str(out.get("Description", "")),
        )
        for out in found.get("Outputs", ())
    )
    return Stack(str(found.get("StackName", name)), sess.region_name, status, outputs)


def api_key_value(
    key_id: str, *, region: str, aws_profile: str | None = None, what: str = ""
) -> str:
    """The value of the API Gateway key ``key_id`` (the metadata service's ``x-api-key``).

    ``what`` names where the id came from (a stack's output), for the errors. The value is a
    secret: nothing the AWS libraries log while it is read reaches a handler, and no error
    raised here keeps the response in its chain.

    Raises:
        ConfigError: no credentials, no key of that id, access denied (``apigateway:GET``):
            naming ``METAFLOW_SERVICE_AUTH_KEY``, the id, the region and ``what``; never the key.

    """
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import BotoCoreError, ClientError

    sess = _plain_session(region, aws_profile, "the API Gateway key")
    where = f"METAFLOW_SERVICE_AUTH_KEY (the API Gateway key {key_id!r} in {region}{what})"
    action = f"apigateway:GET on arn:aws:apigateway:{region}::/apikeys/{key_id}"
    config = BotoConfig(**FETCH_TIMEOUTS, retries={"max_attempts": 2, "mode": "standard"})
    failure: Problem | None = None
    value = ""
    try:
        with unlogged():  # botocore logs response bodies at DEBUG: the key's value
            answer = sess.client("apigateway", config=config).get_api_key(
                apiKey=key_id, includeValue=True
            )
            value = str(answer.get("value") or "")
            del answer
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NotFoundException":
            failure = Problem.missing(
                where,
                "an API key of that id (none found)",
                "check the output's value and the region: `aws apigateway get-api-keys "
                f"--region {shell_quote(region)}` lists the keys",
            )
        else:
            failure = _aws_problem(exc, where, action, "API Gateway")
    except (BotoCoreError, OSError) as exc:
        failure = _aws_problem(exc, where, action, "API Gateway")
    if failure is None and not value:
        failure = Problem.missing(where, "a key with a value", "give the API key a value")
    if failure is not None:
        raise ConfigError([failure])
    return value
