"""`check` sends credentials only to the origin it was given, and only from trusted sources.

Capture servers on 127.0.0.1 (two ports: two origins) record every request's headers; one
redirects, the other answers. The service's credentials (``SERVICE_HEADERS``, the auth key)
must never reach the second origin; a redirect within one origin keeps them, as requests does.
"""

from __future__ import annotations

import json
import threading
import urllib.request
import warnings
from collections.abc import Callable, Iterator
from http.client import HTTPMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest

from metaflow_config import ConfigWarning, load
from metaflow_config._checks.checks import check
from metaflow_config._checks.probes import FAIL, PASS, SKIP, WARN
from metaflow_config._checks.probes_service import _origin, _Redirects
from metaflow_config._model.table import BY_NAME
from metaflow_config.testing import trust
from tests._checks_helpers import SECRET_KEY, SECRET_TOKEN, assert_no_secrets, settings_of
from tests.conftest import write_json

pytestmark = [pytest.mark.aws, pytest.mark.usefixtures("_aws_env")]

#: every header that carries a credential, each configured with a value of its own
CREDENTIALS = {
    "Authorization": SECRET_TOKEN,
    "Cookie": "session=cookie-4711",
    "Proxy-Authorization": "Basic cHJveHk6NDcxMQ==",
    "X-Team-Token": "team-4711",
}


class _Capture(BaseHTTPRequestHandler):
    """Records each request; answers ``server.routes[path]`` = (status, headers), else 200."""

    def _answer(self) -> None:
        server: Any = self.server
        server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        status, headers = server.routes.get(self.path, (200, {}))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        """Answer a GET (the service's ping)."""
        self._answer()

    def do_HEAD(self) -> None:
        """Answer a HEAD (S3's HeadBucket)."""
        self._answer()

    def log_message(self, *args: Any) -> None:
        """Silence the request log."""


Server = Any


@pytest.fixture
def servers() -> Iterator[Callable[[], Server]]:
    """``servers()``: a new capture server (``.origin``, ``.seen``, ``.routes``)."""
    started: list[tuple[Server, threading.Thread]] = []

    def start() -> Server:
        server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
        server.seen, server.routes = [], {}
        server.origin = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        started.append((server, thread))
        return server

    yield start
    for server, thread in started:
        server.shutdown()
        server.server_close()
        thread.join()


def service_env(url: str) -> dict[str, str]:
    """The service at ``url`` with every kind of credential configured."""
    return {
        "METAFLOW_SERVICE_URL": url,
        "METAFLOW_SERVICE_AUTH_KEY": SECRET_KEY,
        "METAFLOW_SERVICE_HEADERS": json.dumps(CREDENTIALS),
    }


def credentials_in(headers: dict[str, str]) -> set[str]:
    """The credential headers (lower case) among ``headers``."""
    return {"x-api-key", *(name.lower() for name in CREDENTIALS)} & set(headers)


ALL = {"x-api-key", *(name.lower() for name in CREDENTIALS)}


