"""The URL kinds take only URLs that urllib, urllib3 (requests) and botocore read alike.

A URL a client refuses crashes a run with a traceback that prints it (its password too); a URL
two clients read differently can be shown (masked) as going to one host while it goes to
another (``http://127.0.0.1:8765#@corp.example/api``). Each refusal says what is wrong, and no
message quotes a password or a piece of one.
"""

from __future__ import annotations

import ipaddress
import re
import string
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from metaflow_config import ConfigError, load
from metaflow_config._model import core, kinds
from tests.conftest import invoke
from tests.test_display import MAX_GROWTH, _growth

CANARY = "ZQXJ"  # in every password a test writes: text no output holds by chance


def _validator(kind: kinds.Kind) -> Any:
    """A pydantic-core validator of ``kind`` alone (its pattern in Rust's regex engine)."""
    validator, _ = core.validator_types()
    return validator(kind.core_schema())


_URL = _validator(kinds.URL)


def _takes(validator: Any, value: str) -> bool:
    try:
        validator.validate_python(value)
    except Exception:
        return False
    return True


def _refusal(value: str, tmp_path: Path, name: str = "METAFLOW_SERVICE_URL") -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(env={name: value}, home=tmp_path / "none", cwd=tmp_path)
    return info.value


def _texts(err: ConfigError) -> list[str]:
    return [str(err), repr(err), *(str(p) for p in err.problems), *map(repr, err.problems)]


# --- what is taken --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://metadata.example.com/api",
        "http://localhost:8080",
        "http://mf.internal:8080/",
        "https://u:pw@my_host",  # an '_': requests takes it (botocore does not: AWS_ENDPOINT)
        "https://bob:p@ss@host/api",  # the last '@' ends the user name and password
        "https://alice@corp.example:pw@host/",
        "https://tok@host",
        "https://u:p%23w%2F%3F@host/api",  # '#', '/', '?' of a password, percent-encoded
        "https://u:%C3%A9@host/",  # é, encoded as requests sends it (Latin-1)
        "http://127.0.0.1:65535/x?y=1&z=%40",
        "http://[::1]:8080/",
        "http://[2001:db8::ffff:1.2.3.4]/",
        "https://host.example./",
        "https://host?query",
    ],
)
def test_a_url_every_client_reads_alike_is_taken(url: str, tmp_path: Path) -> None:
    """What urllib, urllib3 and requests read the same way is a URL setting's value."""
    s = load(env={"METAFLOW_SERVICE_URL": url}, home=tmp_path / "none", cwd=tmp_path)
    assert str(s.service.url) == url
    assert re.match(kinds._URL, url)  # the JSON Schema's pattern (Python's re) agrees


