"""Where a deployed stack's outputs come from: a CloudFormation stack, ``terraform output -json``.

Each source gives its outputs as :class:`Output` (key, value, description, the setting its name
claims, sensitive or not), with how messages name the source, how to correct an output there,
and, for CloudFormation, how to read a value by the id an output holds (the API key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from .._display import printable, shell_quote
from .._model.fields import PREFIX, is_unset
from .._model.jsontext import decode_json
from .._sources.jsonfile import read_json_file
from ..errors import ConfigError, Problem
from ._common import no_pipe

__all__ = ["Output", "Source", "cloudformation", "terraform"]

#: The Terraform outputs that hold a whole profile, as a JSON text: terraform-aws-metaflow's
#: (its root module names it ``metaflow_aws_managed_profile_json`` now, as its README's
#: ``local_file`` reads it; ``metaflow_profile_json`` before)
PROFILE_JSON = ("metaflow_profile_json", "metaflow_aws_managed_profile_json")


@dataclass(frozen=True)
class Output:
    """One output of a deployed stack, as the source gives it.

    ``key`` names it in messages (``BatchJobQueueArn``, ``metaflow_profile_json:METAFLOW_X``);
    ``name`` is the setting it is named after, when its name claims one (``None`` otherwise);
    ``sensitive``: masked wherever it is shown (Terraform's ``sensitive`` outputs).
    """

    key: str
    value: Any
    description: str = ""
    name: str | None = None
    sensitive: bool = False


def terraform_outputs(path: str) -> list[Output]:
    """The outputs in ``path``, written by ``terraform output -json``; the profile JSON expanded.

    Each output is ``{"value": ..., "type": ..., "sensitive": ...}``; a profile's output
    (:data:`PROFILE_JSON`: a JSON object, or its text) gives one output per key. A root module
    that passes the Metaflow module's outputs through as one (``output "metaflow" { value =
    module.metaflow }``, as the module's own example does) gives an output whose value is an
    object of them: each is read as an output, named ``metaflow.<output>``; so is a file of
    that object alone (``terraform output -json metaflow``).

    Raises:
        ConfigError: a file that is not JSON, not an object, or not outputs.

    """
    doc, problems = read_json_file(path, _TERRAFORM)
    if problems or doc is None:
        raise ConfigError(problems)
    entries: list[tuple[str, Any]] = list(doc.items())
    if any(k in PROFILE_JSON for k in doc) and not any(_is_output(e) for e in doc.values()):
        # one output's value: the module's outputs (its profile JSON among them, which tells
        # them from a profile file's keys)
        entries = [(name, {"value": value}) for name, value in entries]
    outputs: list[Output] = []
    for name, entry in entries:
        if not _is_output(entry):
            problems.append(
                Problem.bad_value(
                    name,
                    _TERRAFORM,
                    f"{path}:{name}",
                    expected='an output as `terraform output -json` writes it: {"value": ..., '
                    '"type": ..., "sensitive": ...}',
                    fix=_terraform_fix(path),
                )
            )
            continue
        sensitive = entry.get("sensitive") is True
        value = entry["value"]
        if name not in PROFILE_JSON and _module_outputs(value):  # the module's, passed through
            for inner, held in value.items():
                _read_output(f"{name}.{inner}", inner, held, sensitive, outputs, problems, path)
            continue
        _read_output(name, name, value, sensitive, outputs, problems, path)
    if problems:
        raise ConfigError(problems)
    return outputs


#: The layer of ``terraform output -json``'s file, as messages name it.
_TERRAFORM = "terraform outputs"


def _terraform_fix(path: str) -> str:
    """How to correct a file of Terraform outputs at ``path``."""
    return (
        f"write it with `terraform output -json > {shell_quote(path)}` (a profile file is "
        "imported with `metaflow-config import FILE`)"
    )


def _is_output(entry: Any) -> bool:
    """Whether ``entry`` is an output as ``terraform output -json`` writes one."""
    return isinstance(entry, dict) and "value" in entry


def _module_outputs(value: Any) -> bool:
    """Whether ``value`` is an object of the Metaflow module's outputs (passed through whole)."""
    return isinstance(value, dict) and any(
        isinstance(k, str) and (k.startswith(PREFIX) or k in PROFILE_JSON) for k in value
    )


def _read_output(  # noqa: PLR0917 - one output's parts, and where they go
    shown: str,
    name: str,
    value: Any,
    sensitive: bool,
    outputs: list[Output],
    problems: list[Problem],
    path: str,
) -> None:
    """One output ``name`` (said as ``shown``): a setting's, or the profile's JSON expanded."""
    if name not in PROFILE_JSON:
        claimed = name if name.startswith(PREFIX) else None
        outputs.append(Output(shown, value, name=claimed, sensitive=sensitive))
        return
    profile, why = value, None
    if isinstance(profile, str) and not is_unset(profile):
        profile, why = decode_json(profile, bounded=True)
    if is_unset(profile) and why is None:
        outputs.append(Output(shown, profile, sensitive=sensitive))
    elif not isinstance(profile, dict):
        found = why or f"found {type(profile).__name__}"
        problems.append(
            Problem.bad_value(
                shown,
                _TERRAFORM,
                f"{path}:{shown}",
                expected="a JSON object of settings, or its text (the Terraform module "
                f"writes it with jsonencode): {found}",
                fix=_terraform_fix(path),
            )
        )
    else:
        outputs.extend(
            Output(f"{shown}:{k}", v, name=k, sensitive=sensitive) for k, v in profile.items()
        )


@dataclass(frozen=True)
class Source:
    """Where the outputs came from: how messages name it, how to correct an output, the AWS key."""

    label: str
    outputs: list[Output]
    fix: Callable[[list[Output]], str]
    fetch: Callable[[Output], str] | None = None


def cloudformation(stack: str, region: str | None, aws_profile: str | None) -> Source:
    """The outputs of the CloudFormation stack ``stack``; the API key is fetched by its id."""
    from .. import aws

    found = aws.cloudformation_stack(stack, region=region, aws_profile=aws_profile)
    label = f"CloudFormation stack {found.name!r} in {found.region}"
    click.echo(f"Read the outputs of {printable(label)} ({found.status}).")
    outputs = [
        Output(o.key, o.value, o.description, o.key if o.key.startswith(PREFIX) else None)
        for o in found.outputs
    ]

    def fix(given: list[Output]) -> str:
        keys = ", ".join(o.key for o in given)
        return f"correct the Value of output {keys} in the stack's template and update the stack"

    def fetch(output: Output) -> str:
        return aws.api_key_value(
            str(output.value),
            region=found.region,
            aws_profile=aws_profile,
            what=f", the value of output {output.key} of {label}",
        )

    return Source(label, outputs, fix, fetch)


def terraform(path: str) -> Source:
    """The outputs in the ``terraform output -json`` file ``path`` (read offline)."""
    label = f"Terraform outputs {path}"
    no_pipe(path, "metaflow-config import --from-terraform")

    def fix(given: list[Output]) -> str:
        names = ", ".join(sorted({o.key.split(":")[0] for o in given}))
        return (
            f"correct output {names} in the Terraform configuration, `terraform apply`, then "
            f"`terraform output -json > {shell_quote(path)}`"
        )

    return Source(label, terraform_outputs(path), fix)
