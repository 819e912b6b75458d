"""The live checks that call AWS: credentials, region, S3, IAM roles, Batch, Step Functions."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from .._display import shell_quote
from .._snapshot.consumers import split_s3_url
from .._snapshot.settings import lookup, resolution_of
from ..errors import Problem
from .probes import (
    WARN,
    Context,
    Outcome,
    classify,
    error_code,
    fail,
    known_regions,
    message,
    ok,
    register,
    skip,
    warn,
)
from .probes_service import malformed_name

__all__: list[str] = []  # nothing here is imported by name

# --- credentials and region -------------------------------------------------------------------


@register("aws.credentials", "aws", service="sts")
def _credentials(ctx: Context) -> Outcome:
    if ctx.session_error is not None:
        return ctx.session_error
    p = ctx.profile_arg
    try:
        ident = ctx.identity()
    except Exception as exc:
        if classify(exc) != "credentials":
            raise
        code = error_code(exc)
        if code.startswith("ExpiredToken") or type(exc).__name__ in {
            "TokenRetrievalError",
            "UnauthorizedSSOTokenError",
            "SSOTokenLoadError",
        }:
            return fail(
                f"AWS credentials have expired: {message(exc)}",
                f"refresh them: `aws sso login{p}` for SSO, or new temporary credentials "
                "(AWS_SESSION_TOKEN) from your identity provider",
            )
        if code:
            return fail(
                f"AWS rejected the credentials: {message(exc)}",
                "check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the keys in "
                f"~/.aws/credentials (`aws configure{p}`)",
            )
        return fail(
            f"Unable to locate credentials ({type(exc).__name__})",
            f"run `aws configure{p}` (writes ~/.aws/credentials) or `aws sso login{p}`; "
            "or export AWS_PROFILE=<profile>, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    method = ctx.credential_method()
    via = f"; credentials from {method}" if method else ""
    return ok(f"{ident.get('Arn')} (account {ident.get('Account')}{via})")


@register("aws.region", "aws")
def _region(ctx: Context) -> Outcome:
    if ctx.session_error is not None:
        return skip("no AWS session (see aws.credentials)")
    if ctx.region:
        known = known_regions()
        if known and ctx.region not in known:
            import difflib

            near = difflib.get_close_matches(ctx.region, sorted(known), n=1)
            meant = f"did you mean {near[0]}? " if near else ""
            return warn(
                f"{ctx.region} (from {ctx.region_source}) is no region botocore knows: every "
                "call goes to an endpoint that may not exist, and fails as if the network did",
                f"{meant}correct {ctx.region_source} (a region newer than this botocore: "
                "upgrade botocore)",
            )
        return ok(f"{ctx.region} (from {ctx.region_source})")
    return fail(
        "no AWS region is configured: Batch, Step Functions, DynamoDB and CloudWatch Logs need one",
        "export AWS_DEFAULT_REGION=<region> (e.g. us-east-1), or "
        f"`aws configure set region <region>{ctx.profile_arg}`",
    )


# --- S3 ---------------------------------------------------------------------------------------

_SYSROOT = "METAFLOW_DATASTORE_SYSROOT_S3"
_SSE = "METAFLOW_S3_SERVER_SIDE_ENCRYPTION"
_ENDPOINT = "METAFLOW_S3_ENDPOINT_URL"
#: The fix of a check that sent no credential to an endpoint that is not trusted
_TRUST_ENDPOINT = (
    "credentials go only to endpoints of your own configuration (your profile, the "
    f"environment): set {_ENDPOINT} there if you trust it"
)


def _withheld(ctx: Context) -> str:
    """Why the S3 checks send no credentials (``""``: they do): an endpoint not trusted."""
    return ctx.untrusted(_ENDPOINT) if ctx.settings.s3.endpoint_url else ""


def _uncreatable(bucket: str) -> str:  # noqa: PLR0911 - one return per rule
    """Why S3 creates no bucket named ``bucket`` (its rules for new buckets), or ``""``.

    Older buckets may have names these rules refuse (capitals, ``_``): such a bucket may
    exist, but ``aws s3 mb`` cannot make one.
    """
    if not 3 <= len(bucket) <= 63:
        return f"{len(bucket)} characters, not 3 to 63"
    if bucket.strip("abcdefghijklmnopqrstuvwxyz0123456789.-"):
        return "only lowercase letters, digits, '.' and '-'"
    if not (bucket[0].isalnum() and bucket[-1].isalnum()):
        return "a letter or digit at each end"
    if ".." in bucket:
        return "no two dots in a row"
    if all(part.isdigit() for part in bucket.split(".")) and bucket.count(".") == 3:
        return "not an IP address"
    reserved = [p for p in _RESERVED_PREFIXES if bucket.startswith(p)]
    reserved += [s for s in _RESERVED_SUFFIXES if bucket.endswith(s)]
    if reserved:
        return f"not starting or ending as S3's own names do ({reserved[0]})"
    return ""


#: What S3 keeps for its own names: no new bucket starts or ends so
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


@register("s3.sysroot", "s3", service="s3", setting=_SYSROOT)
def _sysroot(ctx: Context) -> Outcome:
    url = ctx.settings.datastore.sysroot_s3
    if not url:
        return ctx.unset(_SYSROOT, "s3")
    bucket, _ = split_s3_url(url)
    withheld = _withheld(ctx)
    note = f" (checked without credentials: {withheld})" if withheld else ""
    shown = ctx.shown(_SYSROOT, bucket)  # the lines show what show shows: never a fetched value
    try:
        answer = ctx.client("s3", unsigned=bool(withheld)).head_bucket(Bucket=bucket)
        headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    except Exception as exc:
        code = error_code(exc)
        if code in {"404", "NoSuchBucket"}:
            refused = _uncreatable(bucket)
            create = (
                f"S3 creates no bucket of that name ({refused}): correct"
                if refused
                else f"create it: aws s3 mb {shell_quote(ctx.shown(_SYSROOT, f's3://{bucket}'))}"
                f"{ctx.region_arg()}; or correct"
            )
            return fail(
                f"bucket '{shown}' of {ctx.shown(_SYSROOT)} does not exist{note}",
                f"{create} {_SYSROOT} ({ctx.where(_SYSROOT)})",
            )
        if code in {"301", "PermanentRedirect"}:
            metadata = getattr(exc, "response", {}).get("ResponseMetadata", {})
            headers = metadata.get("HTTPHeaders", {})
        elif code in {"403", "AccessDenied"} and withheld:
            return warn(
                f"bucket '{shown}' refused a request without credentials{note}", _TRUST_ENDPOINT
            )
        elif code in {"403", "AccessDenied"}:
            ctx.identity()  # rejected credentials also get a 403 here: then this check SKIPs
            return fail(
                f"bucket '{shown}' exists but these credentials may not access it (403)",
                f"grant s3:ListBucket on arn:aws:s3:::{shown} (and s3:GetObject/PutObject on its "
                "objects) to the identity in aws.credentials, or use the profile that owns it",
            )
        else:
            raise
    where = headers.get("x-amz-bucket-region")
    if where and ctx.region and where != ctx.region:
        return warn(
            f"bucket '{shown}' is in {where}, compute runs in {ctx.region}{note}",
            f"cross-region transfers cost more and need internet or NAT access from {ctx.region}:"
            f" use a bucket in {ctx.region}, or set AWS_DEFAULT_REGION={where}",
        )
    return ok(f"bucket '{shown}' is reachable" + (f" (in {where})" if where else "") + note)


@register("s3.write_probe", "s3", service="s3", setting=_SYSROOT)
def _write_probe(ctx: Context) -> Outcome:
    url = ctx.settings.datastore.sysroot_s3
    if not ctx.write_probe:
        return skip("not asked for (--write-probe)")
    if not url:
        return skip(f"{_SYSROOT} is not set (see s3.sysroot)")
    withheld = _withheld(ctx)
    if withheld:
        return skip(f"not run: a write needs credentials, and {withheld}")
    import uuid

    bucket, prefix = split_s3_url(url)
    key = "/".join(filter(None, [prefix.strip("/"), f".metaflow-config-probe-{uuid.uuid4().hex}"]))
    extra: dict[str, str] = {}
    sse = ctx.settings.s3.server_side_encryption
    if sse:
        extra["ServerSideEncryption"] = sse
    s3 = ctx.client("s3")
    s3.put_object(Bucket=bucket, Key=key, Body=b"", **extra)
    try:
        s3.delete_object(Bucket=bucket, Key=key)
    except Exception as exc:
        probe = ctx.shown(_SYSROOT, f"s3://{bucket}/{key}")
        return warn(
            f"wrote {probe} but could not delete it: {message(exc)}",
            f"aws s3 rm {shell_quote(probe)}; and grant s3:DeleteObject on "
            f"arn:aws:s3:::{ctx.shown(_SYSROOT, bucket)}/*",
        )
    with_sse = f" with ServerSideEncryption={ctx.shown(_SSE)}" if sse else ""
    return ok(f"put and deleted a probe object under {ctx.shown(_SYSROOT)}{with_sse}")


@register("s3.server_side_encryption", "s3", setting=_SSE)
def _sse(ctx: Context) -> Outcome:
    value = ctx.settings.s3.server_side_encryption
    if not value:
        return skip(f"{_SSE} is not set (the bucket's default encryption applies)")
    # the resolver only accepts the values of the setting's kind: no other value gets here
    accepted = ", ".join(lookup(_SSE).kind.choices)
    probed = " (used by the write probe)" if ctx.write_probe else ""
    return ok(f"{ctx.shown(_SSE)} is one of the values S3 accepts ({accepted}){probed}")


# --- Batch ------------------------------------------------------------------------------------

_QUEUE = "METAFLOW_BATCH_JOB_QUEUE"


def _created_as(ctx: Context, shown: str) -> tuple[str, tuple[str, str] | None]:
    """The name a missing resource is created by (quoted), and what to say of another region.

    The second, where ``shown`` is the ARN of another region than the session's: what to add
    to the failure, and its fix. A queue or a table may be given by its ARN (a stack import
    keeps it so); AWS creates one by its name, the ARN's last part, and finds one by its ARN
    only in the ARN's region.
    """
    parts = shown.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return shell_quote(shown), None
    name, region = parts[5].rpartition("/")[2], parts[3]
    if region and ctx.region and region != ctx.region:
        return shell_quote(name), (
            f": its ARN names the region {region}",
            f"run in {region} (export AWS_DEFAULT_REGION={shell_quote(region)}), or give its "
            f"name in {ctx.region} instead of the ARN",
        )
    return shell_quote(name), None


@register("batch.job_queue", "batch", service="batch", setting=_QUEUE)
def _job_queue(ctx: Context) -> Outcome:
    name = ctx.settings.batch.job_queue
    if not name:
        return ctx.unset(_QUEUE, "batch")
    malformed = malformed_name(_QUEUE, name)
    if malformed is not None:  # no queue of that name can exist: none is offered to create
        where = ctx.where(_QUEUE)
        return fail(
            f"{_QUEUE} {malformed[0]}",
            f"set it (set in {where}) to such a name, e.g. {malformed[1]}",
        )
    batch, r = ctx.client("batch"), ctx.region_arg()
    shown = ctx.shown(_QUEUE)  # the lines show what show shows: never a fetched value
    word = shell_quote(shown)
    queues = batch.describe_job_queues(jobQueues=[name])["jobQueues"]
    if not queues:
        created, elsewhere = _created_as(ctx, shown)
        other = f"set {_QUEUE} (set in {ctx.where(_QUEUE)}) to a queue from "
        other += f"`aws batch describe-job-queues{r}`"
        if elsewhere:
            return fail(
                f"job queue '{shown}' does not exist in {ctx.region}{elsewhere[0]}",
                f"{elsewhere[1]}; or {other}",
            )
        return fail(
            f"job queue '{shown}' does not exist in {ctx.region}",
            f"create it: aws batch create-job-queue --job-queue-name {created} --state ENABLED "
            f"--priority 1 --compute-environment-order order=1,computeEnvironment=<env>{r}; or "
            f"{other}",
        )
    queue = queues[0]
    problems: list[tuple[str, str]] = []
    if queue.get("state") != "ENABLED":
        fix = f"aws batch update-job-queue --job-queue {word} --state ENABLED{r}"
        problems.append((f"is {queue.get('state')}", fix))
    if queue.get("status") != "VALID":
        reason = queue.get("statusReason") or "no reason given"
        fix = f"repair or replace its compute environments (`aws batch describe-job-queues{r}`)"
        problems.append((f"has status {queue.get('status')} ({reason})", fix))
    order = [e["computeEnvironment"] for e in queue.get("computeEnvironmentOrder") or []]
    if not order:
        fix = (
            f"aws batch update-job-queue --job-queue {word} --compute-environment-order "
            f"order=1,computeEnvironment=<env>{r}"
        )
        problems.append(("has no compute environment", fix))
    else:
        envs = batch.describe_compute_environments(computeEnvironments=order)
        envs = envs["computeEnvironments"]
        if not any(e.get("state") == "ENABLED" and e.get("status") == "VALID" for e in envs):
            listed = ", ".join(f"{e.get('computeEnvironmentName')} {e.get('state')}" for e in envs)
            fix = "aws batch update-compute-environment --compute-environment "
            fix += f"{shell_quote(order[0])} --state ENABLED{r}"
            problems.append((f"has no ENABLED and VALID compute environment ({listed})", fix))
    if problems:
        detail = f"job queue '{shown}' " + "; ".join(p for p, _ in problems)
        return fail(detail, "; ".join(f for _, f in problems))
    return ok(
        f"job queue '{shown}' is ENABLED and VALID (compute environments: {', '.join(order)})"
    )


# --- IAM roles --------------------------------------------------------------------------------


def _trust_policy(service: str) -> str:
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, separators=(",", ":"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def trusts(document: Any, service: str) -> bool:
    """Whether a trust policy lets ``service`` assume the role (``Allow`` + ``sts:AssumeRole``)."""
    if isinstance(document, str):
        document = json.loads(urllib.parse.unquote(document))
    for statement in _as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        actions = {str(a).lower() for a in _as_list(statement.get("Action", []))}
        if not actions & {"sts:assumerole", "sts:*", "*"}:
            continue
        principal = statement.get("Principal", {})
        if isinstance(principal, dict) and service in _as_list(principal.get("Service", [])):
            return True
    return False


def _role(ctx: Context, env_name: str, capability: str | None, service: str) -> Outcome:
    """The role of ``env_name`` exists and trusts ``service``; capability None: optional."""
    arn = ctx.settings[env_name]
    if not arn:
        return ctx.unset(env_name, capability) if capability else skip(f"{env_name} is not set")
    name = arn.rsplit("/", 1)[-1]
    shown = ctx.shown(env_name, name)  # the lines show what show shows: never a fetched value
    word = shell_quote(shown)
    policy = _trust_policy(service)
    try:
        role = ctx.client("iam").get_role(RoleName=name)["Role"]
    except Exception as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
        return fail(
            f"role '{shown}' ({ctx.shown(env_name)}) does not exist in the account of these "
            "credentials",
            f"create it: aws iam create-role --role-name {word} --assume-role-policy-document "
            f"'{policy}'{ctx.profile_arg} and attach its policies; or set {env_name} to an "
            f"existing role (set in {ctx.where(env_name)})",
        )
    if role.get("Arn") != arn:
        return fail(
            f"{env_name} is {ctx.shown(env_name)} but the role '{shown}' here is {role.get('Arn')}",
            f"export {env_name}={shell_quote(str(role.get('Arn')))} (set in "
            f"{ctx.where(env_name)}), or use credentials for the account the ARN names",
        )
    if not trusts(role.get("AssumeRolePolicyDocument", {}), service):
        return fail(
            f"role '{shown}' does not trust {service} (its trust policy has no Allow of "
            f"sts:AssumeRole for that service)",
            f"aws iam update-assume-role-policy --role-name {word} --policy-document "
            f"'{policy}'{ctx.profile_arg} (replaces the trust policy; merge by hand to keep "
            "other principals)",
        )
    return ok(f"role '{shown}' exists and trusts {service}")


_JOB_ROLE = "METAFLOW_ECS_S3_ACCESS_IAM_ROLE"
_FARGATE_ROLE = "METAFLOW_ECS_FARGATE_EXECUTION_ROLE"
_SFN_ROLE = "METAFLOW_SFN_IAM_ROLE"
_EVENTS_ROLE = "METAFLOW_EVENTS_SFN_ACCESS_IAM_ROLE"


@register("batch.job_role", "batch", service="iam", setting=_JOB_ROLE, denied=WARN)
def _job_role(ctx: Context) -> Outcome:
    return _role(ctx, _JOB_ROLE, "batch", "ecs-tasks.amazonaws.com")


@register(
    "batch.fargate_execution_role", "batch", service="iam", setting=_FARGATE_ROLE, denied=WARN
)
def _fargate_role(ctx: Context) -> Outcome:
    return _role(ctx, _FARGATE_ROLE, None, "ecs-tasks.amazonaws.com")  # only Fargate needs it


@register("sfn.iam_role", "sfn", service="iam", setting=_SFN_ROLE, denied=WARN)
def _sfn_role(ctx: Context) -> Outcome:
    return _role(ctx, _SFN_ROLE, "sfn", "states.amazonaws.com")


@register("sfn.events_role", "sfn-schedule", service="iam", setting=_EVENTS_ROLE, denied=WARN)
def _events_role(ctx: Context) -> Outcome:
    return _role(ctx, _EVENTS_ROLE, "sfn-schedule", "events.amazonaws.com")


# --- Step Functions ---------------------------------------------------------------------------

_TABLE = "METAFLOW_SFN_DYNAMO_DB_TABLE"
_LOG_GROUP = "METAFLOW_SFN_EXECUTION_LOG_GROUP_ARN"


@register("sfn.dynamo_db_table", "sfn-foreach", service="dynamodb", setting=_TABLE, denied=WARN)
def _dynamo_db_table(ctx: Context) -> Outcome:
    name = ctx.settings.sfn.dynamo_db_table
    if not name:
        return ctx.unset(_TABLE, "sfn-foreach")
    dynamodb, r = ctx.client("dynamodb"), ctx.region_arg()
    shown = ctx.shown(_TABLE)  # the lines show what show shows: never a fetched value
    word = shell_quote(shown)
    created, elsewhere = _created_as(ctx, shown)
    create = (
        f"aws dynamodb create-table --table-name {created} --attribute-definitions "
        "AttributeName=pathspec,AttributeType=S --key-schema AttributeName=pathspec,KeyType=HASH "
        f"--billing-mode PAY_PER_REQUEST{r}"
    )
    ttl_fix = (
        f"aws dynamodb update-time-to-live --table-name {word} "
        f"--time-to-live-specification Enabled=true,AttributeName=ttl{r}"
    )
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except Exception as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
        if elsewhere:
            return fail(
                f"table '{shown}' does not exist in {ctx.region}{elsewhere[0]}", elsewhere[1]
            )
        return fail(
            f"table '{shown}' does not exist in {ctx.region}",
            f"create it: {create}; then {ttl_fix}",
        )
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    hash_key = next((k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH"), "")
    if hash_key != "pathspec" or types.get(hash_key) != "S" or len(table["KeySchema"]) != 1:
        keys = ", ".join(f"{k['AttributeName']} ({k['KeyType']})" for k in table["KeySchema"])
        new_table = create.replace(f"--table-name {word} ", "--table-name <new> ")
        return fail(
            f"table '{shown}' is keyed on {keys}; Metaflow needs only the string hash key pathspec",
            f"a key cannot be changed: create a new table ({new_table}) and "
            f"set {_TABLE}=<new> (set in {ctx.where(_TABLE)})",
        )
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    status, attribute = ttl.get("TimeToLiveStatus"), ttl.get("AttributeName")
    if status not in {"ENABLED", "ENABLING"} or attribute != "ttl":
        on = f" on {attribute!r}" if attribute else ""
        return fail(f"table '{shown}' has TTL {status}{on}; Metaflow writes 'ttl'", ttl_fix)
    return ok(f"table '{shown}': hash key pathspec (S), TTL on ttl")


@register("sfn.execution_log_group", "sfn", service="logs", setting=_LOG_GROUP, denied=WARN)
def _log_group(ctx: Context) -> Outcome:
    arn = ctx.settings.sfn.execution_log_group_arn
    if not arn:
        return skip(f"{_LOG_GROUP} is not set (executions are not logged)")
    parts = arn.split(":")
    region, name = parts[3], parts[6]
    # the lines show what show shows: never a fetched value
    shown, in_region = ctx.shown(_LOG_GROUP, name), ctx.shown(_LOG_GROUP, region)
    word = shell_quote(shown)
    groups = ctx.client("logs", region).describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    if not any(g.get("logGroupName") == name for g in groups):
        return fail(
            f"log group '{shown}' does not exist in {in_region}",
            f"aws logs create-log-group --log-group-name {word}"
            f"{ctx.region_arg(shell_quote(in_region))}; or correct {_LOG_GROUP} (set in "
            f"{ctx.where(_LOG_GROUP)})",
        )
    if ctx.region and region != ctx.region:
        return warn(
            f"log group '{shown}' is in {in_region}, state machines are created in {ctx.region}",
            f"use a log group in {ctx.region}: aws logs create-log-group --log-group-name {word}"
            f"{ctx.region_arg()}, and set {_LOG_GROUP} to its ARN",
        )
    return ok(f"log group '{shown}' exists in {in_region}")


@register("secrets.references", "aws", service="secretsmanager")
def _references(ctx: Context) -> Outcome:
    """Fetch every secret reference in force (as a read of the setting would)."""
    from .._model.references import Reference
    from .._model.table import FIELDS

    values = resolution_of(ctx.settings).values
    held = [f for f in FIELDS if isinstance(values[f.name], Reference)]
    if not held:
        return skip("no setting holds a secret reference")
    ctx.identity()  # no credentials: skipped, as every AWS check is (see aws.credentials)
    failed: list[str] = []
    fixes: list[str] = []
    passed: list[str] = []
    for field in held:
        problem = _fetch_problem(ctx, field.name)
        if problem is None:
            passed.append(f"{field.env}: PASS")
        else:
            failed.append(f"{field.env}: FAIL, expected {problem.expected}")
            fixes.append(f"{field.env}: {problem.fix}")
    detail = "; ".join([*failed, *passed])
    if failed:
        return fail(detail, "; ".join(fixes))
    return ok(f"fetched every reference ({detail})")


def _fetch_problem(ctx: Context, name: str) -> Problem | None:
    """What fetching setting ``name``'s reference (with this check's session) fails with."""
    from .._snapshot.fetch import fetch_and_validate
    from ..errors import ConfigError

    resolution = resolution_of(ctx.settings)
    reference = resolution.values[name]
    region = reference.region
    if region is None and reference.service == "secretsmanager":
        region = ctx.settings.secrets.aws_secrets_manager_default_region
    try:
        fetch_and_validate(resolution, name, reference, ctx.client(reference.service, region))
    except ConfigError as exc:
        return exc.problems[0]
    return None
