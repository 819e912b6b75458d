"""Live checks (``check --aws``): which run per capability; the metadata service on 127.0.0.1."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import ConfigError
from metaflow_config._checks.checks import CAPABILITIES, check
from metaflow_config._checks.probes import FAIL, PASS, SKIP, WARN
from tests._checks_helpers import (
    SECRET_KEY,
    SECRET_TOKEN,
    Runner,
    assert_no_secrets,
    failing,
    settings_of,
)

pytestmark = [pytest.mark.aws, pytest.mark.usefixtures("_aws_env")]


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A URL whose server accepts connections (in the backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    sock.close()


# --- capabilities -----------------------------------------------------------------------------


def test_nothing_configured_skips_everything_but_credentials_and_region(
    run: Runner, tmp_path: Path
) -> None:
    """With no settings, every check but aws.credentials and aws.region is SKIPped."""
    results = run(settings_of({}, tmp_path))
    assert {n for n, r in results.items() if r.status != SKIP} == {"aws.credentials", "aws.region"}
    assert results["aws.credentials"].status == PASS


def test_asked_capability_fails_on_unset_settings(run: Runner, tmp_path: Path) -> None:
    """capabilities=["batch"]: the unset settings Batch needs FAIL; other families do not run."""
    results = run(settings_of({}, tmp_path), capabilities=["batch"])
    assert failing(results) == {"s3.sysroot", "batch.job_queue", "batch.job_role"}
    assert "export METAFLOW_BATCH_JOB_QUEUE=" in results["batch.job_queue"].fix
    assert not any(name.startswith(("sfn.", "service.")) for name in results)
    assert results["batch.fargate_execution_role"].status == SKIP  # optional


def test_service_capability_alone_makes_no_aws_call(service: Any, tmp_path: Path) -> None:
    """capabilities=["service"] runs only the service checks: no session, no boto3 clients."""
    env = {"METAFLOW_SERVICE_URL": service.url}
    results = check(settings_of(env, tmp_path), ["service"], timeout=2)
    assert [r.name for r in results] == ["service.url", "service.internal_url"]
    assert results[0].status == PASS


def test_unknown_capability_is_a_config_error(tmp_path: Path) -> None:
    """An unknown capability is refused with the list of known ones."""
    with pytest.raises(ConfigError, match="capabilities among s3"):
        check(settings_of({}, tmp_path), ["batch", "slurm"])
    assert "sfn-foreach" in CAPABILITIES


# --- the metadata service ---------------------------------------------------------------------


def test_service_check_sends_configured_headers_and_masks_them(
    service: Any, tmp_path: Path
) -> None:
    """The ping carries SERVICE_HEADERS and x-api-key; results name the headers, never values."""
    service.key = SECRET_KEY
    env = {
        "METAFLOW_SERVICE_URL": service.url,
        "METAFLOW_SERVICE_AUTH_KEY": SECRET_KEY,
        "METAFLOW_SERVICE_HEADERS": json.dumps({"Authorization": SECRET_TOKEN}),
    }
    results = check(settings_of(env, tmp_path), ["service"], timeout=2)
    assert results[0].status == PASS
    assert service.seen[0].get("x-api-key") == SECRET_KEY
    assert service.seen[0].get("Authorization") == SECRET_TOKEN
    assert "Authorization" in results[0].detail
    assert_no_secrets(repr(results))


def test_a_service_urls_login_is_sent_as_basic_auth_and_never_shown(
    service: Any, tmp_path: Path
) -> None:
    """``https://user:password@host``: the ping sends the login as Metaflow's client does (HTTP
    Basic), to the URL without it; no line shows the password."""
    import base64

    url = service.url.replace("http://", "http://alice:pa55%40word@")
    results = check(settings_of({"METAFLOW_SERVICE_URL": url}, tmp_path), ["service"], timeout=2)
    assert results[0].status == PASS, results[0]
    expected = "Basic " + base64.b64encode(b"alice:pa55@word").decode()
    assert service.seen[0].get("Authorization") == expected
    assert "alice:****@127.0.0.1" in results[0].detail
    assert "pa55" not in repr(results)


def test_an_error_quoting_a_piece_of_a_urls_password_is_masked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An error message that quotes part of a URL (its password, no URL shape left around it)
    is masked in every line, whatever check it came from."""
    from http.client import InvalidURL

    from metaflow_config._checks import probes_service

    def ping(*args: Any, **kwargs: Any) -> Any:
        raise InvalidURL("nonnumeric port: 'pa55word@mf.example.com'")

    monkeypatch.setattr(probes_service, "ping", ping)
    env = {"METAFLOW_SERVICE_URL": "https://alice:pa55word@mf.example.com"}
    result = check(settings_of(env, tmp_path), ["service"], timeout=2)[0]
    assert result.status == FAIL
    assert "nonnumeric port: '****@mf.example.com'" in result.detail
    assert "pa55word" not in repr(result)


