"""Trust of what is read and written: the profile's writers, read-only files, isolated(), counts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import metaflow_config.testing as mf_testing
from tests.conftest import invoke


def test_isolated_reads_no_project_file_above_its_default_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """isolated() looks for the project file in an empty project of its own: none above is read."""
    above = tmp_path / "machine"
    (above / ".metaflow").mkdir(parents=True)
    (above / ".metaflow" / "config.json").write_text(
        json.dumps({"METAFLOW_OTEL_SERVICE_NAME": "from-the-machine"}), encoding="utf-8"
    )
    monkeypatch.setattr(
        mf_testing, "ISOLATED_ROOT", str(above / "nonexistent" / "metaflow-config-isolated")
    )
    monkeypatch.setattr(mf_testing, "_EMPTY_PROJECT", [], raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(above / "tmp"))
    (above / "tmp").mkdir()
    snapshot = mf_testing.isolated()
    assert snapshot["OTEL_SERVICE_NAME"] == "metaflow"
    assert not os.path.exists(snapshot.local_path)
    assert snapshot.explain("OTEL_SERVICE_NAME").source == "default"


def _read_only_profile(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    profile = home / "config.json"
    profile.write_text(json.dumps({"METAFLOW_BATCH_JOB_QUEUE": "managed"}), encoding="utf-8")
    profile.chmod(0o444)
    return profile


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["configure", "aws", "--yes", "--set", "BATCH_JOB_QUEUE=mine"], id="configure"
        ),
        pytest.param(["reset", "--yes"], id="reset"),
        pytest.param(["import", "--yes", "{src}"], id="import"),
    ],
)
def test_a_read_only_profile_is_neither_replaced_nor_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    """A profile of mode 0444 is refused by every command that writes or removes it, as is."""
    profile = _read_only_profile(tmp_path)
    monkeypatch.setenv("METAFLOW_HOME", str(profile.parent))
    src = tmp_path / "src.json"
    src.write_text('{"METAFLOW_BATCH_JOB_QUEUE": "mine"}', encoding="utf-8")
    done = invoke(*(a.format(src=src) for a in args))
    assert done.exit_code != 0, done.output
    assert "read-only (mode 0444" in done.output
    assert f"chmod u+w {profile}" in done.output
    assert json.loads(profile.read_text())["METAFLOW_BATCH_JOB_QUEUE"] == "managed"
    assert profile.stat().st_mode & 0o777 == 0o444


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_write_json_atomic_refuses_a_read_only_file(tmp_path: Path) -> None:
    """The one write path refuses a read-only file before anything is written."""
    from metaflow_config import ConfigError
    from metaflow_config._sources.writes import remove_file, write_json_atomic

    profile = _read_only_profile(tmp_path)
    with pytest.raises(ConfigError, match=r"read-only \(mode 0444.*nothing was written"):
        write_json_atomic(profile, {"METAFLOW_BATCH_JOB_QUEUE": "mine"}, home=profile.parent)
    with pytest.raises(ConfigError, match="read-only"):
        remove_file(profile, home=profile.parent)
    assert sorted(p.name for p in profile.parent.iterdir()) == ["config.json"]


_OTHER = 65534  # a uid that is not the user's (nobody's)
_ROOT_ONLY = pytest.mark.skipif(
    os.name == "nt" or os.geteuid() != 0, reason="plays another user with chown (root)"
)


def _profile_said(home: Path, tmp_path: Path) -> list[str]:
    """The warnings of a load of ``home``'s profile (which sets SERVICE_URL, applied)."""
    import warnings

    from metaflow_config import load

    (tmp_path / "cwd" / ".metaflow").mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = load(env={}, home=home, cwd=tmp_path / "cwd")
    assert s.service.url == "https://there.example.com"
    return [str(w.message) for w in caught]


def _home_with_profile(tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "mfhome"
    home.mkdir(mode=0o700)
    profile = home / "config.json"
    profile.write_text(json.dumps({"METAFLOW_SERVICE_URL": "https://there.example.com"}))
    profile.chmod(0o644)
    return home, profile


@_ROOT_ONLY
@pytest.mark.parametrize("whose", ["file", "home", "both"])
def test_a_profile_another_user_owns_is_said(tmp_path: Path, whose: str) -> None:
    """A profile, or a METAFLOW_HOME, owned by another user: applied, with a warning naming it."""
    home, profile = _home_with_profile(tmp_path)
    if whose in ("file", "both"):
        os.chown(profile, _OTHER, _OTHER)
    if whose in ("home", "both"):
        os.chown(home, _OTHER, _OTHER)
    said = [w for w in _profile_said(home, tmp_path) if str(profile) in w]
    assert len(said) == 1, said
    if whose == "file":
        assert f"the file is owned by another user (uid {_OTHER})" in said[0]
    else:
        assert f"METAFLOW_HOME ({home}) is owned by another user (uid {_OTHER})" in said[0]
    assert "whoever can write it decides where your data and credentials go" in said[0]


@_ROOT_ONLY
def test_a_profile_linked_by_another_user_is_said(tmp_path: Path) -> None:
    """A profile that is a symbolic link another user owns (to a file of the user's) is said."""
    home, _ = _home_with_profile(tmp_path)
    mine = tmp_path / "mine.json"
    (home / "config.json").rename(mine)
    link = home / "config.json"
    link.symlink_to(mine)
    os.lchown(link, _OTHER, _OTHER)
    said = [w for w in _profile_said(home, tmp_path) if str(link) in w]
    assert len(said) == 1, said
    assert f"the symlink is owned by another user (uid {_OTHER})" in said[0]


@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
@pytest.mark.parametrize(("mode", "warned"), [(0o777, True), (0o1777, False), (0o755, False)])
def test_a_profile_in_a_home_others_may_write_to_is_said(
    tmp_path: Path, mode: int, warned: bool
) -> None:
    """A METAFLOW_HOME others may write to without the sticky bit is said (as writes refuse it)."""
    home, profile = _home_with_profile(tmp_path)
    home.chmod(mode)
    said = [w for w in _profile_said(home, tmp_path) if str(profile) in w]
    if not warned:
        assert said == []
        return
    assert len(said) == 1, said
    assert f"METAFLOW_HOME ({home}) is writable by everyone without the sticky bit" in said[0]
    assert f"chmod go-w {home}" in said[0]
