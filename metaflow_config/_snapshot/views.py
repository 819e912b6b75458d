"""What the AWS consumers compute from a snapshot: the accessors of their sections.

``settings.s3.client_kwargs``, ``settings.batch.image``, ``settings.sfn.state_machine_name(...)``
and the others read the resolved values (through the snapshot, so secret references are fetched)
and never change them; the rules themselves are functions of ``consumers`` (imported by the
first accessor that applies one: a task that only reads values never does). Each class extends
the table's section of the same name (``_model.table_aws``), which only declares; ``Settings``
builds these views (``VIEWS``).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._model import table_aws
from .._model.fields import PREFIX, Section
from .._model.values import SecretDict, SecretText, secret_copy
from ..errors import ConfigWarning

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["S3", "VIEWS", "Batch", "Datatools", "Service", "StepFunctions"]


def _snapshot(section: Section) -> Settings:
    """The snapshot ``section`` belongs to (set by ``Settings`` when it builds the section)."""
    snapshot: Settings = object.__getattribute__(section, "_snapshot")
    return snapshot


def _value(section: Section, name: str) -> Any:
    """The value of setting ``name`` (short) in ``section``'s snapshot (a reference fetched)."""
    return _snapshot(section)._value(name)


class S3(table_aws.S3):
    """Talking to S3 (endpoint, TLS, encryption, retries), and what the S3 datastore reads."""

    @property
    def sysroot(self) -> str | None:
        """The S3 datastore root (DATASTORE_SYSROOT_S3): artifacts and code packages."""
        return _value(self, "DATASTORE_SYSROOT_S3")  # type: ignore[no-any-return]

    @property
    def datatools_root(self) -> str | None:
        """The root of metaflow.S3 (DATATOOLS_S3ROOT, by default ``<sysroot>/data``)."""
        return _value(self, "DATATOOLS_S3ROOT")  # type: ignore[no-any-return]

    @property
    def card_root(self) -> str | None:
        """The root of cards (CARD_S3ROOT, by default ``<sysroot>/mf.cards``)."""
        return _value(self, "CARD_S3ROOT")  # type: ignore[no-any-return]

    @property
    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of a boto3 S3 client; a new dict each call.

        DATATOOLS_CLIENT_PARAMS with ``endpoint_url`` (S3_ENDPOINT_URL) and ``verify``
        (S3_VERIFY_CERTIFICATE), and ``config``: a dict of ``botocore.config.Config`` arguments
        whose ``retries`` is S3_CLIENT_RETRY_CONFIG unless the params set retries.
        ``metaflow_config.aws.s3_client()`` builds the client from it. It holds secrets when
        DATATOOLS_CLIENT_PARAMS does: a ``SecretDict``, whose ``repr`` shows none.
        """
        datatools: Datatools = _snapshot(self).datatools
        from . import consumers  # the rules: imported by the first accessor that needs them

        return consumers.s3_client_kwargs(datatools.client_params, self.client_retry_config)

    @property
    def upload_args(self) -> dict[str, str]:
        """Extra arguments of S3 uploads: ``ServerSideEncryption`` (S3_SERVER_SIDE_ENCRYPTION).

        ``ExtraArgs`` of ``upload_file``, or keywords of ``put_object``; empty when not set.
        """
        sse = self.server_side_encryption
        return {"ServerSideEncryption": sse} if sse else {}


class Datatools(table_aws.Datatools):
    """metaflow.S3 and IncludeFile roots and client parameters, and the effective parameters."""

    @property
    def client_params(self) -> dict[str, Any]:
        """The effective datatools client kwargs: DATATOOLS_CLIENT_PARAMS plus endpoint and verify.

        ``endpoint_url`` comes from S3_ENDPOINT_URL unless the params set it; ``verify`` from
        S3_VERIFY_CERTIFICATE when set. A new ``SecretDict`` each call (a mutable ``dict``
        whose ``repr`` masks it): no setting is changed.
        """
        params: SecretDict = secret_copy(self.client_params_setting or {})
        endpoint, verify = _value(self, "S3_ENDPOINT_URL"), _value(self, "S3_VERIFY_CERTIFICATE")
        if endpoint:
            params.setdefault("endpoint_url", endpoint)
        if verify is not None:
            params["verify"] = verify
        return params


class Service(table_aws.Service):
    """The Metaflow metadata service, and the headers its clients send."""

    @property
    def effective_headers(self) -> dict[str, str]:
        """SERVICE_HEADERS plus ``x-api-key`` (SERVICE_AUTH_KEY, or the sandbox key).

        A new ``SecretDict`` each call: a mutable ``dict`` for ``requests`` and ``urllib``,
        whose ``repr`` masks it and whose values are ``SecretText``.
        """
        headers: SecretDict = secret_copy(self.headers or {})
        if self.auth_key is not None:
            headers["x-api-key"] = self.auth_key
        if _value(self, "AWS_SANDBOX_ENABLED"):
            sandbox_key = _value(self, "AWS_SANDBOX_API_KEY")
            if sandbox_key is not None:
                headers["x-api-key"] = sandbox_key
        return headers


class Batch(table_aws.Batch):
    """AWS Batch compute, and what the Batch launcher computes."""

    @property
    def image(self) -> str:
        """The image of a Batch job without its own: see :meth:`image_for`."""
        return self.image_for(None)

    def image_for(self, requested: str | None = None) -> str:
        """The image a Batch job runs, with its registry.

        ``requested`` (a step's ``@batch(image=...)``), else BATCH_CONTAINER_IMAGE, else
        ``python:<major>.<minor>`` of this interpreter; prefixed with BATCH_CONTAINER_REGISTRY
        unless the image names a registry of its own.
        """
        from . import consumers  # the rules: imported by the first accessor that needs them

        return consumers.batch_image(requested, self.container_image, self.container_registry)

    @property
    def job_tags(self) -> dict[str, str]:
        """The AWS tags to put on Batch jobs: BATCH_DEFAULT_TAGS when BATCH_EMIT_TAGS is on.

        When tags are configured but BATCH_EMIT_TAGS is off, the jobs get none, and this warns
        (``ConfigWarning``) instead of dropping them silently.
        """
        if self.emit_tags:
            return dict(self.default_tags)
        if self.default_tags:
            warnings.warn(
                f"{PREFIX}BATCH_DEFAULT_TAGS sets {len(self.default_tags)} tag(s) but "
                f"{PREFIX}BATCH_EMIT_TAGS is off, so Batch jobs get no tags: set "
                f"{PREFIX}BATCH_EMIT_TAGS=true (the launching role needs batch:TagResource) "
                f"or unset {PREFIX}BATCH_DEFAULT_TAGS",
                ConfigWarning,
                stacklevel=2,
            )
        return {}

    def container_environment(self, extra: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """The ``environment`` of a Batch job's container: ``[{"name": ..., "value": ...}]``.

        ``to_env("batch")`` of this snapshot, then ``extra`` (the launcher's own variables,
        e.g. ``METAFLOW_CODE_URL``; they win); the whole is checked against AWS Batch's
        8,192-character limit. Holds secrets, each a ``SecretText`` (see ``_container_env``).
        """
        return _container_env(_snapshot(self), "batch", extra, ("name", "value"))


class StepFunctions(table_aws.StepFunctions):
    """AWS Step Functions scheduling, and what the deployer computes."""

    def state_machine_name(self, flow_name: str) -> str:
        """The state machine of ``flow_name``: ``<SFN_STATE_MACHINE_PREFIX>_<flow_name>``.

        The prefix is not repeated when the name starts with it (as Metaflow). Raises
        ``ConfigError`` if the name breaks the AWS rules (1-80 characters, no whitespace or
        ``<>{}[]?*"#%^|~`$&,;:/`` or backslash), naming the prefix setting when it is at fault.
        """
        from . import consumers  # the rules: imported by the first accessor that needs them

        return consumers.state_machine_name(self.state_machine_prefix, flow_name)

    @property
    def distributed_map_output(self) -> tuple[str, str] | None:
        """SFN_S3_DISTRIBUTED_MAP_OUTPUT_PATH as ``(bucket, prefix)`` for a ``ResultWriter``."""
        path = self.s3_distributed_map_output_path
        from . import consumers  # the rules: imported by the first accessor that needs them

        return None if path is None else consumers.split_s3_url(path)

    def logging_configuration(self, log_execution_history: bool) -> dict[str, Any]:
        """The ``loggingConfiguration`` of CreateStateMachine.

        ``{"level": "OFF"}``, or with ``log_execution_history`` every event with its data to
        SFN_EXECUTION_LOG_GROUP_ARN (``:*`` appended, as Step Functions wants it). Raises
        ``ConfigError`` when the history is asked for and the log group is not set.
        """
        if not log_execution_history:
            return {"level": "OFF"}
        arn = self.execution_log_group_arn
        if arn is None:
            from .require import Need, RequirementError, missing

            what = "logging Step Functions executions"
            need = Need("SFN_EXECUTION_LOG_GROUP_ARN", "the log group the histories go to")
            raise RequirementError("", what, [missing(_snapshot(self), need, what)])
        if not arn.endswith(":*"):
            arn += ":*"
        return {
            "level": "ALL",
            "includeExecutionData": True,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": arn}}],
        }

    def container_environment(self, extra: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """``ContainerOverrides.Environment`` of a Batch task: ``[{"Name": ..., "Value": ...}]``.

        ``to_env("sfn")`` of this snapshot, then ``extra`` (the deployer's own variables; they
        win); the whole is checked against the 8,192-character limit. Holds secrets, each a
        ``SecretText`` (see ``_container_env``).
        """
        return _container_env(_snapshot(self), "sfn", extra, ("Name", "Value"))


def _container_env(
    snapshot: Settings, target: str, extra: Mapping[str, str] | None, keys: tuple[str, str]
) -> list[dict[str, str]]:
    """``to_env(target)`` of ``snapshot`` and ``extra`` (which win), as a container's list.

    Checked whole against AWS Batch's limit. A value that would show a secret is a
    ``SecretText``, a ``str`` whose ``repr`` masks it: the list's ``repr`` shows none, and
    boto3 sends the text.
    """
    from .export import bears_secret, check_overrides_size

    env = {**snapshot.to_env(target), **(extra or {})}
    check_overrides_size(env, target)
    name, value = keys
    return [{name: k, value: SecretText(v) if bears_secret(k, v) else v} for k, v in env.items()]


#: the sections ``Settings`` builds as these views, by attribute
VIEWS: dict[str, type[Section]] = {
    "s3": S3,
    "datatools": Datatools,
    "service": Service,
    "batch": Batch,
    "sfn": StepFunctions,
}
