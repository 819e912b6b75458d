"""The scenarios of the differential tests (tests/test_differential.py and
tests/test_metaflow_extension.py): their inputs, and what each side must resolve.
"""

from __future__ import annotations

from typing import Any

from tests._differential import (
    BOOLEANS,
    DIR,
    EMPTY_ENV,
    GPU_VENDOR,
    MISSING_PROFILE,
    RELATIVE_HOME,
    VALIDATION,
    WRONG_JSON_TYPES,
    case,
    local,
)

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
        ours_fails=r"METAFLOW_PROFILE.*profiles there: config.json \(the default\)",
        topic=MISSING_PROFILE,
    ),
    case(
        "relative-home",
        env={"METAFLOW_HOME": "mfhome"},  # a folder of the working directory (none here)
        ours_fails=r"METAFLOW_HOME.*an absolute directory path",
        topic=RELATIVE_HOME,
    ),
    case(
        "gpu-vendor-in-capitals",
        env={"METAFLOW_KUBERNETES_GPU_VENDOR": "AMD"},  # the pod's limit would be AMD.com/gpu
        ours_fails=r"KUBERNETES_GPU_VENDOR.*'nvidia', 'amd'",
        topic=GPU_VENDOR,
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
        "untrusted-local-config-steers-nothing",
        profiles={"config.json": {"METAFLOW_ECS_S3_ACCESS_IAM_ROLE": _role("mine")}},
        project=local(
            {
                "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": _role("theirs"),
                "METAFLOW_OTEL_SERVICE_NAME": "their-service",
            }
        ),
        trusted=False,
        differs=("ECS_S3_ACCESS_IAM_ROLE",),
        metaflow_holds={
            "ECS_S3_ACCESS_IAM_ROLE": _role("theirs"),
            "OTEL_SERVICE_NAME": "their-service",
        },
        ours_holds={"ECS_S3_ACCESS_IAM_ROLE": _role("mine"), "OTEL_SERVICE_NAME": "their-service"},
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
            "METAFLOW_SERVICE_RETRY_COUNT": "1",
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
        "kubernetes-quantities-as-json-numbers",
        profiles={
            "config.json": {
                "METAFLOW_KUBERNETES_CPU": 2,
                "METAFLOW_KUBERNETES_MEMORY": 4096,
                "METAFLOW_KUBERNETES_DISK": 10240,
            }
        },
        differs=("KUBERNETES_CPU", "KUBERNETES_MEMORY", "KUBERNETES_DISK"),
        metaflow_holds={"KUBERNETES_MEMORY": 4096},
    ),
    case(
        "kubernetes-quantities-as-text",
        profiles={"config.json": {"METAFLOW_KUBERNETES_CPU": "0.5"}},
        env={"METAFLOW_KUBERNETES_MEMORY": "4096"},
        metaflow_holds={"KUBERNETES_CPU": "0.5", "KUBERNETES_MEMORY": "4096"},
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
        "empty-env-var-for-json",
        env={"METAFLOW_CONTACT_INFO": ""},
        profiles={"config.json": {"METAFLOW_CONTACT_INFO": {"Slack": "#ml"}}},
        metaflow_fails="ValueError",
        topic=EMPTY_ENV,
        ours_holds={"CONTACT_INFO": {"Slack": "#ml"}},
    ),
    case(
        "empty-env-var-for-choice",
        env={"METAFLOW_GS_STORAGE_WORKLOAD_TYPE": ""},
        metaflow_fails="MetaflowException",
        topic=EMPTY_ENV,
        ours_holds={"GS_STORAGE_WORKLOAD_TYPE": "general"},
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
    case(  # Metaflow's sandbox block sets the header to the unset sandbox key: no key is sent
        "sandbox-without-its-api-key-keeps-the-auth-key",
        env={
            **{k: v for k, v in SANDBOX_ENV.items() if k != "METAFLOW_AWS_SANDBOX_API_KEY"},
            "METAFLOW_SERVICE_AUTH_KEY": "user-key",
        },
        differs=("SERVICE_HEADERS",),
        metaflow_holds={"SERVICE_HEADERS": {"x-api-key": None}},
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
