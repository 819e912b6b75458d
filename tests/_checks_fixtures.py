"""Fixtures of the live checks (tests/test_checks_*.py): servers on 127.0.0.1, the account.

Registered for the whole suite by ``pytest_plugins`` in tests/conftest.py; the fake AWS
environment (``_aws_env``) applies only where a module asks for it with
``pytest.mark.usefixtures("_aws_env")``.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from metaflow_config import Settings
from metaflow_config._checks.checks import check
from metaflow_config._checks.probes import CheckResult
from tests._checks_helpers import (
    LOG_GROUP,
    REGION,
    ROLES,
    SECRET_KEY,
    Runner,
    make_table,
    moto_clients,
    role_arn,
    trust,
)

# --- servers ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server on 127.0.0.1 for the whole run (each test resets it)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class _Handler(BaseHTTPRequestHandler):
    """A metadata service stand-in: 200 on .../ping, 403 when ``server.key`` is not sent."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.seen.append(self.headers)  # case-insensitive .get()
        if server.key and self.headers.get("x-api-key") != server.key:
            code = 403
        else:
            code = 200 if self.path.endswith("/ping") else 404
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        """Silence the request log."""


@pytest.fixture
def service() -> Iterator[Any]:
    """A small HTTP server on 127.0.0.1; ``.url``, ``.seen`` (request headers), ``.key``."""
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.seen, server.key = [], None
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


# --- the AWS account --------------------------------------------------------------------------


@pytest.fixture
def _aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and region; no ~/.aws files, no instance metadata, no proxy."""
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="session")
def shared_session() -> Any:
    """One boto3 session for the run (loading service models is the slow part of a client).

    Fake credentials of its own; the region comes from the environment. Tests that change
    credentials or region make their own session.
    """
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="session")
def setup_clients(shared_session: Any, moto_url: str) -> dict[str, Any]:
    """Clients (by service) that build the account on the moto server."""
    return {}


@pytest.fixture
def aws(moto_url: str, shared_session: Any, setup_clients: dict[str, Any]) -> Callable[[str], Any]:
    """A fresh, fully correct Metaflow account on the moto server; returns a client maker."""
    reset = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310 - http://127.0.0.1

    def client(service: str) -> Any:
        if service not in setup_clients:
            setup_clients[service] = shared_session.client(
                service, endpoint_url=moto_url, region_name=REGION
            )
        return setup_clients[service]

    client("s3").create_bucket(Bucket="mf-bucket")
    iam = client("iam")
    for name, principal in ROLES.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust(principal))
    batch = client("batch")
    batch.create_compute_environment(
        computeEnvironmentName="mf-ce",
        type="UNMANAGED",
        state="ENABLED",
        serviceRole=role_arn("BatchServiceRole"),
    )
    batch.create_job_queue(
        jobQueueName="mf-queue",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": "mf-ce"}],
    )
    make_table(client("dynamodb"), "mf-table", key="pathspec", ttl="ttl")
    client("logs").create_log_group(logGroupName=LOG_GROUP)
    client("secretsmanager").create_secret(Name="mf/sandbox-key", SecretString=SECRET_KEY)
    return client


@pytest.fixture
def run(moto_url: str, shared_session: Any) -> Runner:
    """``run(settings, **options)``: every check against moto (shared session); by name."""

    def run_checks(
        settings: Settings, *, session: Any = None, **options: Any
    ) -> dict[str, CheckResult]:
        session = shared_session if session is None else session
        options.setdefault("timeout", 5.0)
        options.setdefault("deadline", 30.0)
        factory = moto_clients(session, moto_url)
        results = check(settings, session=session, client_factory=factory, **options)
        return {r.name: r for r in results}

    return run_checks
