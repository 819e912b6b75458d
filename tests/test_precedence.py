"""Precedence: one test per adjacent pair of layers, and derived defaults following their base."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaflow_config import load, override, settings
from metaflow_config.testing import trust
from tests.conftest import write_json

Q = "METAFLOW_BATCH_JOB_QUEUE"
ROOT = "METAFLOW_DATASTORE_SYSROOT_S3"


def _home(tmp_path: Path, data: dict[str, object], name: str = "config.json") -> Path:
    home = tmp_path / "home"
    write_json(home / name, data)
    return home


def _project(tmp_path: Path, data: dict[str, object]) -> Path:
    """A project directory with .metaflow/config.json, and a nested working directory in it.

    The file is trusted by the home of :func:`_home` (the user's own project: every key applies;
    ``tests/test_trust.py`` has the untrusted ones).
    """
    root = tmp_path / "project"
    write_json(root / ".metaflow" / "config.json", data)
    trust(tmp_path / "home", root / ".metaflow" / "config.json")
    cwd = root / "src" / "flows"
    cwd.mkdir(parents=True)
    return cwd


def test_default_when_nothing_is_set(tmp_path: Path) -> None:
    """With no configuration at all every setting has its default: local mode."""
    s = load(env={}, home=tmp_path, cwd=tmp_path)
    assert s.defaults.datastore == "local"
    assert s.batch.job_queue is None
    assert s.explain(Q).source == "default"


def test_derived_beats_default(tmp_path: Path) -> None:
    """A derived default replaces the built-in default (None) once its base is set."""
    s = load(env={ROOT: "s3://bucket/mf"}, home=tmp_path, cwd=tmp_path)
    info = s.explain("METAFLOW_DATATOOLS_S3ROOT")
    assert (info.value, info.source) == ("s3://bucket/mf/data", "derived")
    assert ROOT in info.location


def test_profile_beats_derived(tmp_path: Path) -> None:
    """A value set in the profile beats the value derived from the sysroot."""
    home = _home(tmp_path, {ROOT: "s3://bucket/mf", "METAFLOW_DATATOOLS_S3ROOT": "s3://other/d"})
    s = load(env={}, home=home, cwd=tmp_path)
    assert s.datatools.s3root == "s3://other/d"
    assert s.explain("METAFLOW_DATATOOLS_S3ROOT").source == "profile"


def test_local_beats_profile(tmp_path: Path) -> None:
    """The project's .metaflow/config.json, found walking up from cwd, beats the profile."""
    home = _home(tmp_path, {Q: "from-profile"})
    cwd = _project(tmp_path, {Q: "from-local"})
    s = load(env={}, home=home, cwd=cwd)
    info = s.explain(Q)
    assert (info.value, info.source) == ("from-local", "local")
    assert info.location.endswith(".metaflow/config.json:" + Q)
    assert [(x.source, x.value) for x in info.shadowed] == [("profile", "'from-profile'")]


def test_env_beats_local(tmp_path: Path) -> None:
    """An environment variable beats the local config and the profile."""
    home = _home(tmp_path, {Q: "from-profile"})
    cwd = _project(tmp_path, {Q: "from-local"})
    s = load(env={Q: "from-env"}, home=home, cwd=cwd)
    info = s.explain(Q)
    assert (info.value, info.source, info.location) == ("from-env", "env", Q)
    assert [x.source for x in info.shadowed] == ["profile", "local"]


def test_override_beats_env(tmp_path: Path) -> None:
    """Values injected by code beat the environment."""
    s = load(env={Q: "from-env"}, home=tmp_path, cwd=tmp_path, overrides={"BATCH_JOB_QUEUE": "o"})
    assert s.explain(Q).source == "override"
    assert s.batch.job_queue == "o"


def test_override_context_beats_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """override() beats METAFLOW_* in os.environ for the process-wide settings."""
    monkeypatch.setenv(Q, "from-env")
    assert settings.batch.job_queue == "from-env"
    with override(BATCH_JOB_QUEUE="from-code"):
        assert settings.batch.job_queue == "from-code"
    assert settings.batch.job_queue == "from-env"


def test_named_profile_reads_its_own_file(tmp_path: Path) -> None:
    """METAFLOW_PROFILE selects config_<profile>.json instead of config.json."""
    home = _home(tmp_path, {Q: "default-q"})
    write_json(home / "config_prod.json", {Q: "prod-q"})
    assert load(env={}, home=home, cwd=tmp_path).batch.job_queue == "default-q"
    prod = load(env={"METAFLOW_PROFILE": "prod"}, home=home, cwd=tmp_path)
    assert prod.batch.job_queue == "prod-q"
    assert prod.profile == "prod"
    assert prod.profile_path == str(home / "config_prod.json")


