"""``show --target`` and ``explain --target``: what a remote task resolves, beside this machine."""

from __future__ import annotations

import json

import pytest

from tests.conftest import invoke

SECRET = "k-0123456789abcdef"
ENV = {
    "METAFLOW_SERVICE_URL": "https://mf.example.com",
    "METAFLOW_SERVICE_INTERNAL_URL": "http://localhost:8080",
    "METAFLOW_TEMPDIR": "/home/me/tmp",
    "METAFLOW_S3_RETRY_COUNT": "3",
    "METAFLOW_SERVICE_AUTH_KEY": SECRET,
    "USER": "me",
}


def _rows(text: str) -> dict[str, str]:
    return {line.split()[0]: line for line in text.splitlines() if line.startswith("METAFLOW_")}


def test_show_target_marks_what_differs_and_what_points_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each value as the task gets it: Metaflow's own, the internal URL, what stays behind, a
    URL at this machine; what travels unchanged is not noted; a secret stays masked."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    result = invoke("show", "--target", "argo")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert "argo-workflows" in rows["METAFLOW_USER"]
    assert "Metaflow sets it on argo; here: me" in rows["METAFLOW_USER"]
    assert "the internal service URL; here: https://mf.example.com" in rows["METAFLOW_SERVICE_URL"]
    assert "points at this machine" in rows["METAFLOW_SERVICE_INTERNAL_URL"]
    assert "stays behind; here: /home/me/tmp" in rows["METAFLOW_TEMPDIR"]
    assert rows["METAFLOW_S3_RETRY_COUNT"].split() == ["METAFLOW_S3_RETRY_COUNT", "3", "travels"]
    assert SECRET not in result.output
    assert "travels" in rows["METAFLOW_SERVICE_AUTH_KEY"]


