"""What is wrong with a URL the URL kinds refused, said part by part (the error path only).

The rule itself is the kinds' patterns (``kinds.URL``, ``kinds.AWS_ENDPOINT``): a valid value
is matched by pydantic-core alone and never comes here. This module reads a refused value as the
clients read it (urllib, urllib3 under requests, botocore) and says each thing that makes them
disagree or refuse it, so that the message names the part to correct.

It is given the value as written, not masked: a masked password (``u:****@h``) hides what is
wrong with it (a raw ``#`` in it). So it quotes nothing a password could be in: nothing of a
value whose last ``@`` comes after the host's end (where clients and the masker read the
authority differently), and of any other value only its scheme and what follows its last ``@``
(its host and port), which the masker never masks. The error path redacts what it says too
(``_resolve.validate``).
"""

from __future__ import annotations

import ipaddress

from .._display import show_value

__all__ = ["url_problems"]

_SCHEMES = ("http", "https")
#: What ends a URL's authority for urllib (urllib3 ends it at a ``\`` too)
_AUTHORITY_ENDS = "/?#"
#: What a host name may hold (the URL kind's; an AWS endpoint's holds no ``_``)
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
#: What a user name or password may not hold as written (besides blanks and non-ASCII): urllib
#: refuses a netloc with one bracket, and urllib3 ends the authority at a backslash
_USERINFO_BAD = "[]\\"
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")


def _shown(part: str) -> str:
    """A part of the value a message quotes: as a value is shown (escaped, shortened)."""
    return show_value(part, secret=False)


def url_problems(value: str, *, endpoint: bool = False) -> list[str]:
    """What is wrong with ``value``, an http(s) URL a URL kind's pattern refused.

    ``endpoint``: the rules of an AWS endpoint (botocore's: no ``_`` in the host, no label
    starting or ending with ``-``, and no user name or password). Empty when nothing is found.
    """
    scheme, found, rest = value.partition("://")
    if not found:
        return ["it lacks 'http://' or 'https://'"]
    if scheme.lower() not in _SCHEMES:
        # a scheme's characters hold no ':' that could begin a password: shown
        named = scheme and scheme[0].isalpha() and set(scheme) <= _SCHEME_CHARS
        return [
            f"it starts with {_shown(scheme + '://')}, not 'http://' or 'https://'"
            if named
            else "it does not start with 'http://' or 'https://'"
        ]
    wrong: list[str] = []
    blank = next((i for i, c in enumerate(value) if c.isspace()), None)
    if blank is not None:  # where, unless it may be inside a password
        at = "" if "@" in value else f" at position {blank}"
        wrong.append(f"it holds a space (or another blank){at}")
    end = min((i for i in (rest.find(c) for c in _AUTHORITY_ENDS) if i >= 0), default=len(rest))
    authority, after = rest[:end], rest[end:]
    if "#" in value:
        wrong.append(
            "a '#', which begins a fragment (clients do not send it, no endpoint uses it): "
            "remove it"
        )
    if "@" in after:
        # the host and port as clients read them may be pieces of a password: none quoted
        wrong.append(
            "an '@' after the host: clients send the request to what comes before the first "
            "'/', '?' or '#'; a '/', '?' or '#' in a password? percent-encode it (%23 for #, "
            "%3F for ?, %2F for /); an '@' in a path or query is written %40"
        )
        return wrong
    userinfo, has_userinfo, hostport = authority.rpartition("@")
    if has_userinfo:
        wrong += _userinfo_problems(userinfo, endpoint=endpoint)
    wrong += _host_port_problems(hostport, endpoint=endpoint)
    return wrong


def _userinfo_problems(userinfo: str, *, endpoint: bool) -> list[str]:
    """What is wrong with a URL's ``user:password`` (never quoted)."""
    if endpoint:
        return [
            "a user name or password (before '@'), which botocore does not send (it signs "
            "requests) but prints in its errors: remove it"
        ]
    wrong = []
    if any(c in _USERINFO_BAD for c in userinfo):
        wrong.append(
            "a '[', ']' or '\\' in the user name or password (urllib refuses a lone bracket, "
            "urllib3 ends the host at a backslash): percent-encode it (%5B, %5D, %5C)"
        )
    if not userinfo.isascii():
        wrong.append(
            "a character that is not ASCII in the user name or password: percent-encode its "
            "UTF-8 bytes (%C3%A9 for é; requests sends only Latin-1 ones)"
        )
    if not _percent_encoded(userinfo):
        wrong.append(
            "a '%' in the user name or password that encodes no character requests can send "
            "(ASCII, %00 to %7F, or Latin-1, %C2%A0 to %C3%BF): a '%' of its own is %25"
        )
    return wrong