@pytest.mark.parametrize("cut", ["/", "?", "#"])
@pytest.mark.parametrize("head", ["Sup3r", "Zq9"])  # a piece too short to redact by its text
def test_a_password_a_url_parser_cuts_is_masked_in_each_piece(
    tmp_path: Path, cut: str, head: str
) -> None:
    """``https://alice:Sup3r/Secret@host``: urllib takes ``Sup3r`` for a port and says so; the
    ping's line masks that piece of the password too, however short. No setting holds such a
    URL (the URL kind refuses it, its error quoting no piece): the ping is given it directly."""
    from metaflow_config._checks.probes_service import ping

    url = f"https://alice:{head}{cut}Secret@mf.example.com/api"
    with pytest.raises(ConfigError) as refused:
        settings_of({"METAFLOW_SERVICE_URL": url}, tmp_path)
    status, line, _ = ping(url, {}, 2)
    assert status == FAIL
    for said in (line, str(refused.value), repr(refused.value)):
        assert head not in said
        assert "Secret" not in said


def test_a_service_that_answers_no_http_fails_with_that(tmp_path: Path) -> None:
    """A server that answers something else than HTTP is a FAIL saying so, not an "unexpected
    error"."""
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)

    def answer() -> None:
        conn, _ = sock.accept()
        conn.recv(4096)
        conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    result = check(settings_of({"METAFLOW_SERVICE_URL": url}, tmp_path), ["service"], timeout=2)[0]
    thread.join(5)
    sock.close()
    assert result.status == FAIL
    assert "not an HTTP answer (BadStatusLine" in result.detail, result


def test_service_that_rejects_the_key_fails_with_the_auth_fix(service: Any, tmp_path: Path) -> None:
    """A 403 from the service FAILs service.url, pointing at METAFLOW_SERVICE_AUTH_KEY."""
    service.key = SECRET_KEY
    env = {"METAFLOW_SERVICE_URL": service.url, "METAFLOW_SERVICE_AUTH_KEY": "wrong-key"}
    result = check(settings_of(env, tmp_path), ["service"], timeout=2)[0]
    assert result.status == FAIL
    assert "HTTP 403" in result.detail
    assert "METAFLOW_SERVICE_AUTH_KEY" in result.fix
    assert "wrong-key" not in str(result)


def test_service_that_never_answers_times_out_cleanly(silent_url: str, tmp_path: Path) -> None:
    """A server that accepts and never answers FAILs after the timeout, with the URL to check."""
    env = {"METAFLOW_SERVICE_URL": silent_url}
    result = check(settings_of(env, tmp_path), ["service"], timeout=0.5, deadline=20)[0]
    assert result.status == FAIL
    assert "no answer within 0.5 s" in result.detail
    assert "METAFLOW_SERVICE_URL" in result.fix


def test_overall_deadline_bounds_a_stuck_check(silent_url: str, tmp_path: Path) -> None:
    """A check still running at the deadline is reported as FAIL instead of waited for."""
    env = {"METAFLOW_SERVICE_URL": silent_url}
    result = check(settings_of(env, tmp_path), ["service"], timeout=30, deadline=0.3)[0]
    assert result.status == FAIL
    assert "overall deadline of 0.3 s" in result.detail


def test_refused_connection_fails(tmp_path: Path) -> None:
    """Nobody listening on the service port: service.url FAILs naming the reason."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {"METAFLOW_SERVICE_URL": f"http://127.0.0.1:{port}"}
    result = check(settings_of(env, tmp_path), ["service"], timeout=2)[0]
    assert result.status == FAIL
    assert "refused" in result.detail.lower()


def test_unreachable_internal_url_only_warns(service: Any, silent_url: str, tmp_path: Path) -> None:
    """An internal URL that does not answer from here is a WARN about the containers' network."""
    env = {"METAFLOW_SERVICE_URL": service.url, "METAFLOW_SERVICE_INTERNAL_URL": silent_url}
    results = check(settings_of(env, tmp_path), ["service"], timeout=0.5)
    assert [r.status for r in results] == [PASS, WARN]
    assert "security groups" in results[1].fix
