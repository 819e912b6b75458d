"""``import --from-terraform FILE``: a profile from ``terraform output -json`` (read offline)."""

from __future__ import annotations

import json
import os
import shlex
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metaflow_config import load
from tests._stack_fixtures import (
    API_KEY_ID,
    QUEUE_ARN,
    SERVICE_URL,
    SFN_ROLE,
    SYSROOT,
    module_outputs,
    module_profile,
    output,
)
from tests.conftest import invoke, write_json
from tests.test_sections import ACME, installed
from tests.test_shell_quoting import CRAFTED, sh


def home() -> Path:
    """The METAFLOW_HOME the autouse fixture points at."""
    return Path(os.environ["METAFLOW_HOME"])


def read(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``."""
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _outputs(tmp_path: Path, outputs: dict[str, Any]) -> Path:
    return write_json(tmp_path / "outputs.json", outputs)


def _import(path: Path, *args: str, input: str | None = None) -> Any:
    return invoke("import", "--from-terraform", str(path), *args, input=input)


def _expected(**changes: Any) -> dict[str, Any]:
    """The module's profile as a profile holds it: no placeholder, ``changes`` applied."""
    profile = module_profile(auth=False)
    profile.update(changes)
    return {k: v for k, v in profile.items() if v is not None}


def test_the_module_outputs_become_a_working_profile(tmp_path: Path) -> None:
    """metaflow_profile_json and the setting-named outputs (which agree) give the profile."""
    path = _outputs(tmp_path, module_outputs())
    result = _import(path, "-p", "prod", input="y\n")
    assert result.exit_code == 0, result.output + result.stderr
    profile = home() / "config_prod.json"
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600
    assert read(profile) == _expected()
    load(profile="prod").require("sfn-foreach")
    out = result.stdout
    assert f"+ METAFLOW_BATCH_JOB_QUEUE = {QUEUE_ARN}  (from METAFLOW_BATCH_JOB_QUEUE, " in out
    assert "metaflow_profile_json:METAFLOW_BATCH_JOB_QUEUE)" in out
    assert "  metaflow_s3_bucket_name: no [METAFLOW_*] tag, and not named after a setting" in out
    assert "export METAFLOW_PROFILE=prod" in out
    assert "metaflow-config check --aws -p prod" in out


@pytest.mark.parametrize("sensitive", [False, True])
def test_the_api_key_placeholder_is_not_a_value(tmp_path: Path, sensitive: bool) -> None:
    """The module's "## Replace with ... ##" is not written; the line says how to fetch the key,
    also where the profile output is marked sensitive (the placeholder holds the key's id)."""
    outputs = module_outputs()
    if sensitive:
        outputs["metaflow_profile_json"]["sensitive"] = True
    path = _outputs(tmp_path, outputs)
    write_json(home() / "config.json", {"METAFLOW_SERVICE_AUTH_KEY": "SEKRITkept"})
    result = _import(path, "-y")
    assert result.exit_code == 0, result.stderr
    assert read(home() / "config.json")["METAFLOW_SERVICE_AUTH_KEY"] == "SEKRITkept"
    assert (
        "metaflow_profile_json:METAFLOW_SERVICE_AUTH_KEY: a placeholder, not a value: "
        "METAFLOW_SERVICE_AUTH_KEY not set (fetch the key with `aws apigateway get-api-key "
        f"--api-key {API_KEY_ID} --include-value --query value --output text`"
    ) in result.stdout
    assert "SEKRIT" not in result.stdout + result.stderr


def test_the_modules_current_profile_output_is_read_too(tmp_path: Path) -> None:
    """terraform-aws-metaflow's root module names its profile output
    ``metaflow_aws_managed_profile_json`` now: its keys (the Fargate role, the image, the state
    machines' prefix, which no output is named after) are imported from it too."""
    outputs = module_outputs()
    profile_json = outputs.pop("metaflow_profile_json")
    held = json.loads(profile_json["value"])
    held["METAFLOW_SFN_STATE_MACHINE_PREFIX"] = "team-a"  # no output of its own is named so
    outputs["metaflow_aws_managed_profile_json"] = output(json.dumps(held))
    result = _import(_outputs(tmp_path, outputs), "-y")
    assert result.exit_code == 0, result.output + result.stderr
    assert read(home() / "config.json")["METAFLOW_SFN_STATE_MACHINE_PREFIX"] == "team-a"
    assert "metaflow_aws_managed_profile_json: no [METAFLOW_*] tag" not in result.stdout


def test_a_profile_file_holding_the_modules_placeholder_imports_no_placeholder(
    tmp_path: Path,
) -> None:
    """The module's README has its users write the profile output to a file as it is, with the
    API key's "## Replace with ... ##": ``import FILE`` skips it, saying so, and ``check``
    warns of a profile that holds one (Metaflow would send it as the key)."""
    held = module_profile(auth=True)
    placeholder = held["METAFLOW_SERVICE_AUTH_KEY"]
    assert str(placeholder).startswith("## ")
    path = write_json(tmp_path / "metaflow_profile.json", held)
    result = invoke("import", str(path), "-p", "mod", "--yes")
    assert result.exit_code == 0, result.output + result.stderr
    assert "METAFLOW_SERVICE_AUTH_KEY" not in read(home() / "config_mod.json")
    assert "Skipping 1 placeholder(s) left to replace (## ... ##), not values: " in result.stdout
    write_json(home() / "config_mod.json", held)  # written as it is, by hand
    checked = invoke("check", "-p", "mod")
    assert (
        "METAFLOW_SERVICE_AUTH_KEY holds a placeholder left to replace (## ... ##), not a value"
    ) in checked.stderr
    assert "Replace with" not in checked.output + checked.stderr


def test_an_empty_service_url_is_not_set(tmp_path: Path) -> None:
    """``SERVICE_URL: ""`` (terraform-aws-metaflow #53) is not set: no error, no "" written,
    the profile's own URL kept, and no DEFAULT_METADATA=service implied by the outputs."""
    outputs = module_outputs(service_url="")
    profile = module_profile(service_url="")
    del profile["METAFLOW_DEFAULT_METADATA"]
    outputs["metaflow_profile_json"] = output(json.dumps(profile))
    path = _outputs(tmp_path, outputs)
    write_json(home() / "config.json", {"METAFLOW_SERVICE_URL": "https://mine.example.com/"})
    result = _import(path, "-y")
    assert result.exit_code == 0, result.stderr
    written = read(home() / "config.json")
    assert written["METAFLOW_SERVICE_URL"] == "https://mine.example.com/"
    assert "METAFLOW_DEFAULT_METADATA" not in written
    assert "  METAFLOW_SERVICE_URL: empty: METAFLOW_SERVICE_URL not set" in result.stdout
    assert "METAFLOW_SERVICE_URL =" not in result.stdout


def test_outputs_named_after_settings_alone(tmp_path: Path) -> None:
    """Without metaflow_profile_json: the setting-named outputs, the defaults the guides set."""
    path = _outputs(tmp_path, module_outputs(profile_json=False))
    result = _import(path, "-y")
    assert result.exit_code == 0, result.stderr
    expected = _expected(METAFLOW_SFN_STATE_MACHINE_PREFIX=None)
    assert read(home() / "config.json") == expected
    out = result.stdout
    assert "+ METAFLOW_DEFAULT_METADATA = service  (implied by METAFLOW_SERVICE_URL)" in out
    assert "api_gateway_rest_api_id_key_id: no [METAFLOW_*] tag" in out


@pytest.mark.parametrize("form", ["passed-through", "one-output"])
def test_the_modules_outputs_passed_through_as_one(tmp_path: Path, form: str) -> None:
    """The module's own example passes its outputs through as one (``output "metaflow" {
    value = module.metaflow }``): refused as no Metaflow stack, and ``terraform output -json
    metaflow`` (that output's value alone) gave one error per output (wild-profiles trial).
    Both are read as the module's outputs."""
    values = {name: entry["value"] for name, entry in module_outputs().items()}
    content = {"metaflow": output(values)} if form == "passed-through" else values
    result = _import(_outputs(tmp_path, content), "-y")
    assert result.exit_code == 0, result.output + (result.stderr or "")
    written = read(home() / "config.json")
    assert written["METAFLOW_DATASTORE_SYSROOT_S3"] == SYSROOT
    assert written["METAFLOW_SFN_IAM_ROLE"] == SFN_ROLE


def test_sensitive_outputs_are_masked_wherever_shown(tmp_path: Path) -> None:
    """A sensitive output's value is never shown: not in the diff, nor in an error."""
    canary = "s3://sekrit-bucket-canary/metaflow"
    outputs = {
        "METAFLOW_DATASTORE_SYSROOT_S3": output(canary, sensitive=True),
        "metaflow_profile_json": output(
            json.dumps({"METAFLOW_SFN_IAM_ROLE": SFN_ROLE}), sensitive=True
        ),
    }
    path = _outputs(tmp_path, outputs)
    result = _import(path, "-y")
    assert result.exit_code == 0, result.stderr
    assert "+ METAFLOW_DATASTORE_SYSROOT_S3 = ****" in result.stdout
    assert "+ METAFLOW_SFN_IAM_ROLE = ****" in result.stdout
    assert "sekrit" not in result.stdout
    assert SFN_ROLE not in result.stdout
    assert read(home() / "config.json")["METAFLOW_DATASTORE_SYSROOT_S3"] == canary
    outputs["METAFLOW_DATASTORE_SYSROOT_S3"] = output("s3://SEKRIT Bucket/x", sensitive=True)
    outputs["METAFLOW_SFN_IAM_ROLE"] = output("arn:aws:iam::1:role/SEKRIT other", sensitive=True)
    path = _outputs(tmp_path, outputs)
    result = _import(path, "-y")
    assert result.exit_code == 1
    assert "2 problems" in result.stderr
    assert "METAFLOW_DATASTORE_SYSROOT_S3 (Terraform outputs" in result.stderr
    assert "got ****; expected an S3 URL" in result.stderr
    assert "outputs metaflow_profile_json:METAFLOW_SFN_IAM_ROLE and METAFLOW_SFN_IAM_ROLE" in (
        result.stderr
    )
    assert "SEKRIT" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [  # a secret setting, and a setting the module alone marks sensitive
        ("METAFLOW_SERVICE_AUTH_KEY", "sk-SEKRIT-12\n", "contains '\\n' at position 12"),
        ("METAFLOW_DATASTORE_SYSROOT_S3", "s3://b/SEKRIT\nx", "contains '\\n' at position 13"),
    ],
)
def test_a_sensitive_outputs_control_character_is_said_not_its_text(
    tmp_path: Path, name: str, value: str, said: str
) -> None:
    """A sensitive output refused for a line break (``file("key.txt")`` keeps the file's): the
    character and where, as every layer says it (attacker trial: only "expected a string")."""
    outputs = {name: output(value, sensitive=True)}
    result = _import(_outputs(tmp_path, outputs), "-y")
    assert result.exit_code == 1
    assert "got ****" in result.stderr
    assert said in result.stderr, result.stderr
    assert "SEKRIT" not in result.stdout + result.stderr