@pytest.mark.parametrize(
    ("url", "said"),
    [
        pytest.param(
            "http://127.0.0.1:8765#@metaflow.corp.example/api",
            "an '@' after the host: clients send the request to what comes before the first",
            id="fragment-hides-the-host",
        ),
        pytest.param(
            "http://evil:8765/x@corp.example/api",
            "an '@' after the host",
            id="at-in-the-path",
        ),
        pytest.param("https://h.example/#frag", "a '#', which begins a fragment", id="fragment"),
        pytest.param(
            f"https://bob:{CANARY}#1@host/",
            "percent-encode it (%23 for #, %3F for ?, %2F for /)",
            id="hash-in-password",
        ),
        pytest.param(
            f"https://bob:{CANARY}?1@host/",
            "percent-encode it (%23 for #, %3F for ?, %2F for /)",
            id="question-mark-in-password",
        ),
        pytest.param(
            f"https://bob:Zq9/{CANARY}@host/",
            "percent-encode it (%23 for #, %3F for ?, %2F for /)",
            id="slash-in-password",
        ),
        pytest.param(
            f"https://bob:{CANARY}[1@host/", "a '[', ']' or '\\' in the user name", id="bracket"
        ),
        pytest.param(
            f"https://bob:{CANARY}\\1@host/", "a '[', ']' or '\\' in the user name", id="backslash"
        ),
        pytest.param(
            f"https://bob:{CANARY}é@host/", "not ASCII in the user name or password", id="é"
        ),
        pytest.param(
            f"https://bob:{CANARY}%E2%82%AC@host/", "encodes no character requests", id="€"
        ),
        pytest.param(
            f"https://bob:{CANARY}%zz@host/", "a '%' of its own is %25", id="lone-percent"
        ),
        pytest.param(
            f"https://u:{CANARY}@host:99999",
            "the port '99999' is out of range (1 to 65535)",
            id="port-range",
        ),
        pytest.param("https://host:0/", "the port '0' is out of range", id="port-0"),
        pytest.param("https://host:80a/", "the port '80a' is not a number", id="port-letters"),
        pytest.param("https://host:080/", "the port '080' has a leading zero", id="port-zero"),
        pytest.param("https://host:/", "an empty port after ':'", id="port-empty"),
        pytest.param("https://ho!st/", "the host 'ho!st' holds '!'", id="host-char"),
        pytest.param(
            f"https://u:{CANARY}@ho$st/", "the host 'ho$st' holds '$'", id="host-char-after-user"
        ),
        pytest.param("https://a..b/", "has an empty label", id="empty-label"),
        pytest.param("https://straße.example/", "is not ASCII", id="idna"),
        pytest.param("https://[:::]/", "the host '[:::]' is not an IPv6 address", id="ipv6"),
        pytest.param("https://[fe80::1%25eth0]/", "an IPv6 zone", id="zone"),
        pytest.param(
            "https://[" + "1:" * 40_000 + "]/",
            "the host '[1:1:1:",
            id="ipv6-long",  # said shortened, as every value is
        ),
        pytest.param("https://[::1/", "a '[' without its ']'", id="bracket-unclosed"),
        pytest.param("https://[::1]x/", "after the IPv6 address's ']'", id="after-bracket"),
        pytest.param("https:///path", "it names no host", id="no-host"),
        pytest.param("ftp://host", "it starts with 'ftp://'", id="scheme"),
        pytest.param(
            f"xx:{CANARY}://h@host", "it does not start with 'http://' or 'https://'", id="scheme?"
        ),
    ],
)
def test_a_url_clients_read_otherwise_is_refused_with_why(
    url: str, said: str, tmp_path: Path
) -> None:
    """Each way clients refuse a URL or read it otherwise is an error saying which, quoting
    no password (nor a piece of one, however short: ``Zq9``)."""
    err = _refusal(url, tmp_path)
    (problem,) = err.problems
    assert said in problem.expected
    assert len(problem.expected) < 1500  # every part it quotes is shortened as values are
    assert not _takes(_URL, url)
    assert not _python_takes(url)  # the JSON Schema's pattern (Python's re) and the IPv6 check
    for text in _texts(err):
        assert CANARY not in text, text
        assert "Zq9" not in text, text


def test_the_masked_url_no_longer_passes_for_another_host(tmp_path: Path) -> None:
    """``explain`` showed ``http://127.0.0.1:****@metaflow.corp.example/api`` as a valid value
    (every client sends it to 127.0.0.1:8765): now it is refused, and says why."""
    url = "http://127.0.0.1:8765#@metaflow.corp.example/api"
    env = {"METAFLOW_HOME": str(tmp_path / "none"), "METAFLOW_SERVICE_URL": url}
    for args in (["explain", "SERVICE_URL"], ["show"], ["check"]):
        result = invoke(*args, env=env)
        assert result.exit_code == 1, (args, result.stdout)
        assert "an '@' after the host" in result.stdout + result.stderr, args


# --- every client, alike ----------------------------------------------------------------------

#: Pieces a URL is drawn from: each kind of part and each character that ends one somewhere
_PIECES = [
    *"ab_-.09:@/?#[]\\% é",
    "u:p@",
    "%41",
    "%C3%A9",
    "%E2%82%AC",
    "%zz",
    "::1",
    "[::1]",
    "[fe80::1%25e]",
    "1.2.3.4",
    ":8080",
    ":65536",
    ":0",
    "xn--",
]
url_texts = st.builds(
    lambda scheme, parts: scheme + "".join(parts),
    st.sampled_from(["http://", "https://"]),
    st.lists(st.sampled_from(_PIECES), max_size=10),
)


def _read_alike(url: str) -> None:
    """urllib, urllib3 and requests take ``url`` and read one host, port, user and password."""
    import requests
    import urllib3.util

    ours = urllib.parse.urlsplit(url)
    theirs = urllib3.util.parse_url(url)
    sent = urllib3.util.parse_url(requests.Request("GET", url).prepare().url)
    host = ours.hostname
    assert host == (theirs.host or "").strip("[]").lower() == (sent.host or "").strip("[]")
    assert ours.port == theirs.port == sent.port
    assert not ours.fragment
    assert not theirs.fragment
    login = (ours.username or "") + ("" if ours.password is None else ":" + ours.password)
    assert urllib.parse.unquote(login) == urllib.parse.unquote(theirs.auth or "")
    if ours.password is not None:  # what requests sends as Basic authentication
        user, password = requests.utils.get_auth_from_url(sent.url)
        assert (user, password) == (
            urllib.parse.unquote(ours.username or ""),
            urllib.parse.unquote(ours.password),
        )


