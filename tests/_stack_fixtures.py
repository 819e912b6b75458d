"""Deployed stacks for the import tests: the official CloudFormation Outputs, Terraform's outputs.

Written for these tests after the shapes of Netflix/metaflow-tools'
``aws/cloudformation/metaflow-cfn-template.yml`` (its Outputs: keys, descriptions with their
``[METAFLOW_*]`` tags, which hold ARNs and which names) and of terraform-aws-metaflow's
``outputs.tf`` (outputs named after settings, ``metaflow_profile_json`` as ``jsonencode`` writes
it, the API key left as a placeholder naming its id). The resources are the cheap ones moto
creates from a template (a bucket, roles, a table); the Batch job queue is made through Batch's
own API and its ARN given as the value, as ``!Ref JobQueue`` gives it.
"""

from __future__ import annotations

import json
from typing import Any

REGION = "us-west-2"
ACCOUNT = "123456789012"
QUEUE_ARN = f"arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/metaflow-queue"
SERVICE_URL = f"https://abcdef1234.execute-api.{REGION}.amazonaws.com/api/"
INTERNAL_URL = f"http://metaflow-nlb-0123456789.elb.{REGION}.amazonaws.com/"

_TRUST = {"Version": "2012-10-17", "Statement": []}


def _role() -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": _TRUST}}


