"""What a review of the frames' and messages' hygiene found: a library error leaves the
caller's suspended generators alone, and a secret's message quotes no piece of it, however
the piece was shortened or escaped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metaflow_config import ConfigError, load, override


def test_a_load_error_does_not_close_a_suspended_override_generator() -> None:
    """An exception thrown into an ``@override`` generator (and handled there) has the
    wrapper's frame in its traceback while that generator is suspended; an unrelated ``load()``
    error raised while the caller still handles it clears the package's frames in its chain, and
    before CPython 3.13 clearing a suspended generator's frame closes it: such frames are left."""

    @override(BATCH_JOB_QUEUE="q")
    def numbers():  # type: ignore[no-untyped-def]
        n = 0
        while True:
            try:  # noqa: SIM105 - as a generator handling what is thrown in is written
                yield n
            except ValueError:
                pass
            n += 1

    gen = numbers()
    assert next(gen) == 0
    try:
        raise ValueError("skip one")  # noqa: TRY301
    except ValueError as skip:
        thrown = gen.throw(skip)  # handled by the generator, which yields again
        with pytest.raises(ConfigError):
            load(cwd=5)  # type: ignore[arg-type]  # an unrelated wrong argument
    assert thrown == 1
    assert next(gen) == 2  # the generator is alive


#: a piece of an endpoint host as the IPv6 pattern takes its characters (hex digits, ':')
_HOST_PIECE = "5ecdef:dead:beef:c0de"


def test_a_secret_setting_s_message_does_not_quote_a_shortened_piece() -> None:
    """``show_value`` shortens a long part to ``'[1::2::5ecdef...`` (no closing quote): a
    secret ``DATATOOLS_CLIENT_PARAMS``'s message with such a quote says no detail at all."""
    host = "[1::2::" + _HOST_PIECE + ":abcd" * 20 + "]"
    with (
        pytest.raises(ConfigError) as info,
        override(DATATOOLS_CLIENT_PARAMS={"endpoint_url": f"https://{host}/"}),
    ):
        pass
    assert _HOST_PIECE not in str(info.value)


def test_a_secret_setting_s_message_does_not_quote_a_json_unescaped_piece(tmp_path: Path) -> None:
    """The check quotes the *parsed* string, which the JSON text of the environment variable
    may not hold (one ``\\u0065`` escape): every long quoted part of a secret's message is
    masked, whatever it quotes."""
    text = json.dumps({"endpoint_url": "https://[1::2::" + _HOST_PIECE + "]/"}).replace(
        "5ecdef", "5\\u0065cdef"
    )
    assert _HOST_PIECE not in text  # only the parsed value holds it
    with pytest.raises(ConfigError) as info:
        load(env={"METAFLOW_DATATOOLS_CLIENT_PARAMS": text}, home=tmp_path)
    assert "is not an IPv6 address" in str(info.value)  # the check quoting the host ran
    assert _HOST_PIECE not in str(info.value)