@hypothesis_settings(max_examples=400, deadline=None)
@given(url=url_texts)
@example(url="http://127.0.0.1:8765#@metaflow.corp.example/api")
@example(url="http://evil:8765/x@corp.example/api")
@example(url="https://user:pw@host:99999")
@example(url="http://u:p[w@host/")
@example(url="http://host:0/")
def test_a_url_the_kind_takes_every_client_reads_alike(url: str) -> None:
    """Whatever the URL kind takes, urllib, urllib3 and requests take, reading one host, port,
    user and password; Python's ``re`` (the JSON Schema's pattern) decides as pydantic-core."""
    taken = _takes(_URL, url)
    assert taken == _python_takes(url)
    if taken:
        _read_alike(url)


def _python_takes(url: str) -> bool:
    """What the URL kind takes, by Python's ``re`` (the JSON Schema's pattern) and the IPv6 host's
    grammar checked after it."""
    if not re.match(kinds._URL, url):
        return False
    try:
        kinds._ipv6_checked(url)
    except ValueError:
        return False
    return True


_IPV6_TEXTS = st.lists(st.sampled_from([*"0af:.", "ffff", "1.2.3.4", "::"]), max_size=12).map(
    "".join
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(address=_IPV6_TEXTS)
@example(address="1:2:3:4:5:6:7::")
@example(address="::ffff:1.2.3.4")
@example(address="::1.2.3.04")
def test_an_ipv6_host_is_one_urllib_takes(address: str) -> None:
    """The pattern's IPv6 address is RFC 3986's, as Python's ``ipaddress`` (urllib) reads it."""
    try:
        ipaddress.IPv6Address(address)
        valid = True
    except ValueError:
        valid = False
    assert _takes(_URL, f"http://[{address}]/") == valid


# --- no password in any message ---------------------------------------------------------------

_PASSWORD_CHARS = string.ascii_letters + string.digits + "@:/?#[]\\%!$&'()*+,;= é\""


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    password=st.text(_PASSWORD_CHARS, max_size=10).map(lambda p: CANARY + p),
    host=st.sampled_from(["mf.example.com", "my_host", "ho!st", "[::1", "h:99999"]),
)
def test_no_refusal_quotes_a_password(tmp_path: Path, password: str, host: str) -> None:
    """Whatever a password holds, the error of a refused URL holds none of it (the diagnosis
    reads the value as written: a masked one would hide what is wrong)."""
    url = f"https://bob:{password}@{host}/api"
    try:
        load(env={"METAFLOW_SERVICE_URL": url}, home=tmp_path / "none", cwd=tmp_path)
    except ConfigError as err:
        for text in _texts(err):
            assert CANARY not in text, text


