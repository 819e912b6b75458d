"""Snapshots pickle and copy: users keep settings in Metaflow artifacts and send them to workers."""
# ruff: noqa: S301 - the tests unpickle only what they pickled themselves

from __future__ import annotations

import copy
import os
import pickle
from collections.abc import Callable
from pathlib import Path

import pytest

from metaflow_config import Settings, current, load, override, settings
from tests.conftest import write_json

SECRET = "s3cr3t-auth-key"
MACHINE_SECRET = "aws-secret-not-a-setting"


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The process environment and a profile, as a real process has them."""
    write_json(
        Path(os.environ["METAFLOW_HOME"]) / "config.json",
        {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://bucket/mf", "METAFLOW_SERVICE_AUTH_KEY": SECRET},
    )
    monkeypatch.setenv("METAFLOW_JOB_QUEUE_NAME", "queue")
    monkeypatch.setenv("METAFLOW_SERVICE_HEADERS", '{"x-team": "ml"}')
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", MACHINE_SECRET)
    monkeypatch.setenv("USER", "alice")
    return load()  # env is os.environ itself


@pytest.mark.parametrize(
    "round_trip",
    [
        pytest.param(lambda s: pickle.loads(pickle.dumps(s)), id="pickle"),
        pytest.param(lambda s: pickle.loads(pickle.dumps(s, protocol=0)), id="pickle-0"),
        pytest.param(copy.copy, id="copy"),
        pytest.param(copy.deepcopy, id="deepcopy"),
    ],
)
def test_a_snapshot_of_the_live_environment_round_trips(
    configured: Settings, round_trip: Callable[[Settings], Settings]
) -> None:
    """Equal after the trip, with the same provenance, and its secrets still masked."""
    back = round_trip(configured)
    assert isinstance(back, Settings)
    assert back == configured
    assert back.batch.job_queue == "queue"
    assert back.datatools.s3root == "s3://bucket/mf/data"
    assert back.service.headers == {"x-team": "ml"}
    assert back.explain("METAFLOW_BATCH_JOB_QUEUE").location == "METAFLOW_JOB_QUEUE_NAME"
    assert back.source("DATASTORE_SYSROOT_S3") == "profile"
    assert back["USER"] == "alice"
    assert SECRET not in repr(back)
    assert SECRET not in repr(back.service)
    assert back.to_env("batch") == configured.to_env("batch")


def test_a_pickle_keeps_only_the_environment_a_resolution_reads(configured: Settings) -> None:
    """The machine's other variables (credentials, tokens) never go into an artifact."""
    data = pickle.dumps(configured)
    assert MACHINE_SECRET.encode() not in data
    assert b"AWS_SECRET_ACCESS_KEY" not in data
    assert b"METAFLOW_JOB_QUEUE_NAME" in data


def test_an_unpickled_snapshot_reloads_its_files(configured: Settings) -> None:
    """reload() of a copy re-reads the profile, with the environment it was pickled with."""
    back = pickle.loads(pickle.dumps(configured))
    write_json(Path(configured.profile_path), {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://other/mf"})
    fresh = back.reload()
    assert fresh.datatools.s3root == "s3://other/mf/data"
    assert fresh.batch.job_queue == "queue"


def test_the_process_settings_pickle_as_the_snapshot_in_force(configured: Settings) -> None:
    """``settings`` pickles as a plain snapshot: the process one, or the override's."""
    back = pickle.loads(pickle.dumps(settings))
    assert type(back) is Settings
    assert back == current()
    with override(BATCH_JOB_QUEUE="scoped"):
        scoped = pickle.loads(pickle.dumps(settings))
        assert copy.copy(settings) == current()
    assert scoped.batch.job_queue == "scoped"
    assert scoped.source("BATCH_JOB_QUEUE") == "override"


@pytest.mark.parametrize(
    ("name", "section"),
    [("METAFLOW_DATATOOLS_CLIENT_PARAMS", "datatools"), ("METAFLOW_SERVICE_AUTH_KEY", "service")],
)
def test_a_section_holding_a_secret_reference_pickles_without_fetching(
    tmp_path: Path, name: str, section: str
) -> None:
    """A flow storing ``settings.service`` as an artifact, or handing it to a pool's worker:
    with a reference in it, the section's class (made to fetch on read) could not be found by
    pickle. It pickles and comes back equal, its reference unfetched, its reads as before."""
    reference = "{{resolve:ssm:/mf/x}}"
    s = load(env={name: reference}, home=tmp_path, cwd=tmp_path)
    held = getattr(s, section)
    back = pickle.loads(pickle.dumps(held))
    assert type(back) is type(held)
    assert back == held
    assert reference in repr(back)
    assert s._resolution.fetched == {}
    plain = load(env={"METAFLOW_USER": "u"}, home=tmp_path, cwd=tmp_path)
    assert pickle.loads(pickle.dumps(getattr(plain, section))) == getattr(plain, section)
    if section == "service":
        assert back.url == held.url  # a value without a reference reads as it did
