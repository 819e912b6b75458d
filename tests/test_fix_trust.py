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
    said = done.output + (done.stderr or "")  # click 8.1 keeps stderr apart from output
    assert done.exit_code != 0, said
    assert "read-only (mode 0444" in said
    assert f"chmod u+w {profile}" in said
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


@pytest.mark.parametrize(
    ("name", "value", "most"),
    [
        pytest.param("SERVICE_RETRY_COUNT", 10**12, "1 to 12", id="service-retries"),
        pytest.param("S3_RETRY_COUNT", 13, "0 to 12", id="s3-retries"),
        pytest.param("S3_TRANSIENT_RETRY_COUNT", 101, "0 to 100", id="s3-transient"),
        pytest.param("S3_WORKER_COUNT", 10**6, "1 to 512", id="s3-workers"),
        pytest.param("S3_WORKER_COUNT", 0, "1 to 512", id="no-s3-worker"),
        pytest.param("S3_CLIENT_RETRY_CONFIG", {"max_attempts": 10**9}, "0-100", id="attempts"),
    ],
)
@pytest.mark.parametrize("layer", ["local", "profile", "env"])
def test_a_count_no_run_could_use_is_refused_from_every_layer(
    tmp_path: Path, name: str, value: object, most: str, layer: str
) -> None:
    """Retry and worker counts past what a run could wait for (or fork) are bad values."""
    from metaflow_config import ConfigError, load
    from metaflow_config.testing import write_local, write_profile

    home, project = tmp_path / "home", tmp_path / "repo"
    (project / ".metaflow").mkdir(parents=True)
    env: dict[str, str] = {}
    if layer == "local":
        write_local(project, {name: value})
    elif layer == "profile":
        write_profile(home, {name: value})
    else:
        env[f"METAFLOW_{name}"] = json.dumps(value) if isinstance(value, dict) else str(value)
    with pytest.raises(ConfigError, match=f"METAFLOW_{name}.*{most}"):
        load(env=env, home=home, cwd=project)


@pytest.mark.parametrize(
    ("name", "value", "bounds"),
    [
        ("SERVICE_RETRY_COUNT", 12, (1, 12)),
        ("S3_RETRY_COUNT", 12, (0, 12)),
        ("S3_TRANSIENT_RETRY_COUNT", 100, (0, 100)),
        ("S3_WORKER_COUNT", 512, (1, 512)),
    ],
)
def test_a_count_at_its_bound_applies_and_the_schema_says_the_bounds(
    tmp_path: Path, name: str, value: int, bounds: tuple[int, int]
) -> None:
    """The most a count takes applies from a project file; `schema` tells an editor the bounds."""
    from metaflow_config import load
    from metaflow_config.cli._reference import profile_schema
    from metaflow_config.testing import write_local

    project = tmp_path / "repo"
    write_local(project, {name: value})
    s = load(env={}, home=tmp_path / "home", cwd=project)
    assert (s[name], s.explain(name).source) == (value, "local")
    typed = profile_schema()["properties"][f"METAFLOW_{name}"]["anyOf"][0]
    assert (typed["type"], typed["minimum"], typed["maximum"]) == ("integer", *bounds)
