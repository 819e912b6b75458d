"""The live checks that need no AWS API: the metadata service answers, images are well-formed."""

from __future__ import annotations

import base64
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPException, HTTPMessage, InvalidURL
from typing import IO, TYPE_CHECKING

from .._display import MASK, shown_text
from .._model.kinds import ARN_PARTITIONS, LABEL_KEY, LABEL_NAME
from .._snapshot.consumers import docker_registry
from .probes import FAIL, PASS, WARN, Context, Outcome, fail, ok, register, skip, warn

if TYPE_CHECKING:
    from .._snapshot.settings import Settings

__all__: list[str] = []  # nothing here is imported by name

# --- the metadata service ---------------------------------------------------------------------

_SERVICE_URL = "METAFLOW_SERVICE_URL"


#: The schemes a ping follows a redirect to; and their ports when a URL names none.
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, the port always written: where credentials may go.

    Two URLs of one origin (as browsers and RFC 6454 compare them) give the same text; the
    user and password of a URL are not part of it.
    """
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # not a port: no request goes there, and it is no other URL's origin
        return f"{scheme}://{parts.netloc.rpartition('@')[2].lower()}"
    host = (parts.hostname or "").lower()
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects as urllib does; the configured headers go only to the URL's origin.

    A redirect to another origin (another scheme, host or port: an https -> http downgrade
    too) is followed with none of the request's headers, and every later request of the
    chain inherits none; the origins reached so are listed in ``elsewhere``. A redirect to a
    scheme other than http(s) is not followed (``refused``).
    """

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.elsewhere: list[str] = []
        self.refused = ""

    def redirect_request(  # noqa: PLR0917 - urllib's signature
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        """The request of the redirect to ``newurl``, without credentials at another origin."""
        there = _origin(newurl)
        if urllib.parse.urlsplit(newurl).scheme.lower() not in _DEFAULT_PORTS:
            self.refused = there
            raise urllib.error.HTTPError(newurl, code, msg, headers, fp)
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and there != self.origin:
            for name in list(new.headers):
                new.remove_header(name)
            if there not in self.elsewhere:
                self.elsewhere.append(there)
        return new


def ping(
    url: str, headers: dict[str, str], timeout: float, *, withheld: str = "", shown: str = ""
) -> Outcome:
    """``GET <url>/ping`` with ``headers``, as Metaflow's service client does; never raises.

    ``headers`` (the credentials: ``SERVICE_HEADERS``, the auth key) go only to ``url``'s
    origin: a redirect elsewhere is followed without them, and the result says so.
    ``withheld``: why no header may be sent at all (the URL comes from a source that is not
    trusted); then an answer of 401 or 403 is a WARN, not a FAIL (no credential was refused).
    ``shown``: the URL as the lines show it (default: ``<url>/ping``, its password masked).
    """
    target = url.rstrip("/") + "/ping"
    shown = shown or shown_text(target)
    target, login = _userinfo_apart(target)
    sent = {} if withheld else {**headers, **login}
    redirects = _Redirects(_origin(target))
    opener = urllib.request.build_opener(redirects)
    request = urllib.request.Request(target, headers=sent)  # noqa: S310 - http(s) validated
    start = time.monotonic()
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(4096)
            status = response.status
    except urllib.error.HTTPError as exc:
        return _answered(exc.code, f"GET {shown}", redirects, sent, withheld)
    except (urllib.error.URLError, OSError, ValueError, HTTPException) as exc:
        return _unanswered(exc, f"GET {shown}", timeout, _notes(redirects, sent, withheld))
    elapsed = time.monotonic() - start
    notes = _notes(redirects, sent, withheld)
    return PASS, f"GET {shown} answered HTTP {status} in {elapsed * 1000:.0f} ms{notes}", ""


def _unanswered(exc: Exception, did: str, timeout: float, notes: str) -> Outcome:
    """The outcome of a ping that got no HTTP answer (``did``: ``GET <url>``)."""
    if isinstance(exc, (ValueError, InvalidURL)):  # unknown url type, a nonnumeric port
        # what urllib quotes is a piece of the URL as it cut it, of a password too (a piece too
        # short to redact by its text: ``nonnumeric port: 'Zq9'``): never shown
        said = re.sub(r"'[^']*'", f"'{MASK}'", str(exc))
        return FAIL, f"{did}: not a URL a request can go to ({said})", ""
    if isinstance(exc, HTTPException):  # an answer that is not HTTP (a bad status line)
        return FAIL, f"{did}: not an HTTP answer ({type(exc).__name__}: {exc}){notes}", ""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return FAIL, f"{did}: no answer within {timeout:g} s{notes}", ""
    if isinstance(reason, ssl.SSLError):
        fix = "install the service's CA certificate in this machine's trust store"
        return FAIL, f"{did}: TLS failed: {reason}{notes}", fix
    return FAIL, f"{did}: {reason}{notes}", ""


def _userinfo_apart(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its ``user:password@``, and that login as the header that carries it.

    Metaflow's service client (``requests``) sends a URL's user and password as HTTP Basic
    authentication; urllib would take them for part of the host (``nonnumeric port``).
    """
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, {}
    user, _, password = userinfo.partition(":")
    login = f"{urllib.parse.unquote(user)}:{urllib.parse.unquote(password)}"
    header = "Basic " + base64.b64encode(login.encode()).decode("ascii")
    return urllib.parse.urlunsplit(parts._replace(netloc=host)), {"Authorization": header}


def _answered(
    code: int, did: str, redirects: _Redirects, sent: dict[str, str], withheld: str
) -> Outcome:
    """The outcome of a ping answered with the HTTP error ``code`` (``did``: ``GET <url>``)."""
    notes = _notes(redirects, sent, withheld)
    if redirects.refused:
        return FAIL, f"{did} was redirected to {redirects.refused}, not HTTP(S){notes}", ""
    if withheld and code in {401, 403}:  # no credential was refused: none was sent
        fix = (
            "credentials go only to URLs of your own configuration (your profile, the "
            "environment): set the URL there if you trust it"
        )
        return WARN, f"{did} answered HTTP {code}{notes}", fix
    return FAIL, f"{did} answered HTTP {code}{notes}", _http_fix(code)


def _notes(redirects: _Redirects, sent: dict[str, str], withheld: str) -> str:
    """What a ping's line says of the headers it sent, and where (never their values)."""
    notes = []
    if withheld:
        notes.append(f"sent without credentials: {withheld}")
    elif sent:
        notes.append(f"sent headers {', '.join(sorted(sent))}: values masked")
    if redirects.elsewhere:
        where = ", ".join(redirects.elsewhere)
        notes.append(f"redirected to {where}: sent there without credentials")
    return f" ({'; '.join(notes)})" if notes else ""


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
    headers, withheld = ctx.settings.service.effective_headers, ctx.untrusted(_SERVICE_URL)
    shown = ctx.shown(_SERVICE_URL, url.rstrip("/") + "/ping")  # never a fetched value
    status, detail, hint = ping(url, headers, ctx.timeout, withheld=withheld, shown=shown)
    if status != FAIL:
        return status, detail, hint
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
    headers = ctx.settings.service.effective_headers
    withheld = ctx.untrusted(_INTERNAL_URL)
    shown = ctx.shown(_INTERNAL_URL, internal.rstrip("/") + "/ping")  # never a fetched value
    status, detail, hint = ping(internal, headers, ctx.timeout, withheld=withheld, shown=shown)
    if status != FAIL:
        return status, detail, hint
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


def malformed_images(settings: Settings) -> list[str]:
    """What ``check --aws`` fails the Batch image settings on, by their form alone (no AWS).

    Said by ``check`` offline too, as a warning with where each is set and the fix: a job
    whose image is no image reference cannot be pulled, and a user without credentials would
    learn it only then.
    """
    batch = settings.batch
    said = []
    registry = batch.container_registry
    if registry and not _matches(_REGISTRY, registry):
        said.append(
            (
                _REGISTRY_VAR,
                "is not a registry host[:port][/path] (no scheme, no tag)",
                "<account>.dkr.ecr.<region>.amazonaws.com",
            )
        )
    image = batch.container_image
    joined = not said and registry and batch.image != image  # the registry put in front
    if image and not _matches(_IMAGE, batch.image if joined else image):
        how = f" ({_REGISTRY_VAR} + {_IMAGE_VAR}, as Metaflow joins them)" if joined else ""
        said.append(
            (
                _IMAGE_VAR,
                f"{how} is not an image reference [registry/]name[:tag][@digest] (lowercase "
                "name, no scheme, no spaces)".lstrip(),
                "<name>:<tag>, e.g. metaflow/my-image:latest",
            )
        )
    texts = []
    for name, what, example in said:
        told = settings.explain(name)
        texts.append(
            f"{name} {what}: a Batch job could not pull it (`check --aws` fails it); set it to "
            f"{example} (set in {told.source}: {told.location})"
        )
    return texts


#: A Kubernetes name of one label (a namespace): RFC 1123's, lowercase, at most 63 characters
_K8S_LABEL = r"^(?=.{1,63}$)[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$"
#: A Kubernetes name of labels joined by dots (a service account, a Secret), unanchored
_K8S_DOTTED = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
#: ... one name alone: at most 253 characters
_K8S_NAME = rf"^(?=.{{1,253}}$){_K8S_DOTTED}$"
_QUEUE_NAME = r"[A-Za-z0-9_-]{1,128}"


def _k8s_pairs(value: str) -> str:
    """``key[=value]`` items separated by commas, as Metaflow splits them, each value ``value``."""
    item = rf"{LABEL_KEY}(?:={value})?"
    return rf"^{item}(?:,{item})*$"


#: The names a service takes by their form alone: setting -> (its pattern, what it is, what
#: the service would do with another, an example). Free text to Metaflow (as to this package's
#: resolution), refused by the service only when a job is submitted.
_FORMS: dict[str, tuple[str, str, str, str]] = {
    "METAFLOW_BATCH_JOB_QUEUE": (
        rf"^(?:{_QUEUE_NAME}|arn:(?:{'|'.join(ARN_PARTITIONS)}):batch:[a-z0-9-]+:[0-9]{{12}}:"
        rf"job-queue/{_QUEUE_NAME})$",
        "a job queue's name (letters, digits, - and _, at most 128) or ARN",
        "AWS Batch refuses to submit a job to it",
        "gpu-queue",
    ),
    "METAFLOW_KUBERNETES_NAMESPACE": (
        _K8S_LABEL,
        "a Kubernetes namespace (lowercase letters, digits and -, at most 63, a letter or digit "
        "at each end)",
        "Kubernetes refuses every object Metaflow creates in it",
        "ml-team",
    ),
    "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": (
        _K8S_NAME,
        "a Kubernetes service account's name (lowercase letters, digits, - and ., at most 253)",
        "Kubernetes refuses every pod that names it",
        "metaflow",
    ),
    "METAFLOW_KUBERNETES_SECRETS": (
        rf"^{_K8S_DOTTED}(?:,{_K8S_DOTTED})*$",
        "comma-separated Kubernetes Secret names (lowercase letters, digits, - and .; no empty "
        "item: Metaflow leaves one out on Kubernetes and Argo, but an Airflow DAG's tasks mount "
        "a Secret of no name)",
        "Kubernetes refuses the pods that mount them",
        "db-credentials,api-keys",
    ),
    "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS": (  # Argo alone: an empty item is left out
        rf"^(?:{_K8S_DOTTED})?(?:,(?:{_K8S_DOTTED})?)*$",
        "comma-separated Kubernetes Secret names (lowercase letters, digits, - and .)",
        "Kubernetes refuses the pods that mount them",
        "db-credentials,api-keys",
    ),
    "METAFLOW_KUBERNETES_LABELS": (
        _k8s_pairs(rf"(?:{LABEL_NAME})?"),
        "comma-separated key=value Kubernetes labels (a key: [prefix/]name; a name and a value: "
        "letters, digits, -, _ and ., at most 63, a letter or digit at each end; no empty item)",
        "Kubernetes refuses every pod carrying them",
        "team=ml,app.kubernetes.io/part-of=metaflow",
    ),
    "METAFLOW_KUBERNETES_ANNOTATIONS": (
        _k8s_pairs(r"[^,]*"),
        "comma-separated key=value Kubernetes annotations (a key: [prefix/]name of letters, "
        "digits, -, _ and ., at most 63, a letter or digit at each end; no empty item)",
        "Kubernetes refuses every pod carrying them",
        "owner=ml-team,example.com/cost-center=42",
    ),
}


def malformed_name(name: str, value: object) -> tuple[str, str] | None:
    """What is wrong with ``value`` of setting ``name`` by the form its service takes, or None.

    (what it is not and what the service would do, an example of a good name): said without
    the value (it may be pasted with a secret, and a blank at its end is not seen in a message).
    """
    form = _FORMS.get(name)
    if form is None or not isinstance(value, str) or not value:
        return None
    pattern, what, refused, example = form
    if _matches(pattern, value):
        return None
    said = "holds a blank, so it is not" if any(c.isspace() for c in value) else "is not"
    return f"{said} {what}: {refused}", example


def malformed_names(settings: Settings) -> list[str]:
    """What ``check`` warns of the names a service takes by their form (:data:`_FORMS`).

    Each set here (a default or a derived value is well-formed, or said where it is set), with
    where it is set and the fix; never the value.
    """
    texts = []
    for name in _FORMS:
        found = malformed_name(name, settings[name])
        if found is None:
            continue
        told = settings.explain(name)
        if told.source in ("default", "derived"):
            continue
        texts.append(
            f"{name} {found[0]}; set it to such a name, e.g. {found[1]} (set in {told.source}: "
            f"{told.location})"
        )
    return texts


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
