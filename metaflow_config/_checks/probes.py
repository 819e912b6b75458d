"""What the live checks share: results, the context they read, the registry, error handling.

A check is a small function registered with :func:`register`: it reads the settings it needs
from a snapshot, makes at most a few AWS (or HTTP) calls through the clients of its
:class:`Context`, and returns ``(status, detail, fix)``. The checks live in ``probes_aws`` (AWS
APIs) and ``probes_service`` (the metadata service, container images). Errors that every AWS
check can meet (no credentials, no region, access denied, no network) are classified once, in
:func:`run_check`. Nothing here imports boto3 or botocore (but for a client that sends no
credentials, made once a session exists): the clients come from the factory the caller gives,
and botocore's errors are recognised by their class names.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional, cast

from .._display import MASK, printable, redact, shell_quote, shown_text, texts_of, url_passwords
from .._model.fields import PREFIX
from .._model.references import Reference
from .._model.table import BY_NAME
from .._snapshot.settings import Settings, lookup, resolution_of
from ..errors import ConfigError

__all__ = [
    "CHECKS",
    "FAIL",
    "NO_REGION",
    "PASS",
    "STATUSES",
    "WARN",
    "Check",
    "CheckResult",
    "ClientFactory",
    "Context",
    "Outcome",
    "classify",
    "error_code",
    "fail",
    "message",
    "ok",
    "register",
    "run_check",
    "skip",
    "warn",
]

PASS, WARN, FAIL, SKIP = "PASS", "WARN", "FAIL", "SKIP"
#: Every status a check can end in, best first.
STATUSES = (PASS, WARN, FAIL, SKIP)

#: What the problem of a client without a region names (``aws.client`` raises it; a check that
#: meets it tells it by this name)
NO_REGION = "AWS region"
#: ``factory(service, config=botocore_config, region_name=None) -> boto3 client``
ClientFactory = Callable[..., Any]
Outcome = tuple[str, str, str]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one live check.

    Attributes:
        name: the check (``batch.job_queue``), grouped by the capability it serves.
        status: ``PASS``, ``WARN``, ``FAIL`` or ``SKIP``.
        detail: what was found (secrets masked).
        fix: for ``FAIL`` and ``WARN``, the variable to set or the command to run.

    """

    name: str
    status: str
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        fix = f" Fix: {self.fix}" if self.fix else ""
        return printable(f"{self.status} {self.name}: {self.detail}{fix}")


def ok(detail: str) -> Outcome:
    """A passing outcome."""
    return PASS, detail, ""


def fail(detail: str, fix: str) -> Outcome:
    """A failing outcome and how to fix it."""
    return FAIL, detail, fix


def warn(detail: str, fix: str) -> Outcome:
    """A warning and what to do about it."""
    return WARN, detail, fix


def skip(detail: str) -> Outcome:
    """An outcome for a check that did not apply."""
    return SKIP, detail, ""


