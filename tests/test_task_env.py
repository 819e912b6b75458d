"""The rules of a remote task's environment, target by target, without Metaflow's launchers.

``to_env`` for the Kubernetes targets, the size of one variable, what the hooks leave out
(``metaflow_config._snapshot.taskenv``) and how they encode values for a pod and for Airflow.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from metaflow_config import ConfigError, ConfigWarning, Settings, load, settings
from metaflow_config._metaflow.launch import task_env
from metaflow_config._snapshot.export import REMOTE, check_object_size
from metaflow_config._snapshot.settings import resolution_of
from metaflow_config._snapshot.taskenv import TaskEnv, for_airflow, for_kubernetes

REFERENCE = "{{resolve:ssm:/mf/key}}"


def _task(s: Settings, target: str) -> TaskEnv:
    """The rules of a task of ``target`` given ``s``'s settings."""
    return TaskEnv(resolution_of(s), target)


@pytest.mark.parametrize("target", ["kubernetes", "argo", "airflow"])
def test_kubernetes_targets_export_what_batch_exports(tmp_path: Path, target: str) -> None:
    """Every remote target carries the same variables: set values, the internal service URL."""
    s = load(
        env={
            "METAFLOW_SERVICE_URL": "https://mf.example.com",
            "METAFLOW_SERVICE_INTERNAL_URL": "http://mf.internal",
            "METAFLOW_TEMPDIR": "/home/me/tmp",
            "METAFLOW_S3_RETRY_COUNT": "3",
        },
        home=tmp_path,
        cwd=tmp_path,
    )
    assert s.to_env(target) == s.to_env("batch")
    assert s.to_env(target)["METAFLOW_SERVICE_URL"] == "http://mf.internal"
    assert "METAFLOW_TEMPDIR" not in s.to_env(target)


@pytest.mark.parametrize("target", ["kubernetes", "argo", "airflow"])  # AWS Batch: 8,192 in all
def test_a_variable_no_container_starts_with_is_refused(tmp_path: Path, target: str) -> None:
    """NAME=value of 128 KiB or more (Linux's MAX_ARG_STRLEN) fails at export, value unshown."""
    name = "METAFLOW_KUBERNETES_CONDA_ARCH"
    fits = "y" * (131_071 - len(name) - 2)  # with "=" and the NUL: one byte under the limit
    assert name in load(env={name: fits}, home=tmp_path, cwd=tmp_path).to_env(target)
    s = load(env={name: fits + "y"}, home=tmp_path, cwd=tmp_path)
    with pytest.raises(ConfigError, match=rf"{name} \(env: .*131072 bytes") as info:
        s.to_env(target)
    assert "yyyy" not in str(info.value)
    assert name in s.to_env("local")  # this machine: not a container's limit


def test_what_a_pod_takes_is_escaped_for_kubernetes() -> None:
    """$ is doubled: Kubernetes would expand $(NAME) and read $$ as $."""
    assert for_kubernetes("a$(HOME)b$$c$") == "a$$(HOME)b$$$$c$$"


def test_what_airflow_takes_is_kept_out_of_jinja() -> None:
    """A value holding template syntax is a raw block; one that ends a raw block is refused."""
    assert for_airflow("X", "plain $x") == "plain $$x"
    assert for_airflow("X", REFERENCE) == "{% raw %}" + REFERENCE + "{% endraw %}"
    for end in ("{% endraw %}", "{%- endraw %}", "{%+ endraw %}", "{%endraw%}", "{%\tendraw -%}"):
        with pytest.raises(ConfigError, match="endraw"):  # it would end the block: {{ 7*7 }} ran
            for_airflow("X", "{{resolve:ssm:/a}}" + end + "{{ 7*7 }}{% raw %}")


def test_the_skip_list_and_mounted_secrets_keep_names_out(tmp_path: Path) -> None:
    """ARGO_WORKFLOWS_ENV_VARS_TO_SKIP on Kubernetes targets; secret settings where Kubernetes
    Secrets are mounted; names present stay as they are."""
    s = load(
        env={
            "METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP": "METAFLOW_S3_RETRY_COUNT",
            "METAFLOW_S3_RETRY_COUNT": "3",
            "METAFLOW_SERVICE_AUTH_KEY": "k",
            "METAFLOW_BATCH_JOB_QUEUE": "q",
        },
        home=tmp_path,
        cwd=tmp_path,
    )
    argo = _task(s, "argo")
    assert set(argo.missing(["METAFLOW_BATCH_JOB_QUEUE"])) == {
        "METAFLOW_SERVICE_AUTH_KEY",
        "METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP",
    }
    assert "METAFLOW_SERVICE_AUTH_KEY" not in argo.missing([], mounted=True)
    assert "METAFLOW_S3_RETRY_COUNT" in _task(s, "batch").missing([])  # Batch has no such list


