"""What the consumers of the settings compute from them, behind the section accessors.

The S3 client arguments, the Batch image and tags, the Step Functions state machine name: the
accessors of the sections' views (``views``: ``settings.s3.client_kwargs``,
``settings.batch.image``, ``settings.sfn.state_machine_name(...)``) are thin wrappers over these
functions, which read the resolved values and never change them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from .._model.kinds import SFN_NAME_FORBIDDEN, SFN_NAME_MAX, SFN_NAME_RULES
from .._model.values import secret_copy, thaw
from ..errors import ConfigError, Problem

__all__ = [
    "batch_image",
    "docker_registry",
    "s3_client_kwargs",
    "split_s3_url",
    "state_machine_name",
]

_SFN_NAME_BAD = f"[{SFN_NAME_FORBIDDEN}]"


def s3_client_kwargs(
    client_params: Mapping[str, Any], retry_config: Mapping[str, Any]
) -> dict[str, Any]:
    """Keyword arguments of a boto3 S3 client: the datatools client params plus the retries.

    ``client_params`` is the effective ``DATATOOLS_CLIENT_PARAMS`` (with ``endpoint_url`` and
    ``verify``); ``config`` is a dict of ``botocore.config.Config`` arguments whose ``retries``
    is ``S3_CLIENT_RETRY_CONFIG`` unless the params configure retries themselves (as Metaflow's
    ``Boto3ClientProvider`` does). Deep copies: changing the result changes no setting. A
    ``SecretDict`` (the params hold secrets): its ``repr`` shows none.
    """
    kwargs: dict[str, Any] = secret_copy(client_params)
    config = kwargs.get("config")
    config = dict(config) if isinstance(config, Mapping) else {}
    if config.get("retries") is None:
        config["retries"] = thaw(retry_config)
    kwargs["config"] = config
    return kwargs


def docker_registry(image: str) -> str | None:
    r"""The registry an image names (``123.dkr.ecr.us-east-1.amazonaws.com``), or ``None``.

    As Metaflow's pattern reads it (``metaflow/plugins/aws/aws_utils.py``:
    ``^(.+?(?:[:.].+?)\/)?...``): the registry runs to the first ``/`` that comes at least two
    characters after the first ``.`` or ``:`` past the first character (``localhost/x`` names
    none). Found in one pass: the pattern backtracks quadratically on text such as ``'a.' * n``,
    and a value of any length may reach here. ``tests/test_consumers.py`` holds the two equal.
    """
    line = image[:-1] if image.endswith("\n") else image  # ``$`` matches before a last newline
    if "\n" in line:  # ``.`` matches no newline: the pattern does not match at all
        return None
    marks = [i for i in (line.find(":", 1), line.find(".", 1)) if i >= 0]
    if not marks:
        return None
    mark = min(marks)
    end = line.find("/", mark + 2)
    registry = line[:end] if end >= 0 else ""
    return registry.rstrip("/") or None


def batch_image(requested: str | None, configured: str | None, registry: str | None) -> str:
    """The image a Batch job runs, as Metaflow's ``@batch`` picks it.

    The step's own image, else BATCH_CONTAINER_IMAGE, else ``python:<major>.<minor>`` of the
    running interpreter; prefixed with BATCH_CONTAINER_REGISTRY unless it names a registry.
    """
    image = requested or configured or "python:{}.{}".format(*sys.version_info[:2])
    if registry and docker_registry(image) is None:
        image = f"{registry.rstrip('/')}/{image}"
    return image


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` as ``("bucket", "some/prefix")`` (the prefix may be ``""``)."""
    path = url[len("s3://") :] if url.startswith("s3://") else url
    bucket, _, prefix = path.partition("/")
    return bucket, prefix


def state_machine_name(prefix: str | None, flow_name: str) -> str:
    """``<prefix>_<flow>`` (as Metaflow names state machines), checked against the AWS rules.

    The prefix is not repeated when the name already starts with it. Raises ``ConfigError``
    when the result is longer than 80 characters or holds a character Step Functions refuses,
    naming the prefix setting when the prefix is at fault.
    """
    name = flow_name
    if prefix is not None and not flow_name.startswith(prefix):
        name = f"{prefix}_{flow_name}"
    problems: list[Problem] = []
    rules = SFN_NAME_RULES
    if prefix is not None and re.search(_SFN_NAME_BAD, prefix):
        problems.append(
            Problem.bad_argument(
                "METAFLOW_SFN_STATE_MACHINE_PREFIX",
                repr(prefix),
                f"a prefix that makes a valid state machine name ({rules})",
                fix="set METAFLOW_SFN_STATE_MACHINE_PREFIX to letters, digits, '-' and '_'",
            )
        )
    if not flow_name or re.search(_SFN_NAME_BAD, flow_name):
        problems.append(
            Problem.bad_argument(
                "state machine name",
                repr(flow_name),
                f"a flow name that makes a valid state machine name ({rules})",
                fix="name the flow (or pass a name) with letters, digits, '-' and '_'",
            )
        )
    if len(name) > SFN_NAME_MAX:
        fix = "pass a shorter name"
        if prefix:
            fix += " or shorten METAFLOW_SFN_STATE_MACHINE_PREFIX"
        problems.append(
            Problem.bad_argument(
                "state machine name",
                repr(name),
                f"at most {SFN_NAME_MAX} characters, found {len(name)}",
                fix=fix,
            )
        )
    if problems:
        raise ConfigError(problems)
    return name