class Context:
    """What every check reads: settings, AWS clients, the region in force, the caller's identity."""

    def __init__(
        self,
        settings: Settings,
        *,
        clients: Optional[ClientFactory],
        config: Any,
        region: Optional[str],
        region_source: str,
        aws_profile: Optional[str],
        timeout: float,
        write_probe: bool,
        required: frozenset[str],
        credential_method: Callable[[], Optional[str]] = lambda: None,
        session_error: Optional[Outcome] = None,
    ) -> None:
        self.settings = settings
        self.region = region
        self.region_source = region_source
        self.timeout = timeout
        self.write_probe = write_probe
        self.required = required
        self._credential_method = credential_method
        self.session_error = session_error
        self.profile_arg = f" --profile {shell_quote(aws_profile)}" if aws_profile else ""
        self._clients = clients
        self._config = config
        self._lock = threading.Lock()
        self._identity_lock = threading.Lock()
        self._cache: dict[tuple[str, Optional[str], bool], Any] = {}
        self._identity: Optional[tuple[Any, Optional[BaseException]]] = None

    def client(self, service: str, region: Optional[str] = None, *, unsigned: bool = False) -> Any:
        """A client of ``service``, cached (made under a lock: sessions are not threadsafe).

        ``unsigned``: its requests carry no credentials (botocore's ``UNSIGNED`` signature: no
        ``Authorization``, no session token), for an endpoint that is not trusted.
        """
        if self._clients is None:
            raise _NoSessionError
        with self._lock:
            key = (service, region, unsigned)
            if key not in self._cache:
                config = self._config
                if unsigned:  # botocore is imported already: the factory made a session
                    from botocore import UNSIGNED
                    from botocore.config import Config

                    anonymous = Config(signature_version=UNSIGNED)
                    config = anonymous if config is None else config.merge(anonymous)
                self._cache[key] = self._clients(service, config=config, region_name=region)
            return self._cache[key]

    def identity(self) -> dict[str, str]:
        """``sts get-caller-identity``, called once; every caller sees the same answer or error."""
        memo = self._identity
        if memo is None:
            sts = self.client("sts")
            with self._identity_lock:
                if self._identity is None:
                    try:
                        self._identity = (sts.get_caller_identity(), None)
                    except Exception as exc:
                        self._identity = (None, exc)
                memo = self._identity
        if memo[1] is not None:
            raise memo[1]
        answer: dict[str, str] = memo[0]
        return answer

    def credential_method(self) -> Optional[str]:
        """How the session found its credentials (``env``, ``sso``, ...), if it says."""
        with self._lock:
            return self._credential_method()

    def region_arg(self, region: Optional[str] = None) -> str:
        """`` --region R`` (and `` --profile P``), shell-quoted, for AWS CLI commands in fixes."""
        region = region or self.region
        return (f" --region {shell_quote(region)}" if region else "") + self.profile_arg

    def untrusted(self, env_name: str) -> str:
        """Why no credential may go where the setting ``env_name`` points; ``""`` when it may.

        Credentials (the service headers and auth key, signed AWS requests) go only to places
        the user's own configuration names: the profile, the environment, code, a project file
        the user trusted. A sensitive setting (``Setting.sensitive``) is in force from a project
        file only when the user trusted the file (README "Trust"); any other setting from one
        (``.metaflow/config.json``, written by whoever owns that directory) is not trusted with
        credentials. A derived value is as trusted as the settings it derives from.
        """
        info = self.settings.explain(env_name)
        if info.source == "local" and not lookup(env_name).sensitive:
            return f"{env_name} comes from the project file {info.location}, which is not trusted"
        derive = lookup(env_name).derive
        if info.source == "derived" and derive is not None:
            for base in derive.bases:
                reason = self.untrusted(PREFIX + base)
                if reason:
                    return reason
        return ""

    def shown(self, env_name: str, part: Optional[str] = None) -> str:
        """The value of a setting (or ``part`` of it: a bucket, a role's name) for a line.

        As ``show`` shows it: a secret reference as written (never what it fetched), a secret
        masked, anything else with its URL passwords masked and escaped. A value read from the
        settings (``ctx.settings.batch.job_queue``) is for the AWS call, this for the line.
        """
        value = self.settings.explain(env_name).value
        if isinstance(value, Reference):
            return printable(value.text)
        field = lookup(env_name)
        if field.secret:
            return MASK
        if part is None:
            part = "" if value is None else field.kind.to_text(value)
        return shown_text(part)

    def redact(self, text: str) -> str:
        """``text`` with every secret this snapshot holds or has fetched replaced by the mask.

        What an error message quotes back (a name, an ARN, a piece of a URL) may be a value a
        reference fetched, a secret setting's, or the password of a URL any setting holds: no
        line shows it, whichever line it got into (see ``_display.redact``).
        """
        resolution = resolution_of(self.settings)
        held = [v for name, v in resolution.values.items() if BY_NAME[name].secret]
        secrets = texts_of([*resolution.fetched.values(), *held])
        return redact(text, [*secrets, *url_passwords(resolution.values.values())])

    def where(self, env_name: str) -> str:
        """Where the value of a setting came from, for messages: ``env: METAFLOW_X``."""
        info = self.settings.explain(env_name)
        return f"{info.source}: {info.location}" if info.location else info.source

    def unset(self, env_name: str, capability: str) -> Outcome:
        """SKIP a check whose setting is unset, or FAIL it when its capability was asked for."""
        if capability not in self.required:
            return skip(f"{env_name} is not set")
        from .._snapshot.require import CAPABILITIES, missing, needs

        title = CAPABILITIES[capability].title
        for need in needs(capability):
            if PREFIX + need.setting == env_name:
                problem = missing(self.settings, need, title)
                return fail(f"{env_name} is not set: {problem.expected}", problem.fix)
        return fail(
            f"{env_name} is not set; {title} needs it",
            f"export {env_name}=... or add it to {self.settings.profile_path}",
        )


class _NoSessionError(Exception):
    """No AWS session could be made (its error is reported by aws.credentials)."""


@dataclass(frozen=True)
class Check:
    """One live check: its name, the capability it serves and the function that runs it."""

    name: str
    capability: str
    fn: Callable[[Context], Outcome]
    service: str = ""  # the AWS service it calls ("" if none)
    setting: str = ""  # the setting it checks, named in generic fixes
    denied: str = FAIL  # the status when the caller may not make the call


CHECKS: list[Check] = []


