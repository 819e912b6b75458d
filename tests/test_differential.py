"""Differential test: ``metaflow_config.compat`` against the installed ``metaflow.metaflow_config``.

For each scenario (environment variables, profile files, a project's local config,
``METAFLOW_PROFILE``) one subprocess imports Metaflow's module with exactly that environment,
``METAFLOW_HOME`` and working directory, and prints every upper-case module name as JSON. Here
Metaflow resolves on its own (``METAFLOW_CONFIG_EXTENSION=0``); tests/test_metaflow_extension.py
runs the same scenarios with the extension, where no difference is left. In this
process ``override(env=..., cwd=...)`` resolves the same inputs and every name of
``compat.NAMES`` is read. The two must agree on every name except the documented differences the
scenario declares (``differs``), each of which must be a row of README's "Differences from
Metaflow" table.

Isolation: the subprocess environment is built from scratch (a minimal ``PATH``, ``HOME`` in a
temp directory, the scenario's variables) and never inherits the developer's ``METAFLOW_*``; the
in-process side points ``HOME`` at the same temp directory, so ``~/.metaflowconfig`` is never the
real one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import metaflow_config.compat as compat
from metaflow_config import ConfigError, override
from metaflow_config._layers import find_local_config
from tests.conftest import write_json

README = Path(__file__).resolve().parent.parent / "README.md"

# --- documented differences -------------------------------------------------------------------

#: README "Differences from Metaflow" rows (their first cell, verbatim) that the scenarios show.
BOOLEANS = "Booleans"
WRONG_JSON_TYPES = "Wrong JSON types in a profile (`0` for a bool, `5.7` for an int)"
JSON_NULL = "JSON `null` in a file"
EMPTY_ENV = "Empty environment variable"
DERIVED_ROOTS = "Derived roots"
CONDA_ROOT = "`CONDA_PACKAGE_S3ROOT`"
VERIFY = "`S3_VERIFY_CERTIFICATE=false`"
USER = "`USER`"
SANDBOX = "Sandbox (`AWS_SANDBOX_ENABLED`)"
VALIDATION = "Validation"
MISSING_PROFILE = "Missing named profile"
K8S_INTS = "`KUBERNETES_SHARED_MEMORY`, `KUBERNETES_PORT`"
JOB_QUEUE_ALIAS = "`METAFLOW_JOB_QUEUE_NAME`"

#: Every compat name whose value may differ from Metaflow's, and the README row that explains why.
#: A scenario lists in ``differs`` exactly the names that differ in it.
DIFFERENCES: dict[str, str] = {
    # derived from the sysroot here, unset in Metaflow unless configured
    "CONDA_PACKAGE_S3ROOT": CONDA_ROOT,
    # Metaflow reads only METAFLOW_USER; here $SUDO_USER > $USERNAME > $USER (not root) follow
    "USER": USER,
    # "false"/"true" are booleans here, strings (CA bundle paths to boto3) in Metaflow ...
    "S3_VERIFY_CERTIFICATE": VERIFY,
    # ... and the client params carry the boolean (Metaflow drops a JSON false entirely)
    "DATATOOLS_CLIENT_PARAMS": VERIFY,
    # integers here, the environment's strings in Metaflow
    "KUBERNETES_SHARED_MEMORY": K8S_INTS,
    "KUBERNETES_PORT": K8S_INTS,
    # "no"/"off" are false here, true in Metaflow
    "BATCH_EMIT_TAGS": BOOLEANS,
    "SFN_COMPRESS_STATE_MACHINE": BOOLEANS,
    # METAFLOW_X= is "not set" here, the empty string in Metaflow
    "SFN_DYNAMO_DB_TABLE": EMPTY_ENV,
    "DEFAULT_ENVIRONMENT": EMPTY_ENV,
    # null in a file is "not set in this file" here; None (or str(None) == "None") in Metaflow
    "SFN_IAM_ROLE": JSON_NULL,
    "KUBERNETES_NAMESPACE": JSON_NULL,
    "ARGO_EVENTS_SENSOR_NAMESPACE": JSON_NULL,
    # joined as URLs here; os.path.join drops the root before an absolute suffix in Metaflow
    "DATATOOLS_S3ROOT": DERIVED_ROOTS,
    "DATATOOLS_LOCALROOT": DERIVED_ROOTS,
    # the sandbox supplies derived defaults here; Metaflow overwrites explicit values
    "SERVICE_INTERNAL_URL": SANDBOX,
    "SFN_STATE_MACHINE_PREFIX": SANDBOX,
    # the documented alias is read here; Metaflow does not read it at all
    "BATCH_JOB_QUEUE": JOB_QUEUE_ALIAS,
}

#: Metaflow module-level upper-case names that compat deliberately does not provide.
NOT_PROVIDED: dict[str, str] = {
    "JSON": "a typing alias of the Runner API's parameter types, not configuration",
}
#: compat names Metaflow's module does not bind.
ONLY_IN_COMPAT: dict[str, str] = {
    "AWS_SANDBOX_STACK_NAME": "Metaflow reads it with from_conf only to assign "
    "SFN_STATE_MACHINE_PREFIX in sandbox mode; it is a setting of its own here",
}

# --- scenarios --------------------------------------------------------------------------------

DIR = object()  # a directory in a scenario's project tree
ACCOUNT = "123456789012"
SYSROOT = "s3://mf-bucket/metaflow"


def _role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


#: A full AWS profile as `metaflow configure aws` writes it (seed 000).
AWS_PROFILE: dict[str, Any] = {
    "METAFLOW_DEFAULT_DATASTORE": "s3",
    "METAFLOW_DEFAULT_METADATA": "service",
    "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
    "METAFLOW_BATCH_JOB_QUEUE": "mf-job-queue",
    "METAFLOW_BATCH_CONTAINER_REGISTRY": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
    "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": _role("mf-batch-s3"),
    "METAFLOW_SFN_IAM_ROLE": _role("mf-step-functions"),
    "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": _role("mf-eventbridge"),
    "METAFLOW_SFN_DYNAMO_DB_TABLE": "mf-step-functions-state",
    "METAFLOW_SERVICE_URL": "https://metadata.example.com/api",
    "METAFLOW_SERVICE_INTERNAL_URL": "https://metadata.internal.example.com/api",
}

SANDBOX_ENV = {
    "METAFLOW_AWS_SANDBOX_ENABLED": "true",
    "METAFLOW_AWS_SANDBOX_API_KEY": "sandbox-key",
    "METAFLOW_AWS_SANDBOX_INTERNAL_SERVICE_URL": "https://sandbox.internal.example.com/api",
    "METAFLOW_AWS_SANDBOX_REGION": "us-west-2",
    "METAFLOW_AWS_SANDBOX_STACK_NAME": "mf-sandbox-stack",
    "METAFLOW_SERVICE_URL": "https://sandbox.example.com/api",
}


@dataclass(frozen=True)
class Scenario:
    """The inputs of one comparison and what is expected of it.

    ``profiles`` are files under ``METAFLOW_HOME`` (``config.json``, ``config_<name>.json``);
    ``project`` maps paths under the project directory to JSON content (or ``DIR``); ``cwd`` is
    the working directory inside the project. ``default_home`` leaves ``METAFLOW_HOME`` unset so
    ``~/.metaflowconfig`` (under the temp ``HOME``) is read. ``metaflow_fails`` names the
    exception Metaflow's import raises; ``ours_fails`` a pattern the ``ConfigError`` matches;
    ``topic`` the README row of either. ``metaflow_holds`` and ``ours_holds`` pin values each
    side resolves.
    """

    env: Mapping[str, str] = field(default_factory=dict)
    profiles: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    project: Mapping[str, Any] = field(default_factory=dict)
    cwd: str = "."
    default_home: bool = False
    differs: tuple[str, ...] = ()
    metaflow_fails: str = ""
    ours_fails: str = ""
    topic: str = ""
    metaflow_holds: Mapping[str, Any] = field(default_factory=dict)
    ours_holds: Mapping[str, Any] = field(default_factory=dict)


def case(case_id: str, **kwargs: Any) -> Any:
    """One scenario as a pytest parameter with an id."""
    return pytest.param(Scenario(**kwargs), id=case_id)


def local(data: Mapping[str, Any]) -> dict[str, Any]:
    """A project whose ``.metaflow/config.json`` holds ``data``."""
    return {".metaflow/config.json": data}


SCENARIOS = [
    # -- profiles --------------------------------------------------------------------------
    case("nothing-configured-local-mode"),
    case(
        "aws-profile",
        profiles={"config.json": AWS_PROFILE},
        differs=("CONDA_PACKAGE_S3ROOT",),
        metaflow_holds={"DATATOOLS_S3ROOT": SYSROOT + "/data", "CONDA_PACKAGE_S3ROOT": None},
    ),
    case(
        "aws-profile-in-default-home",
        default_home=True,
        profiles={"config.json": AWS_PROFILE},
        differs=("CONDA_PACKAGE_S3ROOT",),
        metaflow_holds={"BATCH_JOB_QUEUE": "mf-job-queue"},
    ),
    case(
        "named-profile",
        env={"METAFLOW_PROFILE": "prod"},
        profiles={
            "config.json": {"METAFLOW_BATCH_JOB_QUEUE": "dev"},
            "config_prod.json": AWS_PROFILE,
        },
        differs=("CONDA_PACKAGE_S3ROOT",),
        metaflow_holds={"BATCH_JOB_QUEUE": "mf-job-queue"},
    ),
    case(
        "named-profile-replaces-default-file",
        env={"METAFLOW_PROFILE": "dev"},
        profiles={
            "config.json": AWS_PROFILE,
            "config_dev.json": {"METAFLOW_BATCH_JOB_QUEUE": "dev-queue"},
        },
        metaflow_holds={"DATASTORE_SYSROOT_S3": None, "BATCH_JOB_QUEUE": "dev-queue"},
    ),
    case(
        "missing-named-profile",
        env={"METAFLOW_PROFILE": "nope"},
        profiles={"config.json": AWS_PROFILE},
        metaflow_fails="MetaflowException",
        ours_fails=r"METAFLOW_PROFILE.*profiles there: default",
        topic=MISSING_PROFILE,
    ),
    # -- precedence ------------------------------------------------------------------------
    case(
        "env-beats-profile",
        env={"METAFLOW_BATCH_JOB_QUEUE": "env-queue", "METAFLOW_SFN_IAM_ROLE": _role("env-sfn")},
        profiles={"config.json": AWS_PROFILE},
        differs=("CONDA_PACKAGE_S3ROOT",),
        metaflow_holds={"BATCH_JOB_QUEUE": "env-queue"},
    ),
    case(
        "local-beats-profile",
        profiles={"config.json": {"METAFLOW_BATCH_JOB_QUEUE": "profile-queue"}},
        project=local({"METAFLOW_BATCH_JOB_QUEUE": "local-queue"}),
        cwd="src/flows",
        metaflow_holds={"BATCH_JOB_QUEUE": "local-queue"},
    ),
    case(
        "env-beats-local",
        env={"METAFLOW_BATCH_JOB_QUEUE": "env-queue"},
        profiles={"config.json": {"METAFLOW_BATCH_JOB_QUEUE": "profile-queue"}},
        project=local({"METAFLOW_BATCH_JOB_QUEUE": "local-queue"}),
        cwd="src",
        metaflow_holds={"BATCH_JOB_QUEUE": "env-queue"},
    ),
    case(
        "local-config-in-working-directory",
        project=local(
            {"METAFLOW_DEFAULT_DATASTORE": "s3", "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT}
        ),
        differs=("CONDA_PACKAGE_S3ROOT",),
        metaflow_holds={"DEFAULT_DATASTORE": "s3"},
    ),
    case(
        "nearest-metaflow-directory-wins-even-without-config",
        project={
            **local({"METAFLOW_BATCH_JOB_QUEUE": "outer-queue"}),
            "inner/.metaflow": DIR,
        },
        cwd="inner/deeper",
        metaflow_holds={"BATCH_JOB_QUEUE": None},
    ),
    # -- derived roots ---------------------------------------------------------------------
    case(
        "roots-derived-from-local-sysroot",
        profiles={"config.json": {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://profile-bucket/mf"}},
        project=local({"METAFLOW_DATASTORE_SYSROOT_S3": "s3://local-bucket/mf"}),
        differs=("CONDA_PACKAGE_S3ROOT",),
        metaflow_holds={"CARD_S3ROOT": "s3://local-bucket/mf/mf.cards"},
    ),
    case(
        "roots-derived-from-env-sysroot",
        env={"METAFLOW_DATASTORE_SYSROOT_S3": "s3://env-bucket/mf"},
        profiles={"config.json": {"METAFLOW_DATASTORE_SYSROOT_S3": "s3://profile-bucket/mf"}},
        project=local({"METAFLOW_DATASTORE_SYSROOT_S3": "s3://local-bucket/mf"}),
        differs=("CONDA_PACKAGE_S3ROOT",),
        metaflow_holds={"DATATOOLS_S3ROOT": "s3://env-bucket/mf/data"},
    ),
    case(
        "roots-with-trailing-slash-and-custom-suffix",
        profiles={
            "config.json": {
                "METAFLOW_DATASTORE_SYSROOT_S3": "s3://mf-bucket/mf/",
                "METAFLOW_DATATOOLS_SUFFIX": "tools",
            }
        },
        differs=("CONDA_PACKAGE_S3ROOT",),
        metaflow_holds={"DATATOOLS_S3ROOT": "s3://mf-bucket/mf/tools"},
    ),
    case(
        "roots-with-absolute-suffix",
        env={
            "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": "/srv/metaflow",
            "METAFLOW_DATATOOLS_SUFFIX": "/tools",
        },
        differs=("CONDA_PACKAGE_S3ROOT", "DATATOOLS_S3ROOT", "DATATOOLS_LOCALROOT"),
        metaflow_holds={"DATATOOLS_S3ROOT": "/tools", "DATATOOLS_LOCALROOT": "/tools"},
    ),
    case(
        "roots-azure-gs-local",
        profiles={
            "config.json": {
                "METAFLOW_DATASTORE_SYSROOT_AZURE": "mf-container/prefix",
                "METAFLOW_DATASTORE_SYSROOT_GS": "gs://mf-gs-bucket/prefix",
                "METAFLOW_DATASTORE_SYSROOT_LOCAL": "/srv/metaflow",
            }
        },
        metaflow_holds={"CARD_GSROOT": "gs://mf-gs-bucket/prefix/mf.cards"},
    ),
    case(
        "explicit-datatools-s3root-beats-derived",
        env={"METAFLOW_DATATOOLS_S3ROOT": "s3://tools-bucket/data"},
        profiles={"config.json": {"METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT}},
        differs=("CONDA_PACKAGE_S3ROOT",),
        metaflow_holds={"CARD_S3ROOT": SYSROOT + "/mf.cards"},
    ),
    case(
        "explicit-roots-in-profile-sysroot-in-env",
        env={"METAFLOW_DATASTORE_SYSROOT_S3": "s3://env-bucket/mf"},
        profiles={
            "config.json": {
                "METAFLOW_DATATOOLS_S3ROOT": "s3://tools-bucket/data",
                "METAFLOW_CONDA_PACKAGE_S3ROOT": "s3://conda-bucket/pkgs",
                "METAFLOW_SFN_S3_DISTRIBUTED_MAP_OUTPUT_PATH": "s3://map-bucket/out",
            }
        },
        metaflow_holds={"DATATOOLS_S3ROOT": "s3://tools-bucket/data"},
    ),
    # -- service ---------------------------------------------------------------------------
    case(
        "service-auth-key-and-headers-from-env",
        env={
            "METAFLOW_SERVICE_URL": "https://metadata.example.com/api",
            "METAFLOW_SERVICE_AUTH_KEY": "s3cr3t",
            "METAFLOW_SERVICE_HEADERS": '{"x-team": "ml"}',
        },
        metaflow_holds={"SERVICE_HEADERS": {"x-team": "ml", "x-api-key": "s3cr3t"}},
    ),
    case(
        "service-auth-key-and-headers-in-profile",
        profiles={
            "config.json": {
                "METAFLOW_SERVICE_URL": "https://metadata.example.com/api",
                "METAFLOW_SERVICE_AUTH_KEY": "s3cr3t",
                "METAFLOW_SERVICE_HEADERS": {"x-team": "ml"},
                "METAFLOW_SERVICE_RETRY_COUNT": 2,
                "METAFLOW_SERVICE_VERSION_CHECK": False,
            }
        },
    ),
    # -- S3 client parameters --------------------------------------------------------------
    case(
        "s3-endpoint-and-ca-bundle",
        env={
            "METAFLOW_S3_ENDPOINT_URL": "https://minio.example.com:9000",
            "METAFLOW_S3_VERIFY_CERTIFICATE": "/etc/ssl/certs/minio-ca.pem",
            "METAFLOW_S3_SERVER_SIDE_ENCRYPTION": "aws:kms",
        },
        metaflow_holds={
            "DATATOOLS_CLIENT_PARAMS": {
                "endpoint_url": "https://minio.example.com:9000",
                "verify": "/etc/ssl/certs/minio-ca.pem",
            }
        },
    ),
    case(
        "s3-endpoint-in-client-params-wins",
        env={
            "METAFLOW_S3_ENDPOINT_URL": "https://minio.example.com:9000",
            "METAFLOW_DATATOOLS_CLIENT_PARAMS": '{"endpoint_url": "https://other.example.com"}',
        },
    ),
    case(
        "s3-verify-certificate-false-from-env",
        env={"METAFLOW_S3_VERIFY_CERTIFICATE": "false"},
        differs=("S3_VERIFY_CERTIFICATE", "DATATOOLS_CLIENT_PARAMS"),
        metaflow_holds={"DATATOOLS_CLIENT_PARAMS": {"verify": "false"}},
    ),
    case(
        "s3-verify-certificate-false-in-profile",
        profiles={"config.json": {"METAFLOW_S3_VERIFY_CERTIFICATE": False}},
        differs=("DATATOOLS_CLIENT_PARAMS",),
        metaflow_holds={"S3_VERIFY_CERTIFICATE": False, "DATATOOLS_CLIENT_PARAMS": {}},
    ),
    # -- fallbacks between settings ----------------------------------------------------------
    case(
        "default-container-image-and-registry-fall-through",
        profiles={
            "config.json": {
                "METAFLOW_DEFAULT_CONTAINER_IMAGE": "python:3.11",
                "METAFLOW_DEFAULT_CONTAINER_REGISTRY": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com",
            }
        },
        metaflow_holds={
            "BATCH_CONTAINER_IMAGE": "python:3.11",
            "KUBERNETES_CONTAINER_IMAGE": "python:3.11",
        },
    ),
    case(
        "batch-container-image-beats-default",
        env={"METAFLOW_BATCH_CONTAINER_IMAGE": "mf/batch:1"},
        profiles={"config.json": {"METAFLOW_DEFAULT_CONTAINER_IMAGE": "python:3.11"}},
        metaflow_holds={
            "BATCH_CONTAINER_IMAGE": "mf/batch:1",
            "KUBERNETES_CONTAINER_IMAGE": "python:3.11",
        },
    ),
    case(
        "kubernetes-namespace-and-argo-webhook",
        env={
            "METAFLOW_KUBERNETES_NAMESPACE": "ml-jobs",
            "METAFLOW_ARGO_EVENTS_WEBHOOK_URL": "https://events.example.com/hook",
        },
        metaflow_holds={"ARGO_EVENTS_SENSOR_NAMESPACE": "ml-jobs"},
    ),
    case(
        "client-cache-taskdatastore-count-from-env",
        env={"METAFLOW_CLIENT_CACHE_MAX_FLOWDATASTORE_COUNT": "7"},
        metaflow_holds={"CLIENT_CACHE_MAX_TASKDATASTORE_COUNT": 700},
    ),
    case(
        "client-cache-taskdatastore-count-in-profile",
        profiles={"config.json": {"METAFLOW_CLIENT_CACHE_MAX_FLOWDATASTORE_COUNT": 3}},
        metaflow_holds={"CLIENT_CACHE_MAX_TASKDATASTORE_COUNT": 300},
    ),
    # -- integers and booleans ---------------------------------------------------------------
    case(
        "integers-from-env-strings",
        env={
            "METAFLOW_S3_RETRY_COUNT": "3",
            "METAFLOW_S3_WORKER_COUNT": "16",
            "METAFLOW_SERVICE_RETRY_COUNT": "0",
            "METAFLOW_DEFAULT_RUNTIME_LIMIT": "3600",
            "METAFLOW_RUNTIME_CARD_RENDER_INTERVAL": "15",
            "METAFLOW_AIRFLOW_KUBERNETES_STARTUP_TIMEOUT_SECONDS": "120",
        },
        metaflow_holds={"S3_RETRY_COUNT": 3},
    ),
    case(
        "integers-as-json-numbers",
        profiles={
            "config.json": {
                "METAFLOW_S3_RETRY_COUNT": 3,
                "METAFLOW_CLIENT_CACHE_MAX_SIZE": 500,
                "METAFLOW_KUBERNETES_SHARED_MEMORY": 1024,
                "METAFLOW_KUBERNETES_PORT": 8080,
                "METAFLOW_S3_WORKER_COUNT": "16",  # a string in a file converts like the env's
            }
        },
        metaflow_holds={"KUBERNETES_SHARED_MEMORY": 1024},
    ),
    case(
        "kubernetes-integers-from-env-strings",
        env={"METAFLOW_KUBERNETES_SHARED_MEMORY": "1024", "METAFLOW_KUBERNETES_PORT": "8080"},
        differs=("KUBERNETES_SHARED_MEMORY", "KUBERNETES_PORT"),
        metaflow_holds={"KUBERNETES_SHARED_MEMORY": "1024"},
    ),
    case(
        "booleans-from-env-strings",
        env={
            "METAFLOW_BATCH_EMIT_TAGS": "true",
            "METAFLOW_SFN_COMPRESS_STATE_MACHINE": "1",
            "METAFLOW_SERVICE_VERSION_CHECK": "FALSE",
            "METAFLOW_INCLUDE_FOREACH_STACK": "0",
            "METAFLOW_CARD_NO_WARNING": "yes",
            "METAFLOW_SPIN_PERSIST": "True",
            "METAFLOW_DEBUG_S3CLIENT": "1",
            "METAFLOW_DEBUG_SUBCOMMAND": "true",
        },
        metaflow_holds={"SERVICE_VERSION_CHECK": False, "CARD_NO_WARNING": True},
    ),
    case(
        "booleans-as-json",
        profiles={
            "config.json": {
                "METAFLOW_BATCH_EMIT_TAGS": True,
                "METAFLOW_ESCAPE_HATCH_WARNING": False,
                "METAFLOW_DEBUG_CONDA": True,
            }
        },
    ),
    case(
        "booleans-no-and-off",
        env={"METAFLOW_BATCH_EMIT_TAGS": "no", "METAFLOW_SFN_COMPRESS_STATE_MACHINE": "off"},
        differs=("BATCH_EMIT_TAGS", "SFN_COMPRESS_STATE_MACHINE"),
        metaflow_holds={"BATCH_EMIT_TAGS": True},
    ),
    case(
        "boolean-as-json-number",
        profiles={"config.json": {"METAFLOW_BATCH_EMIT_TAGS": 0, "METAFLOW_CARD_NO_WARNING": 1}},
        metaflow_fails="AttributeError",
        topic=WRONG_JSON_TYPES,
        ours_holds={"BATCH_EMIT_TAGS": False, "CARD_NO_WARNING": True},
    ),
    case(
        "junk-boolean",
        env={"METAFLOW_BATCH_EMIT_TAGS": "maybe"},
        ours_fails=r"METAFLOW_BATCH_EMIT_TAGS.*'maybe'",
        topic=BOOLEANS,
        metaflow_holds={"BATCH_EMIT_TAGS": True},
    ),
    case(
        "float-for-integer-in-profile",
        profiles={"config.json": {"METAFLOW_S3_RETRY_COUNT": 5.7}},
        ours_fails=r"METAFLOW_S3_RETRY_COUNT.*config\.json:METAFLOW_S3_RETRY_COUNT",
        topic=WRONG_JSON_TYPES,
        metaflow_holds={"S3_RETRY_COUNT": 5},
    ),
    case(
        "invalid-s3-sysroot",
        env={"METAFLOW_DATASTORE_SYSROOT_S3": "my-bucket/metaflow"},
        ours_fails=r"METAFLOW_DATASTORE_SYSROOT_S3.*s3://bucket",
        topic=VALIDATION,
        metaflow_holds={"DATATOOLS_S3ROOT": "my-bucket/metaflow/data"},
    ),
    # -- JSON-valued settings ----------------------------------------------------------------
    case(
        "json-settings-from-env-strings",
        env={
            "METAFLOW_BATCH_DEFAULT_TAGS": '{"team": "ml", "cost-center": "42"}',
            "METAFLOW_S3_CLIENT_RETRY_CONFIG": '{"max_attempts": 3, "mode": "standard"}',
            "METAFLOW_CONTACT_INFO": '{"Slack": "#ml-platform"}',
            "METAFLOW_SPIN_ALLOWED_DECORATORS": '["card", "timeout"]',
            "METAFLOW_DATATOOLS_SESSION_VARS": '{"region_name": "eu-west-1"}',
        },
        metaflow_holds={"CONTACT_INFO": {"Slack": "#ml-platform"}},
    ),
    case(
        "json-settings-as-file-objects",
        profiles={
            "config.json": {
                "METAFLOW_BATCH_DEFAULT_TAGS": {"team": "ml"},
                "METAFLOW_S3_CLIENT_RETRY_CONFIG": {"max_attempts": 4, "mode": "adaptive"},
                "METAFLOW_CONTACT_INFO": {"Email": "ml@example.com"},
                "METAFLOW_SPIN_DISALLOWED_DECORATORS": ["parallel", "batch"],
                "METAFLOW_DATATOOLS_SESSION_VARS": '{"region_name": "us-east-2"}',
            }
        },
        project=local({"METAFLOW_DATATOOLS_CLIENT_PARAMS": {"region_name": "eu-west-1"}}),
    ),
    # -- empty values and null -----------------------------------------------------------------
    case(
        "empty-env-var-is-not-set",
        env={"METAFLOW_SFN_DYNAMO_DB_TABLE": "", "METAFLOW_DEFAULT_ENVIRONMENT": ""},
        profiles={"config.json": {"METAFLOW_SFN_DYNAMO_DB_TABLE": "mf-table"}},
        differs=("SFN_DYNAMO_DB_TABLE", "DEFAULT_ENVIRONMENT"),
        metaflow_holds={"SFN_DYNAMO_DB_TABLE": "", "DEFAULT_ENVIRONMENT": ""},
    ),
    case(
        "empty-metaflow-home-is-not-set",
        default_home=True,
        env={"METAFLOW_HOME": ""},
        profiles={"config.json": {"METAFLOW_SFN_DYNAMO_DB_TABLE": "home-table"}},
        project={"config.json": {"METAFLOW_SFN_DYNAMO_DB_TABLE": "cwd-table"}},
        differs=("SFN_DYNAMO_DB_TABLE",),
        metaflow_holds={"SFN_DYNAMO_DB_TABLE": "cwd-table"},  # METAFLOW_HOME="" is the cwd
        ours_holds={"SFN_DYNAMO_DB_TABLE": "home-table"},
    ),
    case(
        "empty-env-var-for-integer",
        env={"METAFLOW_S3_RETRY_COUNT": ""},
        metaflow_fails="ValueError",
        topic=EMPTY_ENV,
        ours_holds={"S3_RETRY_COUNT": 7},
    ),
    case(
        "json-null-in-files",
        profiles={
            "config.json": {
                "METAFLOW_SFN_IAM_ROLE": _role("profile-sfn"),
                "METAFLOW_KUBERNETES_NAMESPACE": None,
            }
        },
        project=local({"METAFLOW_SFN_IAM_ROLE": None}),
        differs=("SFN_IAM_ROLE", "KUBERNETES_NAMESPACE", "ARGO_EVENTS_SENSOR_NAMESPACE"),
        metaflow_holds={"SFN_IAM_ROLE": None, "KUBERNETES_NAMESPACE": "None"},
    ),
    # -- aliases, user, sandbox, misc ----------------------------------------------------------
    case(
        "job-queue-alias",
        env={"METAFLOW_JOB_QUEUE_NAME": "my-queue"},
        profiles={"config.json": {"METAFLOW_BATCH_JOB_QUEUE": "profile-queue"}},
        differs=("BATCH_JOB_QUEUE",),
        metaflow_holds={"BATCH_JOB_QUEUE": "profile-queue"},
    ),
    case(
        "job-queue-alias-loses-to-own-name",
        env={"METAFLOW_JOB_QUEUE_NAME": "alias-queue", "METAFLOW_BATCH_JOB_QUEUE": "own-queue"},
    ),
    case("user-from-metaflow-user", env={"METAFLOW_USER": "alice", "USER": "bob"}),
    case(
        "user-falls-back-to-login-name",
        env={"USER": "bob"},
        differs=("USER",),
        metaflow_holds={"USER": None},
    ),
    case(
        "user-prefers-sudo-user-over-root",
        env={"SUDO_USER": "carol", "USER": "root"},
        differs=("USER",),
    ),
    case("user-root-is-no-user", env={"USER": "root"}),
    case(
        "sandbox-enabled",
        env={**SANDBOX_ENV, "METAFLOW_SERVICE_AUTH_KEY": "user-key"},
        metaflow_holds={
            "SERVICE_INTERNAL_URL": "https://sandbox.internal.example.com/api",
            "SFN_STATE_MACHINE_PREFIX": "mf-sandbox-stack",
            "SERVICE_HEADERS": {"x-api-key": "sandbox-key"},
        },
    ),
    case(
        "sandbox-with-explicit-values",
        env={
            **SANDBOX_ENV,
            "METAFLOW_SERVICE_INTERNAL_URL": "https://mine.example.com/api",
            "METAFLOW_SFN_STATE_MACHINE_PREFIX": "mine",
        },
        differs=("SERVICE_INTERNAL_URL", "SFN_STATE_MACHINE_PREFIX"),
        metaflow_holds={"SFN_STATE_MACHINE_PREFIX": "mf-sandbox-stack"},
    ),
    case(
        "disable-tracing-and-tracing-settings",
        env={
            "DISABLE_TRACING": "1",
            "METAFLOW_OTEL_ENDPOINT": "https://otel.example.com:4318",
            "METAFLOW_CONSOLE_TRACE_ENABLED": "true",
            "METAFLOW_OTEL_SERVICE_NAME": "flows",
        },
        metaflow_holds={"DISABLE_TRACING": True},
    ),
    case(
        "conda-kubernetes-argo-strings",
        profiles={
            "config.json": {
                "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
                "METAFLOW_CONDA_PACKAGE_S3ROOT": "s3://conda-bucket/pkgs",
                "METAFLOW_CONDA_DEPENDENCY_RESOLVER": "mamba",
                "METAFLOW_KUBERNETES_SERVICE_ACCOUNT": "mf-runner",
                "METAFLOW_KUBERNETES_CPU": "2",
                "METAFLOW_ARGO_EVENTS_EVENT_BUS": "mf-bus",
                "METAFLOW_AZURE_STORAGE_WORKLOAD_TYPE": "high_throughput",
            }
        },
    ),
]


# --- running both sides -----------------------------------------------------------------------

#: Runs in the subprocess: import Metaflow's module, print every upper-case name as JSON.
PROBE = """
import json
try:
    import metaflow.metaflow_config as m
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
else:
    names = {n: v for n, v in vars(m).items() if n.isupper()}
    print(json.dumps({"values": names}, default=repr))