def test_an_invalid_output_names_it_and_writes_nothing(tmp_path: Path) -> None:
    """An output the setting refuses: the output, the setting, the fix; nothing written."""
    outputs = module_outputs()
    outputs["METAFLOW_SFN_IAM_ROLE"] = output("not-a-role")
    outputs["metaflow_profile_json"] = output(
        json.dumps({**module_profile(), "METAFLOW_SFN_IAM_ROLE": "not-a-role"})
    )
    path = _outputs(tmp_path, outputs)
    result = _import(path, "-y")
    assert result.exit_code == 1
    err = result.stderr
    assert (
        f"METAFLOW_SFN_IAM_ROLE (Terraform outputs {path}: output METAFLOW_SFN_IAM_ROLE, "
        "metaflow_profile_json:METAFLOW_SFN_IAM_ROLE): got 'not-a-role'"
    ) in err
    assert (
        "Fix: correct output METAFLOW_SFN_IAM_ROLE, metaflow_profile_json in the Terraform" in err
    )
    assert f"terraform output -json > {path}" in err
    assert not (home() / "config.json").exists()


def test_outputs_that_disagree_are_an_error_naming_both(tmp_path: Path) -> None:
    """The profile JSON and a setting-named output with two values: an error, nothing written."""
    outputs = module_outputs()
    outputs["METAFLOW_DATASTORE_SYSROOT_S3"] = output("s3://another-bucket/metaflow")
    path = _outputs(tmp_path, outputs)
    result = _import(path, "-y")
    assert result.exit_code == 1
    assert (
        "outputs METAFLOW_DATASTORE_SYSROOT_S3 and metaflow_profile_json:"
        "METAFLOW_DATASTORE_SYSROOT_S3): expected one value from the outputs that name it, found "
        f"two: METAFLOW_DATASTORE_SYSROOT_S3 = s3://another-bucket/metaflow and "
        f"metaflow_profile_json:METAFLOW_DATASTORE_SYSROOT_S3 = {SYSROOT}"
    ) in result.stderr
    assert not (home() / "config.json").exists()


