"""boto3 for the settings: a session, and clients that apply the S3 settings.

The only module of metaflow_config that imports boto3 (``pip install 'metaflow-config[aws]'``);
``import metaflow_config`` never does. Every function takes a snapshot (``load(...)``) or uses
the one in force (the innermost ``override``, else the process-wide ``settings``).

Credentials and the region are boto3's own business and are not re-implemented: the region
comes from ``AWS_DEFAULT_REGION``, then the AWS config file (``AWS_PROFILE``,
``AWS_CONFIG_FILE``), then whatever else botocore consults (instance metadata in its ``auto``
defaults mode). The one exception is Metaflow's AWS sandbox, whose AWS_SANDBOX_REGION is given
to the session, as Metaflow does by setting ``AWS_DEFAULT_REGION``.

A remote task needs the region too: pass ``{"AWS_DEFAULT_REGION": region()}`` as ``extra`` to
``settings.batch.container_environment`` (it is not a Metaflow setting, so ``to_env`` does not
carry it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

try:
    import boto3
    from botocore.config import Config
except ImportError as exc:  # pragma: no cover - boto3 is the "aws" extra
    _msg = "metaflow_config.aws needs boto3: pip install 'metaflow-config[aws]'"
    raise ImportError(_msg) from exc

from ._checks import CheckResult
from ._checks import check as _check_live
from ._scope import current
from ._settings import Settings
from .errors import MASK, ConfigError, Problem

__all__ = ["CheckResult", "check", "client", "region", "s3_client", "session"]


def _snapshot(settings: Settings | None) -> Settings:
    return current() if settings is None else settings


def session(settings: Settings | None = None) -> Any:
    """A new ``boto3.session.Session`` for ``settings`` (credentials and region: boto3's chain)."""
    s = _snapshot(settings)
    if s.sandbox.enabled and s.sandbox.region:
        return boto3.session.Session(region_name=s.sandbox.region)
    return boto3.session.Session()


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
    sess = boto_session if boto_session is not None else session(settings)
    if not kwargs.get("region_name") and not sess.region_name:
        raise ConfigError(
            [
                Problem.missing(
                    "AWS region",
                    f"a region for the {service_name} client (boto3 found none: not in "
                    "AWS_DEFAULT_REGION, nor in the AWS profile's config)",
                    "export AWS_DEFAULT_REGION=<region> (e.g. us-east-1), or run "
                    "`aws configure` to set the region of your AWS profile, or pass region_name=",
                )
            ]
        )
    return sess.client(service_name, **kwargs)


def s3_client(settings: Settings | None = None, *, boto_session: Any = None, **kwargs: Any) -> Any:
    """A boto3 S3 client with the S3 settings applied.

    ``settings.s3.client_kwargs``: DATATOOLS_CLIENT_PARAMS, ``endpoint_url`` from
    S3_ENDPOINT_URL (MinIO, VPC endpoints), ``verify`` from S3_VERIFY_CERTIFICATE, and the
    retries of S3_CLIENT_RETRY_CONFIG. ``kwargs`` win over them; a ``config`` given here is
    merged over the settings' one. Uploads take ``settings.s3.upload_args`` as ``ExtraArgs``.
    """
    s = _snapshot(settings)
    params = s.s3.client_kwargs
    theirs = kwargs.pop("config", None)
    params.update(kwargs)
    config = _config(s, params.pop("config", {}))
    if theirs is not None:
        config = config.merge(theirs)
    sess = boto_session if boto_session is not None else session(s)
    return sess.client("s3", config=config, **params)


def _config(s: Settings, arguments: Mapping[str, Any]) -> Any:
    """``botocore.config.Config(**arguments)``, or a ConfigError naming where they came from."""
    try:
        return Config(**arguments)
    except TypeError as exc:
        info = s.explain("METAFLOW_DATATOOLS_CLIENT_PARAMS")
        raise ConfigError(
            [
                Problem.bad_value(
                    info.name,
                    info.source,
                    info.location,
                    value=MASK,
                    expected="a 'config' object of botocore.config.Config arguments "
                    f"({str(exc).split(':')[-1].strip()})",
                    fix="remove the unknown keys from 'config' in METAFLOW_DATATOOLS_CLIENT_PARAMS",
                )
            ]
        ) from exc


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