"""


@dataclass(frozen=True)
class Built:
    """A scenario laid out on disk: the environment and working directory both sides use."""

    env: dict[str, str]
    home: Path
    cwd: Path


def build(scenario: Scenario, root: Path) -> Built:
    """Write the scenario's files under ``root`` and return the environment to run with."""
    user_home = root / "user-home"
    user_home.mkdir()
    mf_home = user_home / ".metaflowconfig" if scenario.default_home else root / "mfhome"
    mf_home.mkdir()
    for name, data in scenario.profiles.items():
        write_json(mf_home / name, data).chmod(0o600)  # as a careful user keeps secrets
    project = root / "project"
    project.mkdir()
    for rel, data in scenario.project.items():
        if data is DIR:
            (project / rel).mkdir(parents=True)
        else:
            write_json(project / rel, data).chmod(0o600)
    cwd = project / scenario.cwd
    cwd.mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(user_home), "LC_ALL": "C.UTF-8"}
    if not scenario.default_home:
        env["METAFLOW_HOME"] = str(mf_home)
    env.update(scenario.env)
    return Built(env, user_home, Path(os.path.realpath(cwd)))


def run_metaflow(built: Built, *, extension: bool = False) -> dict[str, Any]:
    """Import ``metaflow.metaflow_config`` in a fresh process with exactly ``built``'s inputs.

    Metaflow resolves on its own unless ``extension`` (then metaflow-config's extension applies).
    """
    env = dict(built.env)
    if not extension:
        env["METAFLOW_CONFIG_EXTENSION"] = "0"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        cwd=built.cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def normalized(value: Any) -> Any:
    """A value as it reads back from the subprocess's JSON (tuples become lists, ...)."""
    return json.loads(json.dumps(value, default=repr))


