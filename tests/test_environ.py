"""The METAFLOW_* scan of an environment (``_environ``) finds exactly what a plain loop finds."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaflow_config import ConfigWarning, load
from metaflow_config._sources.environ import metaflow_items


def plain(env: dict[str, str] | os._Environ[str]) -> list[tuple[str, str]]:
    """What the scan replaces: every name, in order, tested in Python."""
    return [(key, env[key]) for key in env if key.startswith("METAFLOW_")]


NAMES = st.lists(
    st.sampled_from(["METAFLOW_", "\0", "A", "_", "M", "é", "\udcff"]), max_size=5
).map("".join)


@given(st.dictionaries(NAMES, st.text(max_size=3), max_size=8))
def test_any_dict_scans_like_the_plain_loop(env: dict[str, str]) -> None:
    """Names holding NUL, repeats after a cut, non-ASCII: the same pairs in the same order."""
    assert metaflow_items(env) == plain(env)
    assert metaflow_items(env) == plain(env)  # and again, from the remembered search


def test_os_environ_scans_like_the_plain_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.environ: non-ASCII and undecodable bytes; adding, changing and removing between scans."""
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "q-\udcff")
    monkeypatch.setenv("METAFLOW_É", "é")
    assert metaflow_items(os.environ) == plain(os.environ)
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "other")  # same names, a new value
    assert metaflow_items(os.environ) == plain(os.environ)
    monkeypatch.delenv("METAFLOW_É")
    monkeypatch.setenv("METAFLOW_Z", "z")  # as many names as before, one different
    assert metaflow_items(os.environ) == plain(os.environ)
    monkeypatch.delenv("METAFLOW_Z")
    assert metaflow_items(os.environ) == plain(os.environ)


def test_a_typo_added_after_a_resolution_is_still_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The remembered search never hides a variable added since: unknown names still warn."""
    load()
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEU", "q")
    with pytest.warns(ConfigWarning, match="METAFLOW_BATCH_JOB_QUEU"):
        load()
