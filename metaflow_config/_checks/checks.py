"""Live checks of the configuration against AWS: ``check()`` and ``metaflow-config check --aws``.

Offline validation says a value is well-formed; these checks ask AWS whether it is *right*: the
credentials work, the bucket exists, the job queue is enabled, the roles trust the services that
assume them, the DynamoDB table has the key and TTL Metaflow uses, the metadata service answers.
The checks themselves live in ``probes``; this module runs them concurrently under bounded
timeouts and an overall deadline, and renders the results.

boto3 is imported only when :func:`check` runs an AWS check, and it is given the session (or a
client factory) to use, so tests point every client at a local moto server.
"""

from __future__ import annotations

import configparser
import contextlib
import functools
import importlib
import os
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, Optional, TextIO, TypeVar

from .._display import printable, shell_quote
from .._snapshot.fetch import missing_aws_profile
from .._snapshot.require import CAPABILITIES as _REQUIRE
from .._snapshot.require import closure
from .._snapshot.settings import Settings
from ..errors import ConfigError, Problem
from . import probes_aws, probes_service  # noqa: F401 - they register the checks
from .probes import (
    CHECKS,
    FAIL,
    STATUSES,
    Check,
    CheckResult,
    ClientFactory,
    Context,
    Outcome,
    fail,
    run_check,
)

__all__ = ["CheckResult", "check", "run_cli"]

T = TypeVar("T")

#: What a deployment can be asked to support (as in ``settings.require``).
CAPABILITIES = tuple(_REQUIRE)
#: the order results come in, by the prefix of their names (then in declaration order)
_GROUPS = ("aws", "s3", "batch", "sfn", "service", "secrets")
#: ``progress(done, total, pending)``: called as the checks finish, from the calling thread.
Progress = Callable[[int, int, Sequence[str]], None]

#: seconds per network operation (connect, and each read) when the caller does not say
DEFAULT_TIMEOUT = 5.0
#: seconds for the whole run when the caller does not say
DEFAULT_DEADLINE = 30.0


def check(
    settings: Settings,
    capabilities: Optional[Iterable[str]] = None,
    write_probe: bool = False,
    *,
    session: Any = None,
    client_factory: Optional[ClientFactory] = None,
    profile: Optional[str] = None,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    progress: Optional[Progress] = None,
) -> list[CheckResult]:
    """Check the configuration against AWS and the metadata service; return one result per check.

    Args:
        settings: the snapshot to check (``metaflow_config.settings`` or ``load(...)``).
        capabilities: only the checks these capabilities need (``s3``, ``batch``, ``sfn``,
            ``sfn-schedule``, ``sfn-foreach``, ``service``; each brings the ones it builds on),
            and an unset setting they need is a FAIL. ``None``: every check, each skipped when
            its settings are not configured.
        write_probe: also put and delete a probe object under the S3 sysroot.
        session: the boto3 session (default: ``boto3.Session(profile_name=profile)``).
        client_factory: ``factory(service, config=..., region_name=None)`` returning a boto3
            client; default: ``session.client`` with the S3 endpoint and verify settings.
        profile: the AWS profile of the default session.
        timeout: seconds per network operation (botocore connect and read timeouts, urllib).
        deadline: seconds for the whole run; a check still running then is a FAIL.
        progress: called with ``(done, total, pending names)`` as checks finish.

    Every botocore call retries at most once. Results come in a fixed order; secrets (service
    headers, the auth key) never appear in them.

    Raises:
        ConfigError: an unknown capability.
        ImportError: AWS checks were asked for and boto3 is not installed.

    """
    selected, required = _scope(capabilities)
    checks = sorted(
        (c for c in CHECKS if c.capability in selected),
        key=lambda c: _GROUPS.index(c.name.split(".")[0]),
    )
    ctx = _context(
        settings,
        aws="aws" in selected,
        session=session,
        client_factory=client_factory,
        profile=profile,
        timeout=timeout,
        write_probe=write_probe,
        required=required,
    )
    return _run(checks, ctx, deadline, progress)