def read_ours(built: Built, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every compat name, resolved from the same environment, home and working directory."""
    monkeypatch.setenv("HOME", str(built.home))  # ~ in a default METAFLOW_HOME: the temp one
    with override(env=built.env, cwd=built.cwd):
        return {name: normalized(getattr(compat, name)) for name in compat.NAMES}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A scenario root under which no stray ``.metaflow`` directory could be picked up."""
    stray = find_local_config(str(tmp_path))
    assert stray is None, f"a .metaflow directory above the test tree would leak in: {stray}"
    return tmp_path


# --- tests ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_compat_matches_metaflow(
    scenario: Scenario, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every compat name equals Metaflow's, except exactly the scenario's documented differences."""
    built = build(scenario, root)
    theirs = run_metaflow(built)
    if scenario.metaflow_fails:
        assert theirs.get("error") == scenario.metaflow_fails, theirs
    else:
        assert "error" not in theirs, theirs
    for name, expected in scenario.metaflow_holds.items():
        assert theirs["values"][name] == expected, name
    if scenario.ours_fails:
        with pytest.raises(ConfigError, match=re.compile(scenario.ours_fails, re.DOTALL)):
            read_ours(built, monkeypatch)
        return
    ours = read_ours(built, monkeypatch)
    for name, expected in scenario.ours_holds.items():
        assert ours[name] == expected, name
    if scenario.metaflow_fails:
        return
    values = theirs["values"]
    differing = {
        name: (values[name], ours[name])
        for name in compat.NAMES
        if name not in ONLY_IN_COMPAT and values[name] != ours[name]
    }
    undocumented = sorted(set(differing) - set(DIFFERENCES))
    assert not undocumented, {n: differing[n] for n in undocumented}
    assert set(differing) == set(scenario.differs), differing


def test_declared_differences_are_documented() -> None:
    """Each scenario's differences and failure topics are DIFFERENCES entries and README rows."""
    rows = readme_difference_topics()
    assert set(DIFFERENCES.values()) <= rows, sorted(set(DIFFERENCES.values()) - rows)
    for param in SCENARIOS:
        scenario: Scenario = param.values[0]
        assert set(scenario.differs) <= set(DIFFERENCES), param.id
        fails = bool(scenario.metaflow_fails or scenario.ours_fails)
        assert fails == bool(scenario.topic), f"{param.id}: a failing side names its README row"
        assert not (fails and scenario.differs), param.id
        assert not scenario.topic or scenario.topic in rows, (param.id, scenario.topic)


def test_every_documented_difference_occurs() -> None:
    """Every DIFFERENCES entry is declared by a scenario (which pins that it really differs)."""
    declared = {name for param in SCENARIOS for name in param.values[0].differs}
    assert set(DIFFERENCES) <= declared, sorted(set(DIFFERENCES) - declared)


@pytest.mark.slow
def test_compat_covers_metaflows_module(root: Path) -> None:
    """compat.NAMES holds every upper-case name of Metaflow's module, save the listed ones."""
    theirs = set(run_metaflow(build(Scenario(), root))["values"])
    assert theirs - set(compat.NAMES) == set(NOT_PROVIDED)
    assert set(compat.NAMES) - theirs == set(ONLY_IN_COMPAT)


def readme_difference_topics() -> set[str]:
    """The first cells of README's "Differences from Metaflow" table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Differences from Metaflow", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return {row.split("|")[1].strip() for row in rows[2:]}