def test_unknown_profile_keys_are_listed_with_a_did_you_mean(tmp_path: Path) -> None:
    """A key of the profile JSON that no setting has: listed, not imported; the rest is."""
    profile = {"METAFLOW_BATCH_JOB_QEUE": "q", "METAFLOW_SFN_IAM_ROLE": SFN_ROLE}
    path = _outputs(tmp_path, {"metaflow_profile_json": output(profile)})
    result = _import(path, "-y")
    assert result.exit_code == 0, result.stderr
    assert read(home() / "config.json") == {"METAFLOW_SFN_IAM_ROLE": SFN_ROLE}
    assert (
        "metaflow_profile_json:METAFLOW_BATCH_JOB_QEUE: METAFLOW_BATCH_JOB_QEUE is not a "
        "setting; did you mean METAFLOW_BATCH_JOB_QUEUE?"
    ) in result.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            {"METAFLOW_BATCH_JOB_QUEUE": "q"},
            'an output as `terraform output -json` writes it: {"value": ...',
            id="a-profile-not-outputs",
        ),
        pytest.param(
            {"metaflow_profile_json": output("{not json")},
            "a JSON object of settings, or its text (the Terraform module writes it with "
            "jsonencode): not valid JSON",
            id="profile-json-not-json",
        ),
        pytest.param(
            {"metaflow_profile_json": output(["a"])},
            "found list",
            id="profile-json-a-list",
        ),
        pytest.param(
            {"bucket": output("b"), "url": output("")},
            "Metaflow outputs: an output whose description is tagged [METAFLOW_*], or that is "
            "named after a setting (none is; its outputs: bucket, url)",
            id="no-metaflow-outputs",
        ),
        pytest.param(
            {"METAFLOW_SERVICE_URL": output(""), "metaflow_profile_json": output("")},
            "each output that names a setting is empty or a placeholder",
            id="only-empty",
        ),
        pytest.param({}, "(none is; it has no outputs)", id="no-outputs"),
    ],
)
def test_a_file_that_cannot_be_imported(tmp_path: Path, content: Any, expected: str) -> None:
    """Not outputs, a profile JSON that is not an object, nothing Metaflow: named, exit 1."""
    path = _outputs(tmp_path, content)
    result = _import(path, "-y")
    assert result.exit_code == 1, result.stdout
    assert str(path) in result.stderr
    assert expected in result.stderr
    assert not (home() / "config.json").exists()


