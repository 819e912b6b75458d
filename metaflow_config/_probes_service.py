"""The live checks that need no AWS API: the metadata service answers, images are well-formed."""

from __future__ import annotations

import re
import socket
import ssl
import time
import urllib.error
import urllib.request

from ._consumers import docker_registry
from ._display import shown_text
from ._probes import FAIL, PASS, Context, Outcome, fail, ok, register, skip, warn

__all__ = ["ping"]

# --- the metadata service ---------------------------------------------------------------------

_SERVICE_URL = "METAFLOW_SERVICE_URL"


def ping(url: str, headers: dict[str, str], timeout: float, *, shown: str = "") -> Outcome:
    """``GET <url>/ping`` with ``headers``, as Metaflow's service client does; never raises.

    ``shown``: the URL as the lines show it (default: ``<url>/ping``, its password masked).
    """
    target = url.rstrip("/") + "/ping"
    shown = shown or shown_text(target)
    sent = f" (sent headers {', '.join(sorted(headers))}: values masked)" if headers else ""
    request = urllib.request.Request(target, headers=headers)  # noqa: S310 - http(s) validated
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read(4096)
            status = response.status
    except urllib.error.HTTPError as exc:
        return FAIL, f"GET {shown} answered HTTP {exc.code}{sent}", _http_fix(exc.code)
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, (socket.timeout, TimeoutError)):
            return FAIL, f"GET {shown}: no answer within {timeout:g} s", ""
        if isinstance(reason, ssl.SSLError):
            fix = "install the service's CA certificate in this machine's trust store"
            return FAIL, f"GET {shown}: TLS failed: {reason}", fix
        return FAIL, f"GET {shown}: {reason}", ""
    elapsed = time.monotonic() - start
    return PASS, f"GET {shown} answered HTTP {status} in {elapsed * 1000:.0f} ms{sent}", ""


def _http_fix(code: int) -> str:
    if code in {401, 403}:
        return (
            "the service refused the credentials: set METAFLOW_SERVICE_AUTH_KEY (sent as "
            "x-api-key) or METAFLOW_SERVICE_HEADERS to what it accepts"
        )
    if code == 404:
        return f"{_SERVICE_URL} should be the service root that answers /ping"
    return "the service is unhealthy: see its logs (or the load balancer in front of it)"


@register("service.url", "service", setting=_SERVICE_URL)
def _service_url(ctx: Context) -> Outcome:
    url = ctx.settings.service.url
    if not url:
        return ctx.unset(_SERVICE_URL, "service")
    shown = ctx.shown(_SERVICE_URL, url.rstrip("/") + "/ping")  # never a fetched value
    status, detail, hint = ping(
        url, ctx.settings.service.effective_headers, ctx.timeout, shown=shown
    )
    if status == PASS:
        return ok(detail)
    return fail(
        detail,
        hint
        or f"check {_SERVICE_URL} ({ctx.where(_SERVICE_URL)}) and that it is reachable from here: "
        "VPN, security groups, proxy variables (HTTPS_PROXY, NO_PROXY)",
    )


_INTERNAL_URL = "METAFLOW_SERVICE_INTERNAL_URL"


@register("service.internal_url", "service", setting=_INTERNAL_URL)
def _service_internal_url(ctx: Context) -> Outcome:
    url, internal = ctx.settings.service.url, ctx.settings.service.internal_url
    if not internal or internal == url:
        return skip("containers use METAFLOW_SERVICE_URL (no separate internal URL)")
    shown = ctx.shown(_INTERNAL_URL, internal.rstrip("/") + "/ping")  # never a fetched value
    headers = ctx.settings.service.effective_headers
    status, detail, _ = ping(internal, headers, ctx.timeout, shown=shown)
    if status == PASS:
        return ok(detail)
    return warn(
        f"{detail} (expected if it is reachable only inside the VPC)",
        "containers use this URL: check that the Batch compute environment's subnets and "
        "security groups reach it (from a container: curl <url>/ping)",
    )