def _percent_encoded(userinfo: str) -> bool:
    """Whether each ``%`` of ``userinfo`` encodes an ASCII or Latin-1 character (see ``kinds``)."""
    at = userinfo.find("%")
    while at >= 0:
        byte = userinfo[at + 1 : at + 3]
        hexes = len(byte) == 2 and all(c in "0123456789abcdefABCDEF" for c in byte)
        if not hexes:
            return False
        if byte[0] in "01234567":
            at = userinfo.find("%", at + 3)
            continue
        follow = userinfo[at + 3 : at + 6]
        if byte.upper() not in ("C2", "C3") or not (
            len(follow) == 3
            and follow[0] == "%"
            and follow[1] in "89ABab"
            and follow[2] in "0123456789abcdefABCDEF"
        ):
            return False
        at = userinfo.find("%", at + 6)
    return True


def _host_port_problems(hostport: str, *, endpoint: bool) -> list[str]:
    """What is wrong with a URL's ``host[:port]``: after its last ``@``, so quoted."""
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return ["a '[' without its ']' (an IPv6 address is written [2001:db8::1])"]
        wrong = _ipv6_problems(hostport[1:close])
        port = hostport[close + 1 :]
        if port and not port.startswith(":"):
            wrong.append(f"{_shown(port)} after the IPv6 address's ']', where a port may come")
        return wrong + (_port_problems(port[1:]) if port.startswith(":") else [])
    host, colon, port = hostport.partition(":")
    wrong = _host_problems(host, endpoint=endpoint)
    return wrong + (_port_problems(port) if colon else [])


def _ipv6_problems(address: str) -> list[str]:
    """What is wrong with the text between an IPv6 address's brackets (as urllib checks it)."""
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        return [f"the host {_shown(f'[{address}]')} is not an IPv6 address"]
    if "%" in address:  # a zone: urllib keeps its %25, urllib3 decodes it
        return ["an IPv6 zone ('%'), which clients read differently: leave it out"]
    return []


def _host_problems(host: str, *, endpoint: bool) -> list[str]:
    """What is wrong with a host name (a DNS name or an IPv4 address)."""
    if not host:
        return ["it names no host"]
    shown = _shown(host)
    if not host.isascii():
        return [
            f"the host {shown} is not ASCII: clients encode it differently (IDNA 2003 in "
            "urllib, IDNA 2008 in requests) and it may look like another host; write its "
            "IDNA form (xn--...)"
        ]
    odd = sorted(set(host) - _HOST_CHARS)
    if odd:
        chars = ", ".join(repr(c) for c in odd)
        return [
            f"the host {shown} holds {chars}, which no host name holds (letters, digits, "
            "'-', '_' and '.')"
        ]
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    wrong = []
    if any(not label for label in labels):
        wrong.append(f"the host {shown} has an empty label ('..', or a '.' at its start)")
    if any(len(label) > 63 for label in labels):
        wrong.append(f"the host {shown} has a label (between dots) over 63 characters")
    if endpoint:
        wrong += _endpoint_host_problems(host, labels, shown)
    return wrong


def _endpoint_host_problems(host: str, labels: list[str], shown: str) -> list[str]:
    """What botocore refuses in an endpoint's host name (``is_valid_endpoint_url``)."""
    wrong = []
    if "_" in host:
        wrong.append(
            f"the host {shown} holds '_', which botocore refuses in an endpoint (letters, "
            "digits, '-' and '.' only)"
        )
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        wrong.append(f"a label of the host {shown} starts or ends with '-', which botocore refuses")
    if len(host) > 255:
        wrong.append(f"the host has {len(host)} characters, botocore takes at most 255")
    return wrong


def _port_problems(port: str) -> list[str]:
    """What is wrong with the text after a host's ``:``."""
    if not port:
        return ["an empty port after ':' (leave the ':' out for the scheme's own port)"]
    shown = _shown(port)
    if not (port.isascii() and port.isdigit()):
        return [f"the port {shown} is not a number (digits only)"]
    if port.startswith("0") and port != "0":
        return [f"the port {shown} has a leading zero"]
    if len(port) > 5 or not 1 <= int(port) <= 65535:  # (int() of 5,000 digits raises)
        return [f"the port {shown} is out of range (1 to 65535)"]
    return []