@pytest.mark.parametrize("target", ["batch", "sfn"])
def test_a_batch_task_is_given_the_s3_datastore_by_metaflow(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """Metaflow writes ``METAFLOW_DEFAULT_DATASTORE=s3`` into every Batch job (``batch.py``),
    whatever the launcher's default: the task's row says so, not this machine's ``local``."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("METAFLOW_DEFAULT_DATASTORE", raising=False)
    rows = _rows(invoke("show", "--target", target, "--all").stdout)
    row = rows["METAFLOW_DEFAULT_DATASTORE"]
    assert row.split()[1:3] == ["s3", "metaflow"], row
    assert f"Metaflow sets it on {target}; here: local" in row


def test_show_target_json_and_the_metadata_airflow_tasks_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--json lists the same rows; an Airflow task always records to the metadata service."""
    monkeypatch.setenv("METAFLOW_S3_RETRY_COUNT", "3")
    result = invoke("show", "--target", "airflow", "--json")
    doc = json.loads(result.stdout)
    assert doc["target"] == "airflow"
    by_name = {row["name"]: row for row in doc["settings"]}
    assert by_name["METAFLOW_DEFAULT_METADATA"]["value"] == "service"
    assert (
        by_name["METAFLOW_DEFAULT_METADATA"]["note"] == "Metaflow sets it on airflow; here: local"
    )
    assert by_name["METAFLOW_S3_RETRY_COUNT"] == {
        "name": "METAFLOW_S3_RETRY_COUNT",
        "value": "3",
        "from": "travels",
        "note": "",
    }


def test_explain_target_explains_as_the_task_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """explain --target: the task's value, source and location, then how it compares."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    result = invoke("explain", "--target", "kubernetes", "SERVICE_URL", "SERVICE_AUTH_KEY")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "on:       a Kubernetes pod (kubernetes), from: travels"
    assert "the internal service URL; here: https://mf.example.com" in lines[1]
    assert "METAFLOW_SERVICE_URL = http://localhost:8080" in result.stdout
    assert SECRET not in result.output


@pytest.mark.parametrize("target", ["batch", "sfn", "kubernetes", "airflow"])
def test_headers_kept_as_a_reference_are_shown_as_the_reference(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """README's own example, ``METAFLOW_SERVICE_HEADERS='{{resolve:ssm:...}}'``: the row is the
    reference (the task fetches it), where reading it as JSON was "a bug in metaflow-config"."""
    monkeypatch.setenv("METAFLOW_SERVICE_HEADERS", "{{resolve:ssm:/mf/headers}}")
    shown = invoke("show", "--target", target)
    assert shown.exit_code == 0, shown.output
    assert "{{resolve:ssm:/mf/headers}}" in shown.stdout
    explained = invoke("explain", "--target", target, "SERVICE_HEADERS")
    assert explained.exit_code == 0, explained.output


def test_a_target_over_its_limit_is_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """What to_env refuses for the target is the command's error, not a table."""
    monkeypatch.setenv("METAFLOW_KUBERNETES_CONDA_ARCH", "y" * 140_000)
    result = invoke("show", "--target", "kubernetes")
    assert result.exit_code == 1
    assert "131072 bytes" in result.stderr


@pytest.mark.parametrize("target", ["kubernetes", "argo", "airflow"])
def test_show_target_tells_what_the_pods_are_not_given(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """As the launchers build the pods: with Kubernetes Secrets mounted, the secret settings
    are left to them; a name of ARGO_WORKFLOWS_ENV_VARS_TO_SKIP is not given; a pod of
    Kubernetes or Argo gets the internal webhook URL as its webhook URL (Metaflow sets it)."""
    for key, value in {
        **ENV,
        "METAFLOW_KUBERNETES_SECRETS": "mf-creds",
        "METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP": "METAFLOW_S3_RETRY_COUNT,METAFLOW_USER",
        "METAFLOW_ARGO_EVENTS_WEBHOOK_URL": "https://public.example/hook",
        "METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL": "http://internal.svc/hook",
    }.items():
        monkeypatch.setenv(key, value)
    result = invoke("show", "--target", target)
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    auth = rows["METAFLOW_SERVICE_AUTH_KEY"]
    assert "left out" in auth
    assert "left to the Kubernetes Secrets the pod mounts (mf-creds)" in auth
    assert "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP lists it" in rows["METAFLOW_S3_RETRY_COUNT"]
    if target == "argo":  # Metaflow's templates skip its own too
        assert "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP lists it" in rows["METAFLOW_USER"]
        assert "argo-workflows" not in rows["METAFLOW_USER"]
    webhook = rows["METAFLOW_ARGO_EVENTS_WEBHOOK_URL"]
    if target == "airflow":
        assert "https://public.example/hook" in webhook
    else:
        assert webhook.split()[1:3] == ["http://internal.svc/hook", "metaflow"]
    assert SECRET not in result.output


@pytest.mark.parametrize("target", ["batch", "sfn", "kubernetes", "argo", "airflow"])
def test_show_target_says_the_key_metaflow_merges_into_the_headers(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """Metaflow writes METAFLOW_SERVICE_HEADERS into every task, the auth key merged in, as text
    in what it submits, whatever Secrets the pods mount: said so (masked), with the way to
    leave them to a Secret on the pod targets; once the skip list names them, left out."""
    for key, value in {
        **ENV,
        "METAFLOW_KUBERNETES_SECRETS": "mf-creds",
        "METAFLOW_SERVICE_HEADERS": '{"X-Team": "ml"}',
    }.items():
        monkeypatch.setenv(key, value)
    pods = target in ("kubernetes", "argo", "airflow")
    headers = _rows(invoke("show", "--target", target).stdout)["METAFLOW_SERVICE_HEADERS"]
    assert headers.split()[1:3] == ["****", "metaflow"]
    assert "with the auth key merged in (x-api-key)" in headers
    assert ("list METAFLOW_SERVICE_HEADERS in ARGO_WORKFLOWS_ENV_VARS_TO_SKIP" in headers) is pods
    monkeypatch.setenv("METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP", "METAFLOW_SERVICE_HEADERS")
    result = invoke("show", "--target", target)
    headers = _rows(result.stdout)["METAFLOW_SERVICE_HEADERS"]
    if pods:
        assert "left out" in headers
        assert "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP lists it" in headers
    else:  # the skip list is Argo's and the pods': a Batch job still gets Metaflow's entry
        assert "metaflow" in headers.split()
    monkeypatch.delenv("METAFLOW_SERVICE_AUTH_KEY")
    monkeypatch.delenv("METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP")
    headers = _rows(invoke("show", "--target", target).stdout)["METAFLOW_SERVICE_HEADERS"]
    assert "merged in" not in headers  # no key: nothing of it to say
    assert SECRET not in result.output


@pytest.mark.parametrize("target", ["batch", "argo"])
def test_show_target_notes_a_secret_written_as_text_where_metaflow_writes_none(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """The datatools client's keys as text reach what the launcher submits (Metaflow alone
    writes them nowhere): the row says so and what keeps them out; the auth key, which
    Metaflow writes into its headers entry anyway, is not noted so."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("METAFLOW_DATATOOLS_CLIENT_PARAMS", '{"aws_secret_access_key": "S3KR1T"}')
    result = invoke("show", "--target", target)
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    where = {
        "batch": "the AWS Batch job's container overrides",
        "argo": "the Argo WorkflowTemplate",
    }
    assert f"as text in {where[target]}" in rows["METAFLOW_DATATOOLS_CLIENT_PARAMS"]
    out = "a Kubernetes Secret" if target == "argo" else "a secret reference"
    assert f"{out} keeps it out" in rows["METAFLOW_DATATOOLS_CLIENT_PARAMS"]
    assert "as text in" not in rows["METAFLOW_SERVICE_AUTH_KEY"]
    assert "S3KR1T" not in result.output


def test_show_target_notes_a_url_password_metaflow_writes_nowhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A URL's password in a setting no secret (the UI's URL) reaches the task as text only
    because the resolution travels: its row says so, masked; the service's URL, which Metaflow
    writes itself, is not noted so."""
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("METAFLOW_UI_URL", "https://admin:HUNTER2@ui.example.com/")
    result = invoke("show", "--target", "sfn")
    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout)
    assert (
        "its URL's password as text in the state machine's definition" in (rows["METAFLOW_UI_URL"])
    )
    assert "password" not in rows["METAFLOW_SERVICE_URL"]
    assert "HUNTER2" not in result.output
