"""What each capability needs, in one small table, and the check behind ``Settings.require``.

``settings.require("sfn")`` raises one :class:`RequirementError` (a ``ConfigError``) listing every
setting the capability needs that is not set, or is set to something a container cannot use, each
with the environment variable and the profile key that set it. The settings themselves, their
docs and kinds, come from the table (``_model.table``); this module only says which ones a
capability needs and why.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._model.kinds import IAM_ROLE_ARN, LOG_GROUP_ARN, S3_URL, URL
from .._model.table import BY_NAME
from ..errors import ConfigError, Problem

if TYPE_CHECKING:
    from .settings import Settings

__all__ = [
    "CAPABILITIES",
    "Need",
    "RequirementError",
    "check",
    "closure",
    "missing",
    "needs",
    "points_here",
    "unmet",
    "wizard_command",
]


@dataclass(frozen=True)
class Need:
    """A setting a capability needs, and what for (shown in the error).

    ``explicit``: the built-in default is no answer (Kubernetes' namespace ``default``): a layer
    must set it. ``value``: the one value that meets it (the datastore ``s3``), where any other
    value is as good as none; such a setting is not the capability's own (``check`` does not
    count it as begun, the wizard sets it with the capability that fixes it).
    """

    setting: str
    purpose: str
    example: str = ""
    explicit: bool = False
    value: str = ""


@dataclass(frozen=True)
class Capability:
    """A thing Metaflow can do once configured: what it includes and what it needs.

    ``reachable``: URL settings that remote containers use; when set they must not point at
    this machine (``localhost`` in a container is the container). ``wizard``: ``configure aws``
    asks for its settings. ``target``: the ``to_env`` target its tasks get the settings by:
    every variable must be one that target carries (its limits; an Argo template takes no
    ``{{``), as the launch hooks build it.
    """

    title: str
    includes: tuple[str, ...] = ()
    needs: tuple[Need, ...] = ()
    reachable: tuple[str, ...] = ()
    wizard: bool = True
    target: str = ""


_CONTAINERS = ("SERVICE_INTERNAL_URL", "S3_ENDPOINT_URL")


#: The S3 datastore as the default: Metaflow's ``@batch`` refuses a run on the local one
#: (``--datastore=s3`` on every command line is the other way). Kubernetes takes the S3, Azure
#: or Google Cloud datastore: its capability here is the S3 one's, by its includes alone.
_S3_DEFAULT = Need(
    "DEFAULT_DATASTORE",
    "the datastore a run or a deployment starts with (Metaflow's @batch refuses the local one, "
    "so every command would need --datastore=s3; its tasks are given s3 by Metaflow itself)",
    value="s3",
)


#: The capabilities ``require`` knows, each with what it needs beyond what it includes.
CAPABILITIES: dict[str, Capability] = {
    "s3": Capability(
        "the S3 datastore",
        needs=(Need("DATASTORE_SYSROOT_S3", "the bucket and prefix of artifacts and code"),),
    ),
    "service": Capability(
        "the Metaflow metadata service",
        needs=(Need("SERVICE_URL", "where runs, steps and tasks are recorded"),),
    ),
    "batch": Capability(
        "AWS Batch",
        target="batch",
        includes=("s3",),  # the only datastore a Batch task can reach
        needs=(
            _S3_DEFAULT,
            Need("BATCH_JOB_QUEUE", "the job queue tasks are submitted to", "<job-queue-name>"),
            Need(
                "ECS_S3_ACCESS_IAM_ROLE",
                "the role Batch containers run as (trusted by ecs-tasks.amazonaws.com, with "
                "access to the S3 datastore)",
            ),
        ),
        reachable=_CONTAINERS,
    ),
    "sfn": Capability(
        "AWS Step Functions",
        target="sfn",
        includes=("batch",),
        needs=(
            Need(
                "SFN_IAM_ROLE",
                "the role the state machines run as (trusted by states.amazonaws.com, allowed "
                "to submit Batch jobs and to use the DynamoDB table)",
            ),
        ),
        reachable=_CONTAINERS,
    ),
    "sfn-schedule": Capability(
        "scheduled AWS Step Functions (@schedule)",
        includes=("sfn",),
        needs=(
            Need(
                "EVENTS_SFN_ACCESS_IAM_ROLE",
                "the role EventBridge assumes to start the state machine on schedule (trusted "
                "by events.amazonaws.com, allowed states:StartExecution)",
            ),
        ),
        reachable=_CONTAINERS,
    ),
    "sfn-foreach": Capability(
        "foreach on AWS Step Functions",
        includes=("sfn",),
        needs=(
            Need(
                "SFN_DYNAMO_DB_TABLE",
                "the DynamoDB table (hash key 'pathspec', TTL attribute 'ttl') that carries "
                "foreach cardinalities between tasks",
                "<table-name>",
            ),
        ),
        reachable=_CONTAINERS,
    ),
    "kubernetes": Capability(
        "Kubernetes",
        target="kubernetes",
        includes=("s3",),  # the datastore Metaflow's pods read and write here
        needs=(
            Need(
                "KUBERNETES_NAMESPACE",
                "the namespace Metaflow's jobs and pods are created in",
                "<namespace>",
                explicit=True,
            ),
            Need(
                "KUBERNETES_SERVICE_ACCOUNT",
                "the service account pods run as, with access to the S3 datastore (e.g. through "
                "an IAM role for service accounts)",
                "<service-account>",
            ),
        ),
        reachable=_CONTAINERS,
        wizard=False,
    ),
    "argo": Capability(
        "Argo Workflows",
        target="argo",
        # a production run's tasks record their runs in the service (local metadata would stay
        # in each pod)
        includes=("kubernetes", "service"),
        reachable=(*_CONTAINERS, "ARGO_EVENTS_INTERNAL_WEBHOOK_URL"),
        wizard=False,
    ),
}

_EXAMPLES = {
    id(IAM_ROLE_ARN): "arn:aws:iam::<account-id>:role/<role-name>",
    id(S3_URL): "s3://<bucket>/<prefix>",
    id(URL): "https://<host>/",
    id(LOG_GROUP_ARN): "arn:aws:logs:<region>:<account-id>:log-group:<name>",
}


class RequirementError(ConfigError):
    """What ``Settings.require(capability)`` raises: every problem of that capability at once.

    Attributes:
        capability: the capability asked for (``"sfn"``), or ``""`` for another use.
        what: what is not configured, for the first line of the message.

    """

    def __init__(self, capability: str, what: str, problems: Iterable[Problem]) -> None:
        self.capability = capability
        self.what = what
        super().__init__(problems)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled whole, as a ConfigError is
        return (type(self), (self.capability, self.what, self.problems))

    def _render(self) -> str:
        count = len(self.problems)
        head = (
            f"Metaflow is not configured for {self.what}: {count} "
            f"problem{'' if count == 1 else 's'}"
        )
        return "\n".join([head, *(f"  - {_line(p)}" for p in self.problems)])


def _line(problem: Problem) -> str:
    if problem.layer or problem.value:
        return str(problem)
    return f"{problem.setting} is not set: expected {problem.expected}. Fix: {problem.fix}"


def needs(capability: str) -> tuple[Need, ...]:
    """Everything ``capability`` needs, its includes' needs first, each setting once."""
    return tuple(need for _, need in owned_needs(capability))


def closure(capability: str) -> tuple[str, ...]:
    """``capability`` and every one it includes, included ones first, each once.

    The one place the ``includes`` graph is walked (Step Functions runs on Batch, Batch needs
    S3): ``require``, ``check`` and the wizard's question order all read it from here.
    """
    found: dict[str, None] = {}
    for included in CAPABILITIES[capability].includes:
        found.update(dict.fromkeys(closure(included)))
    found[capability] = None
    return tuple(found)


def owned_needs(capability: str) -> tuple[tuple[str, Need], ...]:
    """What ``capability`` needs as ``(the capability that declares it, need)``."""
    seen: dict[str, tuple[str, Need]] = {}
    for owner in closure(capability):
        for need in CAPABILITIES[owner].needs:
            seen.setdefault(need.setting, (owner, need))
    return tuple(seen.values())


def missing(s: Settings, need: Need, title: str, *, wizard: bool = True) -> Problem:
    """The problem of an unset setting: what it is for, and how to set it in this snapshot."""
    field = BY_NAME[need.setting]
    example = need.value or need.example or _EXAMPLES.get(id(field.kind), "<value>")
    profile = f"profile {s.profile!r}" if s.profile else "the active profile"
    fix = (
        f'export {field.env}={example}, or add "{field.env}": "{example}" to '
        f"{s.profile_path} ({profile})"
        + (f", or run `{wizard_command(s.profile)}`" if wizard else "")
    )
    held = s[need.setting]
    if need.value or held is not None:  # a value that is no answer: said as one, where from
        info = s.explain(field.env)
        expected = (
            repr(need.value)
            if need.value
            else f"{field.kind.expected} chosen in a layer (the built-in default is no choice; "
            f"{held!r} set in a layer is one)"
        )
        return Problem.bad_value(
            field.env,
            info.source,
            info.location,
            value=info.shown,
            expected=f"{expected}, which {title} needs: {need.purpose}",
            fix=fix,
        )
    return Problem.missing(
        field.env, f"{field.kind.expected}, which {title} needs: {need.purpose}", fix
    )


def wizard_command(profile: str | None) -> str:
    """The wizard's command line for ``profile`` (``""`` or None: the default profile)."""
    from .._sources.profiles import profile_flag  # an unmet need only

    return f"metaflow-config configure aws{profile_flag(profile, '--profile')}"


def unmet(s: Settings, need: Need) -> bool:
    """Whether ``s`` leaves ``need`` unmet: unset, a default that is no answer, another value."""
    if need.value:
        return bool(s[need.setting] != need.value)
    return s[need.setting] is None or (need.explicit and s.source(need.setting) == "default")


def points_here(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost``, a loopback or unspecified address)."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:  # "http://[::1" passes the URL kind's pattern; not ours to judge here
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _unreachable(s: Settings, name: str, title: str) -> Problem:
    field = BY_NAME[name]
    info = s.explain(field.env)
    if name == "SERVICE_INTERNAL_URL":
        fix = (
            f"set {field.env} to an address of the service inside the VPC (containers receive "
            "it as METAFLOW_SERVICE_URL)"
        )
    else:
        fix = f"point {field.env} at an address the containers can reach, or unset it for AWS S3"
    return Problem.bad_value(
        field.env,
        info.source,
        info.location,
        value=info.shown,
        expected=f"a URL that {title} containers can reach "
        "(localhost there is the container itself)",
        fix=fix,
    )


def check(
    s: Settings, capability: str, carried: Callable[[str], list[Problem]] | None = None
) -> None:
    """Raise :class:`RequirementError` listing every problem of ``capability`` in ``s``.

    ``carried``: the problems of giving ``s``'s settings to a task of a target (the capability's
    and those it includes: ``Capability.target``), as ``taskenv.not_carried`` says them.
    """
    if not isinstance(capability, str) or capability not in CAPABILITIES:  # a list: unhashable
        raise ConfigError(
            [Problem.not_one_of("require(capability)", capability, CAPABILITIES, "require()")]
        )
    problems = [
        missing(s, need, CAPABILITIES[owner].title, wizard=CAPABILITIES[owner].wizard)
        for owner, need in owned_needs(capability)
        if unmet(s, need)
    ]
    for name in CAPABILITIES[capability].reachable:
        value = s[name]
        if isinstance(value, str) and points_here(value):
            problems.append(_unreachable(s, name, CAPABILITIES[capability].title))
    if carried is not None:
        for target in dict.fromkeys(CAPABILITIES[c].target for c in closure(capability)):
            problems.extend(carried(target) if target else ())
    if problems:
        what = f"{CAPABILITIES[capability].title} (require({capability!r}))"
        raise RequirementError(capability, what, problems)