def test_metaflow_home_from_env(tmp_path: Path) -> None:
    """METAFLOW_HOME in the given env selects the home directory."""
    home = _home(tmp_path, {Q: "q"})
    s = load(env={"METAFLOW_HOME": str(home)}, cwd=tmp_path)
    assert s.batch.job_queue == "q"
    assert s.home == str(home)


def test_alias_is_read_below_the_real_name(tmp_path: Path) -> None:
    """METAFLOW_JOB_QUEUE_NAME (seed 000) sets the job queue, but the real name wins."""
    s = load(env={"METAFLOW_JOB_QUEUE_NAME": "alias-q"}, home=tmp_path, cwd=tmp_path)
    assert s.batch.job_queue == "alias-q"
    assert s.explain(Q).location == "METAFLOW_JOB_QUEUE_NAME"
    both = load(env={"METAFLOW_JOB_QUEUE_NAME": "alias-q", Q: "real-q"}, home=tmp_path)
    assert both.batch.job_queue == "real-q"


def test_empty_env_var_means_unset(tmp_path: Path) -> None:
    """An empty METAFLOW_* variable is not set: the lower layer applies."""
    home = _home(tmp_path, {Q: "from-profile"})
    s = load(env={Q: ""}, home=home, cwd=tmp_path)
    assert s.batch.job_queue == "from-profile"


def test_null_in_a_file_means_unset(tmp_path: Path) -> None:
    """JSON null in a higher file leaves the lower layer's value in force."""
    home = _home(tmp_path, {Q: "from-profile"})
    cwd = _project(tmp_path, {Q: None})
    assert load(env={}, home=home, cwd=cwd).batch.job_queue == "from-profile"


@pytest.mark.parametrize(
    ("profile_root", "env_root", "expected"),
    [
        pytest.param("s3://prof/a", None, "s3://prof/a/data", id="sysroot-in-profile"),
        pytest.param(None, "s3://envb/b", "s3://envb/b/data", id="sysroot-in-env"),
        pytest.param("s3://prof/a", "s3://envb/b", "s3://envb/b/data", id="env-sysroot-wins"),
        pytest.param("s3://prof/a/", None, "s3://prof/a/data", id="trailing-slash-joined-once"),
    ],
)
def test_derived_follows_resolved_base(
    tmp_path: Path, profile_root: str | None, env_root: str | None, expected: str
) -> None:
    """DATATOOLS_S3ROOT derives from whichever layer's sysroot won, joined as a URL."""
    home = _home(tmp_path, {ROOT: profile_root} if profile_root else {})
    env = {ROOT: env_root} if env_root else {}
    s = load(env=env, home=home, cwd=tmp_path)
    assert s.datatools.s3root == expected
    assert s.cards.s3root == expected.rsplit("/", 1)[0] + "/mf.cards"


@pytest.mark.parametrize("layer", ["profile", "local", "env", "override"])
def test_explicit_value_in_any_layer_beats_derived(tmp_path: Path, layer: str) -> None:
    """An explicit DATATOOLS_S3ROOT in any layer wins over the value derived from the sysroot."""
    explicit = {"METAFLOW_DATATOOLS_S3ROOT": "s3://explicit/d"}
    home = _home(tmp_path, {ROOT: "s3://bucket/mf", **(explicit if layer == "profile" else {})})
    cwd = _project(tmp_path, explicit if layer == "local" else {})
    env = explicit if layer == "env" else {}
    overrides = explicit if layer == "override" else {}
    s = load(env=env, home=home, cwd=cwd, overrides=overrides)
    assert s.datatools.s3root == "s3://explicit/d"
    assert s.explain("METAFLOW_DATATOOLS_S3ROOT").source == layer