@pytest.mark.parametrize(
    ("env", "replaced"),
    [
        pytest.param({"METAFLOW_SERVICE_AUTH_KEY": "plain"}, (False, None), id="plain-text-stays"),
        pytest.param({"METAFLOW_SERVICE_AUTH_KEY": REFERENCE}, (True, None), id="fetched-key"),
        pytest.param(
            {"METAFLOW_SERVICE_AUTH_KEY": REFERENCE, "METAFLOW_SERVICE_HEADERS": '{"a": "b"}'},
            (True, '{"a":"b"}'),
            id="fetched-key-headers-as-set",
        ),
        pytest.param(
            {"METAFLOW_SERVICE_HEADERS": "{{resolve:ssm:/mf/headers}}"},
            (True, "{{resolve:ssm:/mf/headers}}"),
            id="fetched-headers",
        ),
    ],
)
def test_metaflows_headers_never_carry_a_fetched_secret(
    tmp_path: Path, env: dict[str, str], replaced: tuple[bool, str | None]
) -> None:
    """Where Metaflow's METAFLOW_SERVICE_HEADERS holds a fetched secret, it is replaced by the
    headers as configured (or removed); a plain-text secret stays as Metaflow writes it, but in
    a pod where ARGO_WORKFLOWS_ENV_VARS_TO_SKIP names the headers (a Secret supplies them)."""
    s = load(env=env, home=tmp_path, cwd=tmp_path)
    for target in REMOTE:
        task = _task(s, target)
        assert task.service_headers(["METAFLOW_SERVICE_HEADERS"]) == replaced
        assert task.service_headers([]) == (False, None)  # Metaflow did not write it
    skip = {"METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP": "METAFLOW_SERVICE_HEADERS"}
    s = load(env={**env, **skip}, home=tmp_path, cwd=tmp_path)  # a Kubernetes Secret has them
    for target in ("kubernetes", "argo", "airflow"):  # Metaflow's entry, key and all, removed
        assert _task(s, target).service_headers(["METAFLOW_SERVICE_HEADERS"]) == (
            True,
            None,
        )
    for target in ("batch", "sfn"):  # no pods, no Secrets: the skip list is not theirs
        assert _task(s, target).service_headers(["METAFLOW_SERVICE_HEADERS"]) == replaced


def test_an_object_over_its_platforms_limit_names_the_largest_variables() -> None:
    """The limit, the size and the largest variables added; never a value."""
    check_object_size("Kubernetes job", 100, 100, {"METAFLOW_A": "x"}, "Kubernetes stores")
    with pytest.raises(ConfigError) as info:
        check_object_size(
            "Kubernetes job", 101, 100, {"METAFLOW_A": "secret-a", "METAFLOW_B": "b"}, "it stores"
        )
    text = str(info.value)
    assert "101 bytes" in text
    assert "at most 100 bytes" in text
    assert "METAFLOW_A (" in text
    assert "secret-a" not in text


class _Client:
    """What ``KubernetesJob._client.get()`` gives: the kubernetes client module, here a stub."""

    class ApiClient:
        def sanitize_for_serialization(self, body: object) -> object:
            return body

    def get(self) -> _Client:
        return self


class _Job:
    """A ``KubernetesJob`` builder as the hook sees it: its kwargs, and create() building it."""

    def __init__(self, command: str) -> None:
        self._kwargs: dict[str, object] = {"environment_variables": {"METAFLOW_RUN_ID": "1"}}
        self._client = _Client()
        self._command = command
        self._job: object = None

    def environment_variable(self, name: str, value: str) -> _Job:
        env = self._kwargs["environment_variables"]
        assert isinstance(env, dict)
        env[name] = value
        return self

    def create(self) -> _Job:
        self._job = {"spec": {"command": self._command, "env": self._kwargs}}
        return self