def register(
    name: str, capability: str, *, service: str = "", setting: str = "", denied: str = FAIL
) -> Callable[[Callable[[Context], Outcome]], Callable[[Context], Outcome]]:
    """Declare the decorated function as the check ``name`` (in declaration order)."""

    def add(fn: Callable[[Context], Outcome]) -> Callable[[Context], Outcome]:
        CHECKS.append(Check(name, capability, fn, service, setting, denied))
        return fn

    return add


# --- classifying errors -----------------------------------------------------------------------

_CREDENTIAL_ERRORS = {
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "TokenRetrievalError",
    "UnauthorizedSSOTokenError",
    "SSOTokenLoadError",
    "ProfileNotFound",
}
_CREDENTIAL_CODES = {
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "UnrecognizedClientException",
    "InvalidAccessKeyId",
    "AuthFailure",
    "InvalidToken",
}
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "403"}
_NETWORK_ERRORS = {
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    "ProxyConnectionError",
    "SSLError",
}
#: S3 operations and the IAM actions they need, where the names differ
_S3_ACTIONS = {"HeadBucket": "s3:ListBucket"}


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (``""`` for any other exception)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def classify(exc: BaseException) -> str:
    """``credentials``, ``region``, ``config``, ``denied``, ``network``, ``client`` or ``other``.

    ``config``: a ConfigError of the settings the check reads (a secret reference it could not
    fetch, a value a client refused), reported with its own problems and fixes.
    """
    if isinstance(exc, ConfigError):  # the library's own: the settings are wrong, or lacking
        region = any(p.setting == NO_REGION for p in exc.problems)
        return "region" if region else "config"
    names = {cls.__name__ for cls in type(exc).__mro__}
    code = error_code(exc)
    if names & _CREDENTIAL_ERRORS or code in _CREDENTIAL_CODES or isinstance(exc, _NoSessionError):
        return "credentials"
    if "NoRegionError" in names:
        return "region"
    if code in _DENIED_CODES:
        return "denied"
    if names & _NETWORK_ERRORS:
        return "network"
    return "client" if code else "other"


def message(exc: BaseException) -> str:
    """An AWS error as ``Code: message`` (any other exception as ``Type: text``)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        text = response.get("Error", {}).get("Message") or error_code(exc)
        return f"{error_code(exc)}: {text}"
    return f"{type(exc).__name__}: {exc}"


def run_check(check: Check, ctx: Context) -> CheckResult:
    """Run one check; turn the errors every AWS call can meet into a result with a fix.

    No secret of the snapshot appears in the result, even one an error message quoted back.
    """
    try:
        status, detail, fix = check.fn(ctx)
    except Exception as exc:
        status, detail, fix = _from_error(check, ctx, exc)
    return CheckResult(check.name, status, ctx.redact(detail), ctx.redact(fix))


@functools.lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region of every partition botocore knows (empty where it cannot tell).

    Read once per process (botocore's endpoint data): every check that cannot connect asks.
    """
    try:
        import botocore.session

        session = botocore.session.get_session()
        return frozenset(
            region
            for partition in session.get_available_partitions()
            for service in ("ec2", "sts", "s3")
            for region in session.get_available_regions(service, partition_name=partition)
        )
    except Exception:  # botocore's data unreadable: no judgement
        return frozenset()


def _from_error(check: Check, ctx: Context, exc: BaseException) -> Outcome:
    kind = classify(exc)
    if kind == "credentials":
        return skip("needs working AWS credentials (see aws.credentials)")
    if kind == "region":
        return skip("needs an AWS region (see aws.region)")
    if kind == "config":
        problems = cast(ConfigError, exc).problems
        return fail(
            "; ".join(f"{p.setting}: expected {p.expected}" for p in problems),
            "; ".join(p.fix for p in problems),
        )
    region = ctx.region or "the default region"
    if kind == "network":
        known = known_regions()
        fix = (
            f"correct the region: {region} is no region botocore knows (see aws.region)"
            if ctx.region and known and ctx.region not in known  # no endpoint to reach there
            else "check network access to AWS from here: the proxy variables (HTTPS_PROXY, "
            f"NO_PROXY), the VPN, or a VPC endpoint for {check.service} in {region}"
        )
        return fail(f"could not reach {check.service} in {region}: {exc}", fix)
    if kind == "denied":
        operation = str(getattr(exc, "operation_name", "")) or "the call"
        action = _S3_ACTIONS.get(operation, f"{check.service}:{operation}")
        return (
            check.denied,
            f"access denied for {action}: {message(exc)}",
            f"grant {action} to the identity in aws.credentials (see its IAM policies), "
            "or run the check with credentials that have it",
        )
    target = f"{check.setting} ({ctx.where(check.setting)})" if check.setting else "the setting"
    return fail(
        f"unexpected error: {message(exc)}",
        f"check {target} and that {check.service or 'the service'} answers as AWS does",
    )