def test_every_derived_setting_from_design(tmp_path: Path) -> None:
    """The derived set of design section 3 derives from the resolved values."""
    env = {
        ROOT: "s3://bucket/mf",
        "METAFLOW_DATASTORE_SYSROOT_AZURE": "container/mf",
        "METAFLOW_DATASTORE_SYSROOT_GS": "gs://gbucket/mf",
        "METAFLOW_DATASTORE_SYSROOT_LOCAL": "/srv/mf",
        "METAFLOW_SERVICE_URL": "https://md.example.com",
        "METAFLOW_DEFAULT_CONTAINER_IMAGE": "img:1",
        "METAFLOW_DEFAULT_CONTAINER_REGISTRY": "reg.example.com",
        "METAFLOW_CLIENT_CACHE_MAX_FLOWDATASTORE_COUNT": "7",
        "METAFLOW_KUBERNETES_NAMESPACE": "ml",
        "METAFLOW_ARGO_EVENTS_WEBHOOK_URL": "https://hook.example.com",
        "USER": "alice",
    }
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    assert s.datatools.s3root == "s3://bucket/mf/data"
    assert s.cards.s3root == "s3://bucket/mf/mf.cards"
    assert s.conda.package_s3root == "s3://bucket/mf/conda"
    assert s.sfn.s3_distributed_map_output_path == "s3://bucket/mf/sfn_distributed_map_output"
    assert s.datatools.azureroot == "container/mf/data"
    assert s.cards.azureroot == "container/mf/mf.cards"
    assert s.datatools.gsroot == "gs://gbucket/mf/data"
    assert s.cards.gsroot == "gs://gbucket/mf/mf.cards"
    assert s.datatools.localroot == "/srv/mf/data"
    assert s.service.internal_url == "https://md.example.com"
    assert (s.batch.container_image, s.batch.container_registry) == ("img:1", "reg.example.com")
    assert s.kubernetes.container_image == "img:1"
    assert s.kubernetes.container_registry == "reg.example.com"
    assert s.client_cache.max_taskdatastore_count == 700
    assert s.argo.events_sensor_namespace == "ml"
    assert s.argo.events_internal_webhook_url == "https://hook.example.com"
    assert s.runtime.user == "alice"
    assert s.runtime.artifact_localroot == str(tmp_path)


@pytest.mark.parametrize(
    ("env", "expected", "location"),
    [
        pytest.param(
            {"METAFLOW_USER": "m", "SUDO_USER": "s", "USER": "u"},
            "m",
            "METAFLOW_USER",
            id="metaflow-user-first",
        ),
        pytest.param(
            {"SUDO_USER": "s", "USERNAME": "n", "USER": "u"}, "s", "SUDO_USER", id="sudo-user"
        ),
        pytest.param({"USERNAME": "n", "USER": "u"}, "n", "USERNAME", id="username"),
        pytest.param({"SUDO_USER": "root", "USER": "u"}, "u", "USER", id="root-skipped"),
        pytest.param({}, None, "", id="nobody"),
    ],
)
def test_user_fallback_chain(
    tmp_path: Path, env: dict[str, str], expected: str | None, location: str
) -> None:
    """USER: METAFLOW_USER > SUDO_USER > USERNAME > USER, skipping root."""
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    assert s.runtime.user == expected
    if expected is not None:
        assert s.explain("METAFLOW_USER").location == location


def test_headers_combine_without_mutation(tmp_path: Path) -> None:
    """effective_headers adds x-api-key in a new dict; SERVICE_HEADERS stays as configured."""
    env = {"METAFLOW_SERVICE_HEADERS": '{"a": "b"}', "METAFLOW_SERVICE_AUTH_KEY": "k"}
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    assert s.service.headers == {"a": "b"}
    eff = s.service.effective_headers
    assert eff == {"a": "b", "x-api-key": "k"}
    eff["x"] = "y"
    assert s.service.effective_headers == {"a": "b", "x-api-key": "k"}


@pytest.mark.parametrize(
    ("verify", "expected"),
    [
        pytest.param("false", False, id="false-word"),
        pytest.param("YES", True, id="yes-word"),
        pytest.param("/etc/ssl/ca.pem", "/etc/ssl/ca.pem", id="ca-bundle"),
    ],
)
def test_verify_certificate_bool_or_path(tmp_path: Path, verify: str, expected: object) -> None:
    """S3_VERIFY_CERTIFICATE is a boolean or a CA bundle path, and reaches the client params."""
    env = {
        "METAFLOW_S3_VERIFY_CERTIFICATE": verify,
        "METAFLOW_S3_ENDPOINT_URL": "http://minio:9000",
    }
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    assert s.s3.verify_certificate == expected
    assert s.datatools.client_params == {"endpoint_url": "http://minio:9000", "verify": expected}


def test_client_params_keep_explicit_endpoint(tmp_path: Path) -> None:
    """An endpoint_url in DATATOOLS_CLIENT_PARAMS beats S3_ENDPOINT_URL (Metaflow's setdefault)."""
    env = {
        "METAFLOW_DATATOOLS_CLIENT_PARAMS": '{"endpoint_url": "http://other"}',
        "METAFLOW_S3_ENDPOINT_URL": "http://minio:9000",
    }
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    assert s.datatools.client_params == {"endpoint_url": "http://other"}