def _scope(capabilities: Optional[Iterable[str]]) -> tuple[set[str], frozenset[str]]:
    """(capabilities whose checks run, capabilities whose settings are required)."""
    if capabilities is None:
        return {*CAPABILITIES, "aws"}, frozenset()
    asked = list(capabilities)
    unknown = [c for c in asked if c not in _REQUIRE]
    if unknown:
        problem = Problem.bad_argument(
            "check(capabilities)",
            ", ".join(map(repr, unknown)),
            "capabilities among " + ", ".join(CAPABILITIES),
            "pass some of " + ", ".join(CAPABILITIES) + ", or None for every check",
        )
        raise ConfigError([problem])
    required = frozenset(c for name in asked for c in closure(name))
    aws = required - {"service"}
    return set(required) | ({"aws"} if aws else set()), required


def _context(
    settings: Settings,
    *,
    aws: bool,
    session: Any,
    client_factory: Optional[ClientFactory],
    profile: Optional[str],
    timeout: float,
    write_probe: bool,
    required: frozenset[str],
) -> Context:
    if not aws:
        return Context(
            settings,
            clients=None,
            config=None,
            region=None,
            region_source="",
            aws_profile=None,
            timeout=timeout,
            write_probe=write_probe,
            required=required,
        )
    try:
        boto3 = importlib.import_module("boto3")
        botocore_config = importlib.import_module("botocore.config")
    except ImportError as exc:
        msg = "live AWS checks need boto3: pip install 'metaflow-config[aws]'"
        raise ImportError(msg) from exc
    config = botocore_config.Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 2, "mode": "standard"},
    )
    session_error: Optional[Outcome] = None
    region: Optional[str] = None
    try:
        if session is None:
            session = boto3.Session(profile_name=profile)
        region = session.region_name
    except Exception as exc:
        if type(exc).__name__ != "ProfileNotFound":
            raise
        session, session_error = None, _profile_not_found(exc, profile)
    if client_factory is None and session is not None:
        client_factory = session_clients(session, settings)
    return Context(
        settings,
        clients=client_factory,
        config=config,
        region=region,
        region_source=_region_source(session, region) if region else "",
        aws_profile=profile or _named_profile(session),
        credential_method=functools.partial(_credential_method, session),
        session_error=session_error,
        timeout=timeout,
        write_probe=write_probe,
        required=required,
    )


def _profile_not_found(exc: BaseException, profile: Optional[str]) -> Outcome:
    """The failure of a session whose AWS profile (given, or ``AWS_PROFILE``'s) is not there."""
    name, source, known = missing_aws_profile(exc, profile)
    config = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    fix = (
        f"create it with `aws configure --profile {shell_quote(name)}`, or use one of the "
        "profiles listed"
    )
    if source.startswith("AWS_"):
        fix += f" (or unset {source})"
    return fail(
        f"AWS profile {name!r} ({source}) is not in {config} or the credentials file "
        f"(profiles: {known})",
        fix,
    )


def _named_profile(session: Any) -> Optional[str]:
    """The session's profile when it is not the default one (for ``--profile`` in fixes)."""
    name = session.profile_name if session is not None else None
    return None if name in (None, "default") else str(name)


def _credential_method(session: Any) -> Optional[str]:
    if session is None:
        return None
    credentials = session.get_credentials()
    method = getattr(credentials, "method", None)
    return str(method) if method else None


def _region_source(session: Any, region: str) -> str:
    """Where boto3 found ``region``: AWS_DEFAULT_REGION, the profile's config file, or IMDS."""
    if os.environ.get("AWS_DEFAULT_REGION") == region:
        return "AWS_DEFAULT_REGION"
    profile = session.profile_name or "default"
    path = os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
    section = "default" if profile == "default" else f"profile {profile}"
    parser = configparser.RawConfigParser()
    with contextlib.suppress(OSError, configparser.Error):
        parser.read(os.path.expanduser(path), encoding="utf-8")
    if parser.has_section(section) and parser.get(section, "region", fallback=None) == region:
        return f"{path} [{section}]"
    return "the boto3 session (an explicit region_name, or the EC2 instance metadata)"