def test_a_kubernetes_job_over_its_limit_is_refused_when_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Job's JSON over 1.5 MiB: create() raises the error (as Metaflow prints it: here the
    ConfigError itself, Metaflow not imported), naming the limit."""
    from metaflow_config._metaflow import kubernetes

    monkeypatch.setattr(kubernetes, "as_metaflow_error", lambda exc: exc)
    monkeypatch.setenv("METAFLOW_S3_RETRY_COUNT", "3")
    settings.reload()
    small = _Job("python flow.py step start")
    kubernetes._fill_job(small)
    assert small.create() is small
    assert small._kwargs["environment_variables"] == {
        "METAFLOW_RUN_ID": "1",
        "METAFLOW_S3_RETRY_COUNT": "3",
        "METAFLOW_USER": small._kwargs["environment_variables"]["METAFLOW_USER"],  # type: ignore[index]
    }
    big = _Job("x" * 1_600_000)
    kubernetes._fill_job(big)
    with pytest.raises(ConfigError, match=r"Kubernetes job: got \d+ bytes.*1572864"):
        big.create()


def test_what_metaflows_module_holds_decides_what_the_pods_are_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An organisation's config extension may set the Secrets the pods mount and the names they
    skip in Metaflow's module, which its launchers read: a launch goes by those (the auth key is
    left to the Secret, Metaflow's headers entry removed), not by the snapshot alone."""
    import sys
    import types

    s = load(env={"METAFLOW_SERVICE_AUTH_KEY": "plain"}, home=tmp_path, cwd=tmp_path)
    module = types.ModuleType("metaflow.metaflow_config")
    module.KUBERNETES_SECRETS = "acme-secrets"  # type: ignore[attr-defined]
    module.ARGO_WORKFLOWS_ENV_VARS_TO_SKIP = "METAFLOW_SERVICE_HEADERS"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "metaflow.metaflow_config", module)
    for target in ("kubernetes", "airflow"):
        assert _task(s, target).mounted_secrets == ()  # the snapshot alone: nothing mounted
        with monkeypatch.context() as m:
            m.setattr("metaflow_config._scope.current", lambda: s)
            m.delenv("METAFLOW_CONFIG_WARNED", raising=False)
            with pytest.warns(ConfigWarning, match="not given to the pods"):
                task = task_env(target)
        assert task.mounted_secrets == ("acme-secrets",)
        assert "METAFLOW_SERVICE_AUTH_KEY" in task.left_out(mounted=True)
        assert task.service_headers(["METAFLOW_SERVICE_HEADERS"]) == (True, None)
    monkeypatch.delitem(sys.modules, "metaflow.metaflow_config")
    with monkeypatch.context() as m:
        m.setattr("metaflow_config._scope.current", lambda: s)
        assert task_env("kubernetes").mounted_secrets == ()  # no Metaflow: the snapshot


class _BatchJob:
    """Metaflow's ``BatchJob`` builder as the hook sees it: its container overrides' list."""

    def __init__(self, entries: list[dict[str, str]]) -> None:
        self.payload = {"containerOverrides": {"environment": entries}}

    def environment_variable(self, name: str, value: str) -> _BatchJob:
        self.payload["containerOverrides"]["environment"].append({"name": name, "value": value})
        return self

    def values_of(self, name: str) -> list[str]:
        entries = self.payload["containerOverrides"]["environment"]
        return [e["value"] for e in entries if e["name"] == name]


@pytest.mark.parametrize("target", ["batch", "sfn"])
@pytest.mark.parametrize("steps", [True, False], ids=["step-sets-headers", "metaflows-only"])
def test_a_steps_own_headers_stay_where_metaflows_fetched_ones_go(
    monkeypatch: pytest.MonkeyPatch, target: str, steps: bool
) -> None:
    """Where the auth key is a secret reference, Metaflow's own METAFLOW_SERVICE_HEADERS (the
    fetched key merged in) is taken out; a step's ``@environment`` entry of the same name (which
    Metaflow writes after its own) keeps its value, as without the extension; without one, the
    headers as configured go in. A second pass over the same job changes nothing."""
    import json
    import sys
    import types

    from metaflow_config._metaflow.batch import fill_environment

    monkeypatch.setenv("METAFLOW_SERVICE_AUTH_KEY", REFERENCE)
    monkeypatch.setenv("METAFLOW_SERVICE_HEADERS", '{"x-team": "ml"}')
    settings.reload()
    fetched = {"x-team": "ml", "x-api-key": "FETCHED-SECRET"}
    module = types.SimpleNamespace(SERVICE_HEADERS=fetched)  # Metaflow's, the key fetched
    monkeypatch.setitem(sys.modules, "metaflow.metaflow_config", module)
    step = '{"X-Step-Header": "step-value"}'
    entries = [{"name": "METAFLOW_SERVICE_HEADERS", "value": json.dumps(fetched)}]
    if steps:
        entries.append({"name": "METAFLOW_SERVICE_HEADERS", "value": step})
    job = _BatchJob(entries)
    for _ in range(2):
        fill_environment(job, target)
        headers = job.values_of("METAFLOW_SERVICE_HEADERS")
        assert headers == ([step] if steps else ['{"x-team":"ml"}'])  # as to_env writes it
        assert job.values_of("METAFLOW_SERVICE_AUTH_KEY") == [REFERENCE]  # fetched in the task
        assert "FETCHED-SECRET" not in json.dumps(job.payload)