HOSTILE = {
    "a.": lambda n: "https://" + "a." * (n // 2) + "!",
    "ats": lambda n: "https://" + "@a" * (n // 2) + "!",
    "colons": lambda n: "https://h" + ":" * n,
    "percents": lambda n: "https://u:" + "%C3" * (n // 3) + "@h",
    "brackets": lambda n: "https://[" + ":" * n + "]",
}


@pytest.mark.parametrize("make", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_refusal_is_said_in_linear_time(make: Any) -> None:
    """Saying what is wrong with 256 KB of hostile text takes less than 40x what 16 KB takes."""
    from metaflow_config._model.urls import url_problems

    growth = [_growth(url_problems, make)]
    while growth[-1] >= MAX_GROWTH and len(growth) < 3:  # a busy machine, or quadratic
        growth.append(_growth(url_problems, make))
    assert min(growth) < MAX_GROWTH, growth


# --- AWS endpoints: what botocore takes -----------------------------------------------------

_ENDPOINT = _validator(kinds.AWS_ENDPOINT)


def _botocore_takes(url: str) -> bool:
    """Whether botocore takes ``url`` as an ``endpoint_url`` (``botocore.endpoint``'s check)."""
    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

    try:
        return bool(is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url))
    except ValueError:  # urllib's own refusal, raised through botocore
        return False


@pytest.mark.parametrize(
    "url",
    [
        "http://minio:9000",
        "https://s3.us-east-1.amazonaws.com",
        "https://bucket.vpce-1a2b3c4d-5e6f.s3.us-east-1.vpce.amazonaws.com/",
        "http://127.0.0.1:9000/prefix",
        "http://[::1]:9000",
        "https://" + "a" * 63 + ".example",
        "https://localstack.",
    ],
)
def test_an_endpoint_botocore_takes_is_taken(url: str, tmp_path: Path) -> None:
    """S3_ENDPOINT_URL takes what botocore takes (and every client reads alike)."""
    s = load(env={"METAFLOW_S3_ENDPOINT_URL": url}, home=tmp_path / "none", cwd=tmp_path)
    assert s.s3.endpoint_url == url
    assert _botocore_takes(url)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        pytest.param("https://my_host", "the host 'my_host' holds '_', which botocore", id="_"),
        pytest.param(
            f"https://u:{CANARY}1@my_host",
            "a user name or password (before '@'), which botocore does not send",
            id="password",
        ),
        pytest.param("https://-minio.local", "starts or ends with '-'", id="hyphen"),
        pytest.param("https://" + "a" * 64 + ".example", "over 63 characters", id="label"),
        pytest.param(
            "https://" + ("a" * 60 + ".") * 5 + "example",
            "the host has 312 characters, botocore takes at most 255",
            id="host-length",
        ),
        pytest.param("http://minio:9000#x", "a '#', which begins a fragment", id="fragment"),
        pytest.param("http://minio:99999", "out of range", id="port"),
    ],
)
def test_an_endpoint_botocore_refuses_is_refused_with_why(
    url: str, said: str, tmp_path: Path
) -> None:
    """botocore's ``ValueError: Invalid endpoint: https://u:SEKRET1@my_host`` (the password
    printed) at a run is now an error of the resolution, naming the rule, quoting no password."""
    err = _refusal(url, tmp_path, "METAFLOW_S3_ENDPOINT_URL")
    (problem,) = err.problems
    assert said in problem.expected
    for text in _texts(err):
        assert CANARY not in text, text


def test_an_endpoint_in_the_client_params_is_checked_as_one(tmp_path: Path) -> None:
    """DATATOOLS_CLIENT_PARAMS' ``endpoint_url`` (boto3's too) is held to the same rule; the
    setting is secret: the error says the rule, not the value."""
    params = f'{{"endpoint_url": "https://{CANARY}@my_host", "region_name": "us-east-1"}}'
    err = _refusal(params, tmp_path, "METAFLOW_DATATOOLS_CLIENT_PARAMS")
    (problem,) = err.problems
    assert "whose endpoint_url, if given, is an http:// or https:// URL botocore" in str(problem)
    assert problem.value == "****"
    for text in _texts(err):
        assert CANARY not in text, text
        assert "my_host" not in text, text
    fine = '{"endpoint_url": "http://minio:9000", "region_name": "us-east-1"}'
    s = load(env={"METAFLOW_DATATOOLS_CLIENT_PARAMS": fine}, home=tmp_path / "none", cwd=tmp_path)
    assert s.datatools.client_params["endpoint_url"] == "http://minio:9000"


@hypothesis_settings(max_examples=400, deadline=None)
@given(url=url_texts)
@example(url="https://my_host")
@example(url="http://-a.b/")
@example(url="http://[::1]/")
def test_an_endpoint_is_what_botocore_takes(url: str) -> None:
    """Of the URLs every client reads alike and that hold no user name or password, the AWS
    endpoint kind takes exactly those botocore takes (``is_valid_endpoint_url``)."""
    endpoint = _takes(_ENDPOINT, url)
    if endpoint:
        assert _takes(_URL, url)
    if _takes(_URL, url) and urllib.parse.urlsplit(url).username is None and "@" not in url:
        assert endpoint == _botocore_takes(url), url


def test_the_scheme_is_taken_in_any_case(tmp_path: Path) -> None:
    """``HTTP://MINIO:9000``: every client (urllib, urllib3, requests, botocore) lowers the
    scheme; so do the URL kinds."""
    env = {
        "METAFLOW_S3_ENDPOINT_URL": "HTTP://MINIO:9000",
        "METAFLOW_SERVICE_URL": "HTTPS://mf.example.com/api",
    }
    s = load(env=env, home=tmp_path / "none", cwd=tmp_path)
    assert s["METAFLOW_S3_ENDPOINT_URL"] == "HTTP://MINIO:9000"
    assert s.service.url == "HTTPS://mf.example.com/api"
