"""The datastore roots hold only what Metaflow's remote task command carries as it is.

Metaflow writes the datastore root into each remote task's ``bash -c "..."`` command without
escaping it: bare as ``--datastore-root=...`` of the steps Argo Workflows, Step Functions and
Airflow run, and as the code package's URL (in single quotes for S3, bare for GCS and Azure).
A root that would break out of that command is refused where it is resolved, naming the
characters; every root accepted runs in those commands as itself (checked by running
Metaflow's own command in ``bash`` with stand-ins for the tools it calls).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from metaflow_config import ConfigError, load

SHELL = shutil.which("bash")

#: (setting, a root the task command carries, a root of each datastore type's form)
ROOTS = [
    ("METAFLOW_DATASTORE_SYSROOT_S3", "s3", "s3://my-bucket/a=b+c@d,e:f%g~h/i_j.k-l"),
    ("METAFLOW_DATASTORE_SYSROOT_GS", "gs", "gs://my-bucket/a=b+c@d,e:f%g~h/i_j.k-l"),
    ("METAFLOW_DATASTORE_SYSROOT_AZURE", "azure", "my-container/a=b+c@d,e:f%g~h/i_j.k-l"),
]


def _resolve(name: str, value: str, tmp_path: Path) -> str | None:
    env = {"METAFLOW_HOME": str(tmp_path / "home"), name: value}
    got = load(env=env, cwd=str(tmp_path))[name]
    return None if got is None else str(got)


@pytest.mark.parametrize("char", ["'", '"', "\\", "$", "`"])
@pytest.mark.parametrize(("name", "kind", "root"), ROOTS)
def test_a_root_holding_a_shell_quote_is_refused(
    name: str, kind: str, root: str, char: str, tmp_path: Path
) -> None:
    """A quote, ``$``, a backtick or a backslash in a root's prefix: an error naming it."""
    with pytest.raises(ConfigError) as raised:
        _resolve(name, f"{root}/x{char}y", tmp_path)
    message = str(raised.value)
    assert name in message
    assert repr(char) in message
    assert "remote task command" in message


@pytest.mark.parametrize(
    "char", [";", "|", "&", "(", ")", "<", ">", "*", "?", "#", "!", "[", "{", "\t"]
)
@pytest.mark.parametrize(("name", "kind", "root"), ROOTS)
def test_a_root_takes_only_what_a_shell_takes_as_it_is(
    name: str, kind: str, root: str, char: str, tmp_path: Path
) -> None:
    """``--datastore-root=<root>`` is bare in the command: ``;``, ``|``, ``(``... are refused
    (review: an S3 root ``s3://b/mf;touch>/tmp/x;x`` ran ``touch`` in Argo's containers)."""
    with pytest.raises(ConfigError) as raised:
        _resolve(name, f"{root}/x{char}y", tmp_path)
    said = str(raised.value)
    assert name in said
    assert (repr(char) in said) or ("a space" in said)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("Container/p", "the container 'Container' breaks the rule"),
        ("cont/p/", "a '/' ends it"),
        ("cont//p", "two follow each other"),
        ("az://cont/p", "no scheme"),
    ],
)
def test_an_azure_root_says_what_is_wrong(value: str, said: str, tmp_path: Path) -> None:
    """Metaflow's own refusals of an Azure root (``parse_azure_full_path``), said at once."""
    with pytest.raises(ConfigError) as raised:
        _resolve("METAFLOW_DATASTORE_SYSROOT_AZURE", value, tmp_path)
    assert said in str(raised.value)


@pytest.mark.skipif(SHELL is None, reason="no bash")
@pytest.mark.skipif(SHELL is None, reason="no bash")
@pytest.mark.parametrize(("name", "kind", "root"), ROOTS)
def test_an_accepted_root_is_the_step_commands_datastore_root(
    name: str, kind: str, root: str, tmp_path: Path
) -> None:
    """``--datastore-root=%s`` as Argo Workflows, Step Functions and Airflow write it into the
    step's command: an accepted root is one word, itself, and runs nothing else."""
    resolved = _resolve(name, root, tmp_path)
    said = tmp_path / "said"
    step = tmp_path / "step"  # a stand-in for `python flow.py step ...`: each argument a line
    step.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> {said}\n')
    step.chmod(0o755)
    command = f"{step} --datastore-root={resolved} --event-logger=nullSidecarLogger"
    argv = shlex.split('bash -c "%s"' % command)  # noqa: UP031 (as Metaflow's launchers build it)
    subprocess.run(argv, check=True, cwd=tmp_path, timeout=60)
    assert said.read_text().splitlines() == [
        f"--datastore-root={resolved}",
        "--event-logger=nullSidecarLogger",
    ]


@pytest.mark.parametrize(("name", "kind", "root"), ROOTS)
def test_an_accepted_root_reaches_the_task_command_as_itself(
    name: str, kind: str, root: str, tmp_path: Path
) -> None:
    """Metaflow's download command of a code package under an accepted root, run in ``bash``
    as a remote task runs it (``shlex.split('bash -c "%s"')``), hands the tools the URL's parts
    unchanged and runs nothing else."""
    metaflow_environment = pytest.importorskip("metaflow.metaflow_environment")
    resolved = _resolve(name, root, tmp_path)
    assert resolved == root
    url = f"{resolved}/Flow/data/ab/abcdef"
    command = metaflow_environment.MetaflowEnvironment(None)._get_download_code_package_cmd(
        url, kind
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    said = tmp_path / "said"
    for tool in ("python", "download-gcp-object", "download-azure-blob"):
        stub = bin_dir / tool
        stub.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done >> {said}\n')
        stub.chmod(0o755)
    argv = shlex.split('bash -c "%s"' % command)  # noqa: UP031 (as Metaflow's launchers build it)
    assert len(argv) == 3
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(argv, env=env, check=True, cwd=tmp_path, timeout=60)
    args = said.read_text()
    path = url.rsplit("://", maxsplit=1)[-1]
    bucket, _, key = path.partition("/")
    assert bucket in args
    assert key in args, (key, args)


def test_every_root_of_a_datastore_takes_its_datastores_rule() -> None:
    """Each S3, GCS and Azure root of the table (the datastore's, the cards', the datatools',
    the conda packages') has its datastore's root kind: ``CONDA_PACKAGE_GSROOT`` and
    ``_AZUREROOT`` took any text, and a ``$`` or Jinja's marks in one reached a pod changed
    (platform5 trial)."""
    from metaflow_config._model import kinds
    from metaflow_config._model.table import FIELDS

    rule = {"S3": kinds.S3_URL, "GS": kinds.GS_URL, "AZURE": kinds.AZURE_ROOT}
    roots = {
        f.env: f.kind
        for f in FIELDS
        for store in rule
        if f.name.endswith((f"_{store}ROOT", f"_SYSROOT_{store}"))
    }
    assert len(roots) >= 12  # the datastore, card, datatools and conda package roots of each
    wrong = {
        name: kind.name
        for name, kind in roots.items()
        if kind is not next(rule[s] for s in rule if name.endswith((f"{s}ROOT", f"_{s}")))
    }
    assert wrong == {}