def test_a_file_that_is_not_json(tmp_path: Path) -> None:
    """Not JSON at all: said where, as a profile file is."""
    path = tmp_path / "outputs.json"
    path.write_text("METAFLOW_SERVICE_URL = https://x\n")
    result = _import(path, "-y")
    assert result.exit_code == 1
    assert f"{path} (terraform outputs): expected valid JSON" in result.stderr  # the path once


def test_the_same_values_again_change_nothing(tmp_path: Path) -> None:
    """A second import of the same outputs: no changes, no question, the file untouched."""
    path = _outputs(tmp_path, module_outputs())
    assert _import(path, "-y").exit_code == 0
    profile = home() / "config.json"
    before = profile.stat().st_mtime_ns
    result = _import(path)
    assert result.exit_code == 0, result.stderr
    assert "No changes" in result.stdout
    assert profile.stat().st_mtime_ns == before
    assert SERVICE_URL in read(profile).values()


@pytest.fixture
def acme(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[type[Any]]:
    """The registered section ``Acme`` (tests/test_sections.py's), installed and discovered."""
    for module in installed(
        tmp_path_factory, monkeypatch, "acme-mf", "acme = acme_mf.config:Acme", ACME
    ):
        yield module.Acme


def test_a_registered_sections_keys_are_settings_too(tmp_path: Path, acme: type[Any]) -> None:
    """Outputs named after a registered section's keys import, checked by its model, its
    secrets masked; an invalid one names the output."""
    outputs = {
        "METAFLOW_ACME_GPU_QUEUE": output("gpu"),
        "METAFLOW_ACME_API_TOKEN": output("SEKRITtoken"),
    }
    path = _outputs(tmp_path, outputs)
    result = _import(path, "-y")
    assert result.exit_code == 0, result.stderr
    assert read(home() / "config.json") == {
        "METAFLOW_ACME_GPU_QUEUE": "gpu",
        "METAFLOW_ACME_API_TOKEN": "SEKRITtoken",
    }
    assert "+ METAFLOW_ACME_API_TOKEN = ****" in result.stdout
    assert "SEKRIT" not in result.stdout + result.stderr
    path = _outputs(tmp_path, {"METAFLOW_ACME_RETRIES": output("many")})
    result = _import(path, "-y")
    assert result.exit_code == 1
    assert f"METAFLOW_ACME_RETRIES (Terraform outputs {path}: output METAFLOW_ACME_RETRIES)" in (
        result.stderr
    )


@pytest.mark.parametrize("name", CRAFTED)
def test_the_fix_to_write_the_file_again_pastes_safely(name: str, tmp_path: Path) -> None:
    """`terraform output -json > FILE`, pasted (a stand-in terraform), writes FILE, runs nothing."""
    folder = tmp_path / name
    folder.mkdir()
    path = write_json(folder / "out.json", {"METAFLOW_SFN_IAM_ROLE": output("not-a-role")})
    result = _import(path, "-y")
    assert result.exit_code == 1
    command = f"terraform output -json > {shlex.quote(str(path))}"
    assert command in result.stderr
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "terraform").write_text("#!/bin/sh\nprintf '{}'\n")
    (bin_dir / "terraform").chmod(0o755)
    scratch = tmp_path / "scratch"  # where a pasted command that ran more would leave `pwned`
    scratch.mkdir()
    sh(command, scratch, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert path.read_text() == "{}"


def test_a_list_or_object_output_of_a_text_setting_is_written_as_its_text(
    tmp_path: Path,
) -> None:
    """A list output (``KUBERNETES_SECRETS = ["s1", "s2"]``, tolerations) was written as a JSON
    list, which Metaflow alone reads as ``str(list)``: written as the text this package holds,
    both read one value. A setting whose value is an object in Metaflow too keeps it."""
    headers = {"x-team": "ml"}
    path = _outputs(
        tmp_path,
        {
            "METAFLOW_DATASTORE_SYSROOT_S3": {"value": "s3://b/mf", "type": "string"},
            "METAFLOW_KUBERNETES_SECRETS": {"value": ["s1", "s2"], "type": ["tuple", []]},
            "METAFLOW_KUBERNETES_TOLERATIONS": {
                "value": [{"key": "a", "operator": "Exists"}],
                "type": ["list", []],
            },
            "METAFLOW_SERVICE_HEADERS": {"value": headers, "type": ["object", {}]},
        },
    )
    result = _import(path, "-y")
    assert result.exit_code == 0, result.stderr
    written = read(home() / "config.json")
    assert written["METAFLOW_KUBERNETES_SECRETS"] == "s1,s2"
    assert json.loads(written["METAFLOW_KUBERNETES_TOLERATIONS"]) == [
        {"key": "a", "operator": "Exists"}
    ]
    assert written["METAFLOW_SERVICE_HEADERS"] == headers
    s = load()
    assert s.kubernetes.secrets == "s1,s2"


@pytest.mark.parametrize("terraform", [True, False])
def test_importing_from_a_pipe_says_to_save_it_to_a_file_first(
    tmp_path: Path, terraform: bool
) -> None:
    """``terraform output -json | metaflow-config import --from-terraform /dev/stdin``: the fix
    was "edit or remove /dev/stdin" (as root, it breaks the machine). It says to save the JSON
    first, with the command; the pipe is never opened (nobody may write to it)."""
    fifo = tmp_path / "outputs.pipe"
    os.mkfifo(fifo)
    args = ["--from-terraform", str(fifo)] if terraform else [str(fifo)]
    result = invoke("import", *args, "-y")
    assert result.exit_code == 1
    assert f"{fifo} is a pipe or a device, not a file: save the JSON to a file first" in (
        result.stderr
    )
    command = "import --from-terraform" if terraform else "import"
    assert f"&& metaflow-config {command} outputs.json" in result.stderr
    assert "remove" not in result.stderr