def test_a_job_with_batch_submits_is_held_to_aws_batchs_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``--with batch``: the job's whole container overrides over 8,192 characters are refused
    when it is built, as AWS Batch would refuse it when it starts; a state machine's task is
    said as Step Functions' once complete (its own wording), not as a direct job's."""
    from metaflow_config._metaflow import batch

    monkeypatch.setattr(batch, "as_metaflow_error", lambda exc: exc)
    monkeypatch.delitem(__import__("sys").modules, "metaflow.metaflow_config", raising=False)
    settings.reload()

    def built(command: str) -> _BatchJob:
        job = _BatchJob([{"name": "METAFLOW_RUN_ID", "value": "1"}])
        job.payload["containerOverrides"]["command"] = ["bash", "-c", command]
        return job

    def create(original_job: _BatchJob) -> object:
        return batch.create_job(lambda self: original_job, None)

    create(built("python flow.py step start"))
    with pytest.raises(ConfigError, match="container overrides for AWS Batch: got"):
        create(built("c" * 9000))
    with pytest.raises(ConfigError, match="container overrides for Step Functions: got"):
        batch.state_machine_task(lambda self, node: create(built("c" * 9000)), None, None)


class _Machine:
    """A state machine as Metaflow's ``Workflow`` holds it: a payload, written as JSON."""

    def __init__(self, states: int, own: int, added: dict[str, str]) -> None:
        entries = [{"Name": "METAFLOW_OWN", "Value": "o" * own}]
        entries += [{"Name": name, "Value": value} for name, value in added.items()]
        overrides = {"ContainerOverrides": {"Environment": entries}}
        self.payload = {"States": {f"s{i}": {"Parameters": overrides} for i in range(states)}}

    def to_json(self, pretty: bool = False) -> str:
        import json

        return json.dumps(self.payload, indent=4 if pretty else None)


@pytest.mark.parametrize(
    ("own", "said"),
    [
        (1000, "largest variables added: METAFLOW_CONTACT_INFO"),  # what is given passes it
        (9000, "of which Metaflow's own states take"),  # Metaflow alone passes it too
    ],
)
def test_a_state_machine_is_held_to_step_functions_definition_limit(
    monkeypatch: pytest.MonkeyPatch, own: int, said: str
) -> None:
    """Every state carries what it is given: a definition over Step Functions' 1 MiB is refused
    as the state machine is compiled, naming the largest variables given here; where the
    flow's own states pass it, it says so and names no variable as the cause."""
    from metaflow_config._metaflow import batch

    monkeypatch.setattr(batch, "as_metaflow_error", lambda exc: exc)
    given = {"METAFLOW_CONTACT_INFO": "c" * 3000, "METAFLOW_BATCH_JOB_QUEUE": "q"}

    def compile_(self: object, states: int) -> _Machine:
        added = batch._ADDED.get()
        assert added is not None  # each state's task adds to it
        added.update(given)
        return _Machine(states, own, given)

    small = batch.state_machine(compile_, None, 10)
    assert isinstance(small, _Machine)
    with pytest.raises(ConfigError, match="Step Functions state machine definition") as raised:
        batch.state_machine(compile_, None, 260)
    message = str(raised.value)
    assert said in message
    assert "1048576" in message
    assert "ccc" not in message
    assert batch._ADDED.get() is None  # nothing collected past the compilation