# --- container image and registry -------------------------------------------------------------

_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})*"
_PORT = r"(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = rf"{_COMPONENT}(?:/{_COMPONENT})*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
#: an image after its registry: path[:tag][@digest]
_NAME = rf"^{_PATH}(?::{_TAG})?(?:@{_DIGEST})?$"
_IMAGE = rf"^(?:{_DOMAIN}{_PORT}/)?{_NAME[1:]}"
_REGISTRY = rf"^{_DOMAIN}{_PORT}(?:/{_PATH})?/?$"
_ECR = r"^\d{12}\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$"
_IMAGE_VAR = "METAFLOW_BATCH_CONTAINER_IMAGE"
_REGISTRY_VAR = "METAFLOW_BATCH_CONTAINER_REGISTRY"


def _matches(pattern: str, value: str) -> bool:
    return re.match(pattern, value) is not None


@register("batch.container_image", "batch", setting=_IMAGE_VAR)
def _image(ctx: Context) -> Outcome:
    """Check the image Batch jobs run: ``settings.batch.image``, with the registry prefix."""
    batch = ctx.settings.batch
    configured, registry = batch.container_image, batch.container_registry
    image = batch.image
    if not configured:
        return skip(
            f"{_IMAGE_VAR} is not set: Batch jobs use python:<version> of the launcher "
            f"({shown_text(image)} from here)"
        )
    shown = ctx.shown(_IMAGE_VAR, image)  # the lines show what show shows: never a fetched value
    prefixed = image != configured  # the registry was put in front of it
    if prefixed and not _matches(_REGISTRY, registry or ""):
        if _matches(_NAME, configured):
            return skip(f"{shown}: its registry prefix is not well-formed (see {_REGISTRY_VAR})")
    elif _matches(_IMAGE, image):
        if prefixed:
            return ok(f"{shown} ({_REGISTRY_VAR} + {_IMAGE_VAR})")
        if registry:
            own = ctx.shown(_IMAGE_VAR, docker_registry(image) or "")
            return ok(f"{shown} (names its own registry {own}; {_REGISTRY_VAR} is not used for it)")
        return ok(shown)
    made = f" ({_REGISTRY_VAR} + {_IMAGE_VAR}, as Metaflow joins them)" if prefixed else ""
    return fail(
        f"'{shown}'{made} is not an image reference [registry/]name[:tag][@digest] (lowercase "
        "name, no scheme, no spaces)",
        f"export {_IMAGE_VAR}=<name>:<tag>, e.g. metaflow/my-image:latest (set in "
        f"{ctx.where(_IMAGE_VAR)})",
    )


@register("batch.container_registry", "batch", setting=_REGISTRY_VAR)
def _registry(ctx: Context) -> Outcome:
    registry = ctx.settings.batch.container_registry
    if not registry:
        return skip(f"{_REGISTRY_VAR} is not set (images without a registry come from Docker Hub)")
    shown = ctx.shown(_REGISTRY_VAR)  # the lines show what show shows: never a fetched value
    if not _matches(_REGISTRY, registry):
        return fail(
            f"'{shown}' is not a registry host[:port][/path] (no scheme, no tag)",
            f"export {_REGISTRY_VAR}=<account>.dkr.ecr.<region>.amazonaws.com (set in "
            f"{ctx.where(_REGISTRY_VAR)})",
        )
    ecr = re.match(_ECR, registry.split("/", 1)[0])
    if ecr and ctx.region and ecr.group(1) != ctx.region:
        return warn(
            f"ECR registry in {ctx.shown(_REGISTRY_VAR, ecr.group(1))}, jobs run in {ctx.region}",
            f"cross-region pulls need internet or NAT access (ECR VPC endpoints are regional): "
            f"push the image to ECR in {ctx.region}, or add that access",
        )
    return ok(shown)