def session_clients(session: Any, settings: Settings) -> ClientFactory:
    """A client factory over a boto3 session: S3 clients get the S3 endpoint and verify settings."""

    def make(service: str, *, config: Any = None, region_name: Optional[str] = None) -> Any:
        options: dict[str, Any] = {}
        if service == "s3":
            if settings.s3.endpoint_url:
                options["endpoint_url"] = settings.s3.endpoint_url
            if settings.s3.verify_certificate is not None:
                options["verify"] = settings.s3.verify_certificate
        return session.client(service, config=config, region_name=region_name, **options)

    return make


# --- running ----------------------------------------------------------------------------------


def _spawn(fn: Callable[[], T], name: str) -> Future[T]:
    """Run ``fn`` in a daemon thread: a check stuck past the deadline cannot hold up the exit."""
    future: Future[T] = Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _run(
    checks: list[Check], ctx: Context, deadline: float, progress: Optional[Progress]
) -> list[CheckResult]:
    futures = {
        _spawn(functools.partial(run_check, c, ctx), f"metaflow-config check {c.name}"): c
        for c in checks
    }
    results: dict[str, CheckResult] = {}
    pending = set(futures)
    end = time.monotonic() + deadline
    while pending:
        if progress is not None:
            names = [c.name for f, c in futures.items() if f in pending]
            progress(len(results), len(checks), names)
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
        for future in done:
            results[futures[future].name] = future.result()
    for future in pending:
        name = futures[future].name
        results[name] = CheckResult(
            name,
            FAIL,
            f"no answer within the overall deadline of {deadline:g} s",
            "check network access from here (proxy variables, VPN, VPC endpoints); a slow "
            "network may need a longer deadline",
        )
    if progress is not None:
        progress(len(checks), len(checks), [])
    return [results[c.name] for c in checks]


# --- output -----------------------------------------------------------------------------------


def render(results: Sequence[CheckResult], out: TextIO) -> None:
    """Write the results as a table (status, name, detail; the fix below each FAIL or WARN).

    Each line is escaped: what AWS or a service answered cannot move the terminal's cursor.
    """
    width = max((len(r.name) for r in results), default=0)
    for result in results:
        out.write(printable(f"{result.status}  {result.name:<{width}}  {result.detail}") + "\n")
        if result.fix:
            out.write(printable(f"      {'':<{width}}  fix: {result.fix}") + "\n")
    counts = Counter(r.status for r in results)
    summary = ", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s])
    out.write(f"{len(results)} checks: {summary or 'none ran'}\n")


class _ProgressLine:
    """A one-line live status on a terminal, rewritten in place as checks finish."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, done: int, total: int, pending: Sequence[str]) -> None:
        waiting = f"; waiting for {', '.join(pending)}" if pending else ""
        text = f"checking: {done}/{total} done{waiting}"
        width = max(shutil.get_terminal_size().columns - 1, 20)
        if len(text) > width:
            text = text[: width - 3] + "..."
        self._stream.write(f"\r\x1b[K{text}")
        self._stream.flush()

    def clear(self) -> None:
        self._stream.write("\r\x1b[K")
        self._stream.flush()


def run_cli(
    settings: Settings,
    *,
    capabilities: Optional[Iterable[str]] = None,
    write_probe: bool = False,
    profile: Optional[str] = None,
    out: Optional[TextIO] = None,
    err: Optional[TextIO] = None,
    checker: Callable[..., list[CheckResult]] = check,
    **options: Any,
) -> int:
    """``metaflow-config check --aws``: run the checks, print the table; 1 on any FAIL, else 0.

    The live progress line goes to ``err`` (default stderr) only when it is a terminal.
    ``checker`` runs the checks (:func:`check`, or ``metaflow_config.aws.check`` for its session
    and clients); ``options`` go to it (``session``, ``client_factory``, ``timeout``, ...).
    """
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    line = _ProgressLine(err) if err.isatty() else None
    try:
        results = checker(
            settings, capabilities, write_probe, profile=profile, progress=line, **options
        )
    except (ImportError, ConfigError) as exc:
        err.write(printable(str(exc), lines=True) + "\n")
        return 2
    finally:
        if line is not None:
            line.clear()
    render(results, out)
    return 1 if any(r.status == FAIL for r in results) else 0