#: The official template's resources that its Metaflow outputs refer to (moto creates these)
RESOURCES: dict[str, Any] = {
    "MetaflowS3Bucket": {"Type": "AWS::S3::Bucket"},
    "BatchS3TaskRole": _role(),
    "EventBridgeRole": _role(),
    "StepFunctionsRole": _role(),
    "MetaflowUserRole": _role(),
    "StepFunctionsStateDDB": {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "AttributeDefinitions": [{"AttributeName": "pathspec", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pathspec", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    },
}


def official_outputs(api_key_id: str, queue_arn: str = QUEUE_ARN) -> dict[str, Any]:
    """The Outputs section of the official template (UI outputs left out), as JSON."""
    return {
        "MetaflowDataStoreS3Url": {
            "Description": "Amazon S3 URL for Metaflow DataStore [METAFLOW_DATASTORE_SYSROOT_S3]",
            "Value": {"Fn::Sub": "s3://${MetaflowS3Bucket}/metaflow"},
        },
        "MetaflowDataToolsS3Url": {
            "Description": "Amazon S3 URL for Metaflow DataTools [METAFLOW_DATATOOLS_S3ROOT]",
            "Value": {"Fn::Sub": "s3://${MetaflowS3Bucket}/data"},
        },
        "BatchJobQueueArn": {
            "Description": "AWS Batch Job Queue ARN for Metaflow [METAFLOW_BATCH_JOB_QUEUE]",
            "Value": queue_arn,
        },
        "ECSJobRoleForBatchJobs": {
            "Description": "Role for AWS Batch to Access Amazon S3 "
            "[METAFLOW_ECS_S3_ACCESS_IAM_ROLE]",
            "Value": {"Fn::GetAtt": ["BatchS3TaskRole", "Arn"]},
        },
        "ServiceUrl": {
            "Description": "URL for Metadata Service (Open to Public Access) "
            "[METAFLOW_SERVICE_URL]",
            "Value": {
                "Fn::Sub": "https://abcdef1234.execute-api.${AWS::Region}.amazonaws.com/api/"
            },
        },
        "InternalServiceUrl": {
            "Description": "URL for Metadata Service (Accessible in VPC) "
            "[METAFLOW_SERVICE_INTERNAL_URL]",
            "Value": {
                "Fn::Sub": "http://metaflow-nlb-0123456789.elb.${AWS::Region}.amazonaws.com/"
            },
        },
        "ApiKeyId": {
            "Description": "API Gateway Key ID for Metadata Service. Fetch Key from AWS Console "
            "[METAFLOW_SERVICE_AUTH_KEY]",
            "Value": api_key_id,
        },
        "MetaflowUserRoleArn": {
            "Description": "IAM Role for Metaflow Stack",
            "Value": {"Fn::GetAtt": ["MetaflowUserRole", "Arn"]},
        },
        "EventBridgeRoleArn": {
            "Description": "IAM Role for Event Bridge [METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE]",
            "Value": {"Fn::GetAtt": ["EventBridgeRole", "Arn"]},
        },
        "StepFunctionsRoleArn": {
            "Description": "IAM Role for Step Functions [METAFLOW_SFN_IAM_ROLE]",
            "Value": {"Fn::GetAtt": ["StepFunctionsRole", "Arn"]},
        },
        "DDBTableName": {
            "Description": "DynamoDB Table Name [METAFLOW_SFN_DYNAMO_DB_TABLE]",
            "Value": {"Ref": "StepFunctionsStateDDB"},
        },
        "MigrationFunctionName": {
            "Description": "Name of DB Migration Function",
            "Value": "metaflow-ExecuteDBMigration-0123",
        },
    }


def template(outputs: dict[str, Any]) -> str:
    """A template body: the official resources and ``outputs``."""
    return json.dumps(
        {"AWSTemplateFormatVersion": "2010-09-09", "Resources": RESOURCES, "Outputs": outputs}
    )


def output(value: Any, *, sensitive: bool = False) -> dict[str, Any]:
    """One output as ``terraform output -json`` writes it."""
    kind: Any = "string" if isinstance(value, str) else ["object", {}]
    return {"sensitive": sensitive, "type": kind, "value": value}


SYSROOT = "s3://metaflow-s3-abc123/metaflow"
SFN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/metaflow-step_functions_role"
EVENTS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/metaflow-eventbridge_role"
BATCH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/metaflow-batch_s3_task_role"
API_KEY_ID = "k3y1d4b2c9"


def module_profile(*, auth: bool = True, service_url: str = SERVICE_URL) -> dict[str, Any]:
    """What terraform-aws-metaflow's ``metaflow_profile_json`` holds (basic auth on by default)."""
    profile = {
        "METAFLOW_DATASTORE_SYSROOT_S3": SYSROOT,
        "METAFLOW_DATATOOLS_S3ROOT": SYSROOT[: -len("metaflow")] + "data",
        "METAFLOW_BATCH_JOB_QUEUE": QUEUE_ARN,
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": BATCH_ROLE,
        "METAFLOW_SERVICE_URL": service_url,
        "METAFLOW_SERVICE_INTERNAL_URL": INTERNAL_URL,
        "METAFLOW_SFN_IAM_ROLE": SFN_ROLE,
        "METAFLOW_SFN_STATE_MACHINE_PREFIX": "metaflow-abc123",
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": EVENTS_ROLE,
        "METAFLOW_SFN_DYNAMO_DB_TABLE": "metaflow-step_functions_state",
        "METAFLOW_DEFAULT_DATASTORE": "s3",
        "METAFLOW_DEFAULT_METADATA": "service",
    }
    if auth:
        profile["METAFLOW_SERVICE_AUTH_KEY"] = (
            f"## Replace with output from 'aws apigateway get-api-key --api-key {API_KEY_ID} "
            "--include-value | grep value' ##"
        )
    return profile


def module_outputs(*, profile_json: bool = True, service_url: str = SERVICE_URL) -> dict[str, Any]:
    """``terraform output -json`` of terraform-aws-metaflow (with or without the profile JSON)."""
    outputs = {
        "METAFLOW_BATCH_JOB_QUEUE": output(QUEUE_ARN),
        "METAFLOW_DATASTORE_SYSROOT_S3": output(SYSROOT),
        "METAFLOW_DATATOOLS_S3ROOT": output(SYSROOT[: -len("metaflow")] + "data"),
        "METAFLOW_ECS_S3_ACCESS_IAM_ROLE": output(BATCH_ROLE),
        "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE": output(EVENTS_ROLE),
        "METAFLOW_SERVICE_INTERNAL_URL": output(INTERNAL_URL),
        "METAFLOW_SERVICE_URL": output(service_url),
        "METAFLOW_SFN_DYNAMO_DB_TABLE": output("metaflow-step_functions_state"),
        "METAFLOW_SFN_IAM_ROLE": output(SFN_ROLE),
        "api_gateway_rest_api_id_key_id": output(API_KEY_ID),
        "datastore_s3_bucket_kms_key_arn": output(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0123"),
        "metadata_svc_ecs_task_role_arn": output(f"arn:aws:iam::{ACCOUNT}:role/metadata-svc"),
        "metaflow_batch_container_image": output(""),
        "metaflow_s3_bucket_name": output("metaflow-s3-abc123"),
        "migration_function_arn": output(f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:db-mig"),
        "ui_alb_dns_name": output(""),
    }
    if profile_json:
        profile = module_profile(service_url=service_url)
        outputs["metaflow_profile_json"] = output(json.dumps(profile, separators=(",", ":")))
    return outputs