def _launched(
    monkeypatch: pytest.MonkeyPatch, target: str, launches: int = 1, **env: str
) -> tuple[list[str], TaskEnv]:
    """What ``launches`` launches of ``target`` say (the ConfigWarnings), with ``env`` set.

    As a launcher's process first launches: nothing said yet in its process tree, no Metaflow
    module to take values from, the settings read again. Also the last launch's rules.
    """
    import sys
    import warnings

    monkeypatch.delitem(sys.modules, "metaflow.metaflow_config", raising=False)
    monkeypatch.delenv("METAFLOW_CONFIG_WARNED", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings.reload()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tasks = [task_env(target) for _ in range(launches)]
    return [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)], tasks[-1]


@pytest.mark.parametrize("target", ["batch", "sfn", "kubernetes", "argo", "airflow"])
def test_a_secret_metaflow_would_not_write_is_warned_about_once_at_launch(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """A secret given to the tasks as text that Metaflow alone writes nowhere (the datatools
    client's keys) is said once per process tree at launch, with where it goes and what keeps
    it out, never its value; a reference, or the auth key Metaflow writes itself, is not."""
    said, _ = _launched(
        monkeypatch,
        target,
        2,  # every step of the launch: said once
        METAFLOW_SERVICE_AUTH_KEY="plain-key",  # Metaflow writes it anyway
        METAFLOW_DATATOOLS_SESSION_VARS=REFERENCE,  # the task fetches it
        METAFLOW_DATATOOLS_CLIENT_PARAMS='{"aws_secret_access_key": "S3KR1T"}',
    )
    assert len(said) == 1, said
    assert said[0].startswith("METAFLOW_DATATOOLS_CLIENT_PARAMS is secret, and written as text")
    assert "SERVICE_AUTH_KEY" not in said[0]
    assert ("Kubernetes Secret" if target == "argo" else "{{resolve:") in said[0]
    assert "S3KR1T" not in said[0]
    caught, _ = _launched(monkeypatch, target, METAFLOW_DATATOOLS_CLIENT_PARAMS=REFERENCE)
    assert not caught


@pytest.mark.parametrize("target", ["batch", "sfn", "kubernetes", "argo", "airflow"])
def test_a_url_password_metaflow_would_not_write_is_warned_about_at_launch(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """A URL's password (or a token as its user) in a setting no secret, which Metaflow alone
    writes into no task (the UI's URL), goes to the tasks because the whole resolution travels:
    said once at launch, masked; one in a URL Metaflow writes itself (the service's) is not."""
    said, _ = _launched(
        monkeypatch,
        target,
        2,
        METAFLOW_UI_URL="https://admin:HUNTER2@ui.example.com/",
        METAFLOW_ARGO_WORKFLOWS_UI_URL="https://TOKEN9@argo.example.com/",
        METAFLOW_SERVICE_URL="https://svc:PW7@mf.example.com/api",  # Metaflow writes it anyway
    )
    assert len(said) == 1, said
    urls = (
        "METAFLOW_UI_URL"
        if target in ("batch", "sfn")  # the Argo UI's URL stays behind on Batch
        else "METAFLOW_UI_URL, METAFLOW_ARGO_WORKFLOWS_UI_URL"
    )
    assert said[0].startswith(f"{urls} hold")
    assert "a URL's password, written as text" in said[0]
    assert "take the password out of the URL" in said[0]
    assert "SERVICE_URL" not in said[0]
    assert not {"HUNTER2", "TOKEN9", "PW7"} & set(re.findall(r"\w+", said[0]))


@pytest.mark.parametrize(
    ("target", "warned"),
    [
        ("batch", True),  # batch.py writes no Azure endpoint
        ("sfn", True),
        ("kubernetes", False),  # kubernetes.py writes it into every pod
        ("airflow", False),
    ],
)
def test_what_metaflow_writes_itself_is_told_by_target(
    monkeypatch: pytest.MonkeyPatch, target: str, warned: bool
) -> None:
    """A URL password in a setting Metaflow writes into some targets' tasks and not others'
    (the Azure blob endpoint: pods, not Batch jobs) is warned about where Metaflow alone would
    not write it."""
    said, _ = _launched(
        monkeypatch,
        target,
        METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT="https://acct:PW7@blob.example.com/",
    )
    assert bool(said) == warned, said
    assert not any("PW7" in text for text in said)


def test_a_launch_warning_is_not_hidden_by_metaflows_ignore_everything_filter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Metaflow's command line runs ``warnings.filterwarnings("ignore")`` before any launcher:
    the warning of a secret written as text is still shown (and only then counted as shown);
    a filter naming ConfigWarning still silences it."""
    import sys
    import warnings

    from metaflow_config import ConfigWarning

    monkeypatch.delitem(sys.modules, "metaflow.metaflow_config", raising=False)
    monkeypatch.setenv("METAFLOW_DATATOOLS_CLIENT_PARAMS", '{"aws_secret_access_key": "S3KR1T"}')
    settings.reload()
    for silenced in (False, True):
        monkeypatch.delenv("METAFLOW_CONFIG_WARNED", raising=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")  # a process's defaults (not this suite's "error")
            warnings.filterwarnings("ignore")  # as metaflow.cli.main does
            if silenced:
                warnings.filterwarnings("ignore", category=ConfigWarning)
            task_env("sfn")
        said = " ".join(str(w.message) for w in caught)
        if silenced:
            assert "written as text" not in said
        else:
            assert "METAFLOW_DATATOOLS_CLIENT_PARAMS is secret, and written as text" in said
            assert "S3KR1T" not in said


@pytest.mark.parametrize("target", ["kubernetes", "argo", "airflow"])
def test_secrets_left_to_a_mounted_kubernetes_secret_are_said_at_launch(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """Pods that mount a Kubernetes Secret are not given the secret settings (the Secret's would
    be overwritten): the launch says which, once, and that the Secret must hold them; what
    ARGO_WORKFLOWS_ENV_VARS_TO_SKIP lists is the user's own saying, and not repeated."""
    said, _ = _launched(
        monkeypatch,
        target,
        2,
        METAFLOW_KUBERNETES_SECRETS="mf-creds",
        METAFLOW_DATATOOLS_CLIENT_PARAMS='{"aws_secret_access_key": "S3KR1T"}',
        METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP="METAFLOW_SERVICE_AUTH_KEY",
        METAFLOW_SERVICE_AUTH_KEY="plain-key",
    )
    assert said == [
        f"METAFLOW_DATATOOLS_CLIENT_PARAMS is set here and not given to the pods ({target}): left "
        "to the Kubernetes Secrets they mount (mf-creds), which must hold it for a task to "
        f"resolve what this machine resolves (`metaflow-config show --target {target}` lists "
        "what a task resolves)"
    ]
    monkeypatch.delenv("METAFLOW_KUBERNETES_SECRETS")
    caught, _ = _launched(monkeypatch, target)
    assert not any("not given to the pods" in text for text in caught)


def test_the_auth_key_metaflows_headers_carry_is_not_said_to_be_left_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Metaflow writes its headers, the auth key merged in, into every pod, whatever Secrets it
    mounts: the key reaches the pods, and the note does not say otherwise (exposed_secrets and
    show --target say where it is)."""
    caught, task = _launched(
        monkeypatch,
        "argo",
        METAFLOW_KUBERNETES_SECRETS="mf-creds",
        METAFLOW_SERVICE_AUTH_KEY="plain-key",
        METAFLOW_DATATOOLS_CLIENT_PARAMS='{"region_name": "us-east-1"}',
    )
    assert task.left_to_secrets() == ["METAFLOW_DATATOOLS_CLIENT_PARAMS"]
    said = [text for text in caught if "not given to the pods" in text]
    assert len(said) == 1
    assert "SERVICE_AUTH_KEY" not in said[0]


def test_an_override_at_a_launch_apart_from_metaflows_module_is_said(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Metaflow builds what it submits from its own module, read at import; an ``override()``
    in force at a launch that differs from it is said once (naming what differs), since the
    tasks are given the override's values. Outside the scope, or agreeing, nothing is said."""
    import sys
    import types
    import warnings

    from metaflow_config import ConfigWarning, compat, override

    monkeypatch.delenv("METAFLOW_CONFIG_WARNED", raising=False)
    monkeypatch.setenv("METAFLOW_KUBERNETES_SERVICE_ACCOUNT", "mf-sa")
    settings.reload()
    module = types.SimpleNamespace(**compat.module_values(settings))  # as imported
    monkeypatch.setitem(sys.modules, "metaflow.metaflow_config", module)

    def said(**values: str) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if values:
                with override(**values):
                    task_env("kubernetes")
            else:
                task_env("kubernetes")
        return [str(w.message) for w in caught if issubclass(w.category, ConfigWarning)]

    assert said() == []
    assert said(KUBERNETES_SERVICE_ACCOUNT="mf-sa") == []  # the same: nothing apart
    (text,) = said(KUBERNETES_SERVICE_ACCOUNT="ovr-sa")
    assert "an override() is in force at this launch (kubernetes)" in text
    assert "(KUBERNETES_SERVICE_ACCOUNT)" in text
    assert "ovr-sa" not in text


def test_a_runner_or_deployer_made_inside_an_override_is_given_the_scope() -> None:
    """``Runner(...)`` and a ``Deployer``'s implementation take ``env`` (and ``profile``): made
    inside an ``override()``, their flow's processes are given what the scope resolved, under
    what the caller passes itself (positionally too); outside any scope nothing changes."""
    from metaflow_config import override
    from metaflow_config._metaflow.launch import in_scope

    def made(
        api: object,
        flow: str,
        show: bool = True,
        profile: str | None = None,
        env: dict[str, str] | None = None,
        **kwargs: object,
    ) -> dict[str, str] | None:
        return env

    assert in_scope(made, object(), "flow.py") is None
    assert in_scope(made, object(), "flow.py", env={"A": "1"}) == {"A": "1"}
    with override(BATCH_JOB_QUEUE="scoped", SFN_IAM_ROLE="arn:aws:iam::123456789012:role/r"):
        given = in_scope(made, object(), "flow.py")
        assert given is not None
        assert given["METAFLOW_BATCH_JOB_QUEUE"] == "scoped"
        assert given["METAFLOW_HOME"] == settings.home
        mine = in_scope(made, object(), "flow.py", True, None, {"METAFLOW_BATCH_JOB_QUEUE": "x"})
        assert mine is not None
        assert mine["METAFLOW_BATCH_JOB_QUEUE"] == "x"  # the caller's own wins
        assert mine["METAFLOW_SFN_IAM_ROLE"].endswith(":role/r")


def test_what_a_scope_leaves_out_stays_out_of_a_runners_flow(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Runner lays its ``env`` over ``os.environ``: a scope that replaced the environment, or
    chose the default profile over ``$METAFLOW_PROFILE``, gives the variables it left out as
    ``""`` (unset), so the flow does not read them again; ``child_env()`` alike. A value
    derived from this working directory is left to the Runner's own."""
    from metaflow_config import override
    from metaflow_config._metaflow.launch import in_scope
    from metaflow_config.testing import child_env

    def made(api: object, flow: str, env: dict[str, str] | None = None) -> dict[str, str] | None:
        return env

    home = tmp_path / "home"
    (home).mkdir()
    (home / "config_staging.json").write_text('{"METAFLOW_DATATOOLS_SUFFIX": "staging-data"}')
    monkeypatch.setenv("METAFLOW_HOME", str(home))
    monkeypatch.setenv("METAFLOW_PROFILE", "staging")
    monkeypatch.setenv("METAFLOW_BATCH_JOB_QUEUE", "from-the-process")
    with override(env={"METAFLOW_HOME": str(home)}):
        given = in_scope(made, object(), "flow.py")
        assert given is not None
        assert given["METAFLOW_BATCH_JOB_QUEUE"] == ""
        assert given["METAFLOW_PROFILE"] == ""
        assert "METAFLOW_ARTIFACT_LOCALROOT" not in given  # derived where the flow runs
        child = child_env()
        assert child["METAFLOW_BATCH_JOB_QUEUE"] == ""
        assert child["METAFLOW_PROFILE"] == ""
    with override(profile=""):
        given = in_scope(made, object(), "flow.py")
        assert given is not None
        assert given["METAFLOW_PROFILE"] == ""
        assert given["METAFLOW_BATCH_JOB_QUEUE"] == "from-the-process"


def test_what_metaflow_writes_names_only_settings_of_the_table() -> None:
    """``METAFLOW_WRITES`` refers to the table's settings (read off Metaflow's launchers): a name
    the table does not declare would be a typo that silently warns of nothing."""
    from metaflow_config._model.table import BY_ENV
    from metaflow_config._snapshot.export import REMOTE
    from metaflow_config._snapshot.taskenv import METAFLOW_WRITES

    assert set(METAFLOW_WRITES) == set(REMOTE)
    for target, names in METAFLOW_WRITES.items():
        assert names <= BY_ENV.keys(), (target, sorted(names - BY_ENV.keys()))