def test_a_redirect_to_another_origin_gets_no_credentials(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    """A -> B: A gets every credential, B none; the line names B and says so."""
    a, b = servers(), servers()
    a.routes["/ping"] = (302, {"Location": f"{b.origin}/ping"})
    result = check(settings_of(service_env(f"{a.origin}/"), tmp_path), ["service"], timeout=2)[0]
    assert [path for path, _ in a.seen] == ["/ping"]
    assert credentials_in(a.seen[0][1]) == ALL
    assert [path for path, _ in b.seen] == ["/ping"]
    assert credentials_in(b.seen[0][1]) == set()
    assert result.status == PASS
    assert f"redirected to {b.origin}: sent there without credentials" in result.detail
    assert_no_secrets(repr(result))


def test_credentials_dropped_once_stay_dropped(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    """A -> B -> A: coming back to the origin after another, the request carries none."""
    a, b = servers(), servers()
    a.routes["/ping"] = (302, {"Location": f"{b.origin}/hop"})
    b.routes["/hop"] = (307, {"Location": f"{a.origin}/back"})
    result = check(settings_of(service_env(f"{a.origin}/"), tmp_path), ["service"], timeout=2)[0]
    assert [path for path, _ in a.seen] == ["/ping", "/back"]
    assert credentials_in(a.seen[1][1]) == set()
    assert credentials_in(b.seen[0][1]) == set()
    assert result.status == PASS


def test_a_redirect_within_the_origin_keeps_the_credentials(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    """/ping -> /v2/ping on the same scheme, host and port: still authenticated (as requests)."""
    a = servers()
    a.routes["/ping"] = (301, {"Location": "/v2/ping"})
    result = check(settings_of(service_env(f"{a.origin}/"), tmp_path), ["service"], timeout=2)[0]
    assert [path for path, _ in a.seen] == ["/ping", "/v2/ping"]
    assert credentials_in(a.seen[1][1]) == ALL
    assert result.status == PASS
    assert "redirected" not in result.detail


def test_the_internal_url_is_pinged_the_same_way(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    """service.internal_url: a redirect elsewhere gets no credentials either."""
    a, internal, b = servers(), servers(), servers()
    internal.routes["/ping"] = (302, {"Location": f"{b.origin}/ping"})
    env = {**service_env(f"{a.origin}/"), "METAFLOW_SERVICE_INTERNAL_URL": f"{internal.origin}/"}
    results = check(settings_of(env, tmp_path), ["service"], timeout=2)
    assert [r.status for r in results] == [PASS, PASS]
    assert credentials_in(internal.seen[0][1]) == ALL
    assert credentials_in(b.seen[0][1]) == set()
    assert f"redirected to {b.origin}" in results[1].detail


def test_a_redirect_to_another_scheme_is_another_origin() -> None:
    """https -> http on the same host (a downgrade), or another port: the request has no headers."""
    assert _origin("https://Svc.Example:443/a") == _origin("https://svc.example/b")
    assert _origin("http://svc.example/") == "http://svc.example:80"
    assert _origin("https://svc.example/") != _origin("http://svc.example:443/")
    for there in ("http://svc.example/ping", "https://svc.example:8443/ping"):
        handler = _Redirects(_origin("https://svc.example/ping"))
        request = urllib.request.Request(
            "https://svc.example/ping", headers={"X-Api-Key": SECRET_KEY, **CREDENTIALS}
        )
        new = handler.redirect_request(request, None, 302, "Found", HTTPMessage(), there)
        assert new is not None
        assert new.header_items() == []
        assert handler.elsewhere == [_origin(there)]
    same = _Redirects(_origin("https://svc.example/ping"))
    request = urllib.request.Request("https://svc.example/ping", headers=CREDENTIALS)
    kept = same.redirect_request(
        request, None, 302, "Found", HTTPMessage(), "https://svc.example/v2"
    )
    assert kept is not None
    assert len(kept.header_items()) == len(CREDENTIALS)


def test_a_redirect_out_of_http_is_not_followed(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    """A redirect to ftp:// (urllib would follow it) is a FAIL naming where it pointed."""
    a = servers()
    a.routes["/ping"] = (302, {"Location": "ftp://127.0.0.1:1/ping"})
    result = check(settings_of(service_env(f"{a.origin}/"), tmp_path), ["service"], timeout=2)[0]
    assert result.status == FAIL
    assert "was redirected to ftp://127.0.0.1:1, not HTTP(S)" in result.detail


# --- a service URL or an S3 endpoint from a project file ---------------------------------------


def project_file(tmp_path: Path, values: dict[str, str]) -> Path:
    """``.metaflow/config.json`` in the directory the settings resolve from."""
    return write_json(tmp_path / ".metaflow" / "config.json", values)


@pytest.fixture
def unmarked(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings that route credentials, as if the table had not marked them sensitive.

    A project file's sensitive value is in force only once the user trusted the file (README
    "Trust"). Behind that, ``check`` keeps its own guard: a value from a project file that is
    not sensitive gets no credentials; these tests exercise the guard.
    """
    for name in ("SERVICE_URL", "SERVICE_INTERNAL_URL", "S3_ENDPOINT_URL"):
        monkeypatch.setattr(BY_NAME[name], "sensitive", False)


@pytest.mark.parametrize("trusted", [True, False])
def test_a_project_files_service_url_gets_credentials_only_once_trusted(
    trusted: bool, servers: Callable[[], Server], tmp_path: Path
) -> None:
    """Untrusted, the project's URL is not in force: nothing is sent there. Trusted, it is the
    user's choice, and the configured credentials go."""
    a = servers()
    path = project_file(tmp_path, {"METAFLOW_SERVICE_URL": f"{a.origin}/"})
    if trusted:
        trust(tmp_path / "home", path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)  # untrusted: tests/test_trust.py
        settings = load(
            env={"METAFLOW_SERVICE_AUTH_KEY": SECRET_KEY}, home=tmp_path / "home", cwd=tmp_path
        )
    check(settings, ["service"], timeout=2)
    if trusted:
        assert credentials_in(a.seen[0][1]) == {"x-api-key"}
    else:
        assert a.seen == []


@pytest.mark.usefixtures("unmarked")
def test_a_service_url_from_a_project_file_gets_no_credentials(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    """The project names the URL, the user's own environment the key: the key is not sent."""
    a = servers()
    path = project_file(tmp_path, {"METAFLOW_SERVICE_URL": f"{a.origin}/"})
    env = {k: v for k, v in service_env("").items() if k != "METAFLOW_SERVICE_URL"}
    result = check(settings_of(env, tmp_path), ["service"], timeout=2)[0]
    assert credentials_in(a.seen[0][1]) == set()
    assert result.status == PASS
    assert (
        f"sent without credentials: METAFLOW_SERVICE_URL comes from the project file {path}"
    ) in result.detail


@pytest.mark.usefixtures("unmarked")
def test_a_refusal_of_a_ping_without_credentials_only_warns(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    """401 to a ping that carried none: no credential was refused; the fix says where to set it."""
    a = servers()
    a.routes["/ping"] = (401, {})
    project_file(tmp_path, {"METAFLOW_SERVICE_URL": f"{a.origin}/"})
    result = check(settings_of({"METAFLOW_SERVICE_AUTH_KEY": SECRET_KEY}, tmp_path), ["service"])[0]
    assert result.status == WARN
    assert "answered HTTP 401" in result.detail
    assert "set the URL there if you trust it" in result.fix


@pytest.mark.usefixtures("unmarked")
def test_a_service_url_of_ones_own_overrides_the_projects(
    servers: Callable[[], Server], tmp_path: Path
) -> None:
    """The same URL in the environment (it wins over the project file): credentials go."""
    a = servers()
    project_file(tmp_path, {"METAFLOW_SERVICE_URL": "http://127.0.0.1:1/"})
    result = check(settings_of(service_env(f"{a.origin}/"), tmp_path), ["service"], timeout=2)[0]
    assert result.status == PASS
    assert credentials_in(a.seen[0][1]) == ALL


def s3_checks(settings: Any) -> dict[str, Any]:
    """The S3 checks with the real client factory (the S3 endpoint applied)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    results = check(settings, ["s3"], session=session, timeout=2, write_probe=True)
    return {r.name: r for r in results}


@pytest.mark.usefixtures("unmarked")
@pytest.mark.parametrize("trusted", [True, False], ids=["env", "project-file"])
def test_an_s3_endpoint_from_a_project_file_gets_unsigned_requests(
    trusted: bool, servers: Callable[[], Server], tmp_path: Path
) -> None:
    """HeadBucket to an endpoint the project names carries no Authorization and no token."""
    endpoint = servers()
    endpoint.routes["/mf-bucket"] = (200, {"x-amz-bucket-region": "us-east-1"})
    where = {"METAFLOW_S3_ENDPOINT_URL": endpoint.origin}
    env = {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/metaflow"}
    if trusted:
        env.update(where)
    else:
        project_file(tmp_path, where)
    results = s3_checks(settings_of(env, tmp_path))
    heads = [headers for path, headers in endpoint.seen if path == "/mf-bucket"]
    assert heads
    signed = {"authorization", "x-amz-security-token"} & set(heads[0])
    if trusted:
        assert "authorization" in signed
        return
    assert signed == set()
    assert results["s3.sysroot"].status == PASS
    assert "checked without credentials: METAFLOW_S3_ENDPOINT_URL comes from the project" in (
        results["s3.sysroot"].detail
    )
    assert results["s3.write_probe"].status == SKIP
    assert "a write needs credentials" in results["s3.write_probe"].detail


@pytest.mark.parametrize("status", [301, 302, 307])
def test_botocore_follows_no_redirect_of_an_s3_endpoint_elsewhere(
    status: int, servers: Callable[[], Server], tmp_path: Path
) -> None:
    """A signed S3 request answered by a redirect to another origin: nothing is sent there.

    botocore's transport follows no redirect; its S3 region redirector re-sends to the endpoint
    its own rules build (here the configured one), never to a ``Location`` it was given.
    """
    endpoint, elsewhere = servers(), servers()
    endpoint.routes["/mf-bucket"] = (
        status,
        {"Location": f"{elsewhere.origin}/mf-bucket", "x-amz-bucket-region": "eu-west-1"},
    )
    env = {
        "METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/metaflow",
        "METAFLOW_S3_ENDPOINT_URL": endpoint.origin,
    }
    s3_checks(settings_of(env, tmp_path))
    assert endpoint.seen
    assert "authorization" in endpoint.seen[0][1]
    assert elsewhere.seen == []
