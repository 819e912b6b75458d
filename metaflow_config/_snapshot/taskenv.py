"""What a remote task's environment gets from this package, whatever builds it.

One rule for every target (AWS Batch, Step Functions, Kubernetes, JobSets, Argo Workflows,
Airflow): :class:`TaskEnv` holds the launcher's ``to_env(target)`` and says which of its
variables a container lacks, given the names already there (Metaflow's own and the step's
``@environment``, which keep their values). On the Kubernetes targets it also leaves out

- the names of ``ARGO_WORKFLOWS_ENV_VARS_TO_SKIP``, as Metaflow does for its own names on Argo:
  the way to have a Kubernetes Secret supply a variable;
- the secret settings when the container mounts Kubernetes Secrets as environment variables
  (``KUBERNETES_SECRETS``, ``@kubernetes(secrets=...)``, ``ARGO_WORKFLOWS_KUBERNETES_SECRETS``):
  an explicit entry would override what such a Secret supplies under the same name.

Metaflow writes ``METAFLOW_SERVICE_HEADERS`` into every task from its own ``SERVICE_HEADERS``,
which holds the auth key merged in: where the key or the headers are a secret reference, that is
the fetched secret. :meth:`TaskEnv.service_headers` is what replaces it (the headers as
configured, or nothing), so no fetched plaintext is written into a job definition, state
machine, pod spec, Argo template or Airflow DAG; the reference travels and the task fetches it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from .._display import has_url_password
from .._model.fields import PREFIX, Setting
from .._model.metaflow_names import COPIED_TO_TASKS
from .._model.references import MARK, Reference
from .._model.table import BY_ENV, FIELDS, OLD_NAMES
from .._resolve.resolution import Resolution
from .._sources.keys import keys_said
from .._sources.sections import is_secret
from ..errors import ConfigError, Problem
from .export import POD_TARGETS, ExportedEnv, to_env

__all__ = [
    "DECIDING",
    "DOWNWARD",
    "HEADERS",
    "POD_TARGETS",
    "WHERE",
    "TaskEnv",
    "for_airflow",
    "for_argo",
    "for_kubernetes",
    "held_by_metaflow",
    "launcher_values",
    "not_carried",
]

#: The variables Metaflow fills from the pod itself (Kubernetes' downward API): left to it.
DOWNWARD = frozenset(
    {
        "METAFLOW_KUBERNETES_NAMESPACE",
        "METAFLOW_KUBERNETES_POD_NAMESPACE",
        "METAFLOW_KUBERNETES_POD_NAME",
        "METAFLOW_KUBERNETES_POD_ID",
        "METAFLOW_KUBERNETES_SERVICE_ACCOUNT_NAME",
        "METAFLOW_KUBERNETES_NODE_IP",
    }
)
#: The variable Metaflow builds from its ``SERVICE_HEADERS`` with the auth key merged in.
HEADERS = "METAFLOW_SERVICE_HEADERS"
#: The settings Metaflow writes into that variable itself (the sandbox's key too, when on:
#: :func:`_in_headers`).
_IN_HEADERS = ("SERVICE_HEADERS", "SERVICE_AUTH_KEY")


def _in_headers(values: Mapping[str, Any]) -> tuple[str, ...]:
    """The settings whose values Metaflow writes into ``METAFLOW_SERVICE_HEADERS`` itself.

    Its ``SERVICE_HEADERS``, with ``SERVICE_AUTH_KEY`` merged in as ``x-api-key``, and with the
    sandbox on, ``AWS_SANDBOX_API_KEY`` over it (``metaflow_config.py``): the one list that
    says which fetched secret would be written into a job definition, and whose secrets reach
    the task in that entry.
    """
    if values["AWS_SANDBOX_ENABLED"]:
        return (*_IN_HEADERS, "AWS_SANDBOX_API_KEY")
    return _IN_HEADERS


_SECRETS = frozenset(field.env for field in FIELDS if field.secret)


def _setting_of(name: str) -> Setting | None:
    """The setting the variable ``name`` sets: by its own name, an alias or an old name.

    A step's ``@environment(vars={"METAFLOW_JOB_QUEUE_NAME": ...})`` sets the job queue: its
    container holds the setting, and is not given ``METAFLOW_BATCH_JOB_QUEUE`` over it (which,
    its own name, would win in the task where the alias won in the launcher).
    """
    field = BY_ENV.get(name)
    if field is None and name in OLD_NAMES and name.startswith(PREFIX):
        # an old name only where the environment applies it (read as METAFLOW_* at all, and
        # taken as the setting, not told as a misspelling: ``keys.classify``)
        from .._sources.keykind import OLD
        from .._sources.keys import classify

        found = classify(name, file=False)
        field = found.field if found.kind == OLD else None
    return field


def _secret_name(name: str) -> bool:
    """Whether the variable ``name`` holds a secret: a secret setting's, a section's secret key."""
    return name in _SECRETS or (name not in BY_ENV and is_secret(name))


#: What each target's tasks are given their environment in, as whoever may read it there sees it.
WHERE = {
    "batch": "the AWS Batch job's container overrides",
    "sfn": "the state machine's definition",
    "kubernetes": "the pod spec",
    "argo": "the Argo WorkflowTemplate",
    "airflow": "the Airflow DAG file",
}


#: The settings Metaflow's launchers write into a task themselves, by target (read off
#: Metaflow's ``batch.py``, ``step_functions.py``, ``kubernetes.py``, ``argo_workflows.py``,
#: ``airflow.py``): a URL password in one of them is Metaflow's to carry, there without this
#: library too. Any other setting holding one goes to the task only because the whole
#: resolution travels (:meth:`TaskEnv.exposed_secrets`).
_BATCH_WRITES = (
    "AWS_SECRETS_MANAGER_DEFAULT_REGION",
    "CARD_S3ROOT",
    "DATASTORE_SYSROOT_S3",
    "DATATOOLS_S3ROOT",
    "DEFAULT_DATASTORE",
    "DEFAULT_METADATA",
    "DEFAULT_SECRETS_BACKEND_TYPE",
    "OTEL_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "S3_ENDPOINT_URL",
    "S3_SERVER_SIDE_ENCRYPTION",
    "SERVICE_HEADERS",
    "SERVICE_INTERNAL_URL",  # written as SERVICE_URL
    "SERVICE_URL",
    "TEMPDIR",
    "USER",
)
#: What Metaflow writes into a pod (Kubernetes, Airflow's tasks): the datastores of every cloud
_POD_WRITES = (
    *_BATCH_WRITES,
    "AZURE_KEY_VAULT_PREFIX",
    "AZURE_STORAGE_BLOB_SERVICE_ENDPOINT",
    "CARD_AZUREROOT",
    "CARD_GSROOT",
    "DATASTORE_SYSROOT_AZURE",
    "DATASTORE_SYSROOT_GS",
    "GCP_SECRET_MANAGER_PREFIX",
)
#: What Metaflow writes into a pod of ``--with kubernetes`` and of Argo Workflows: Argo
#: Events' settings too (a step publishes events)
_KUBERNETES_WRITES = (
    *_POD_WRITES,
    "ARGO_EVENTS_EVENT",
    "ARGO_EVENTS_EVENT_BUS",
    "ARGO_EVENTS_EVENT_SOURCE",
    "ARGO_EVENTS_INTERNAL_WEBHOOK_URL",  # written as ARGO_EVENTS_WEBHOOK_URL
    "ARGO_EVENTS_SERVICE_ACCOUNT",
    "ARGO_EVENTS_WEBHOOK_AUTH",
    "ARGO_EVENTS_WEBHOOK_URL",
    "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP",
    "ARGO_WORKFLOWS_KUBERNETES_SECRETS",
    "DEFAULT_AWS_CLIENT_PROVIDER",
    "DEFAULT_GCP_CLIENT_PROVIDER",
    "KUBERNETES_FETCH_EC2_METADATA",
    "KUBERNETES_NAMESPACE",
    "KUBERNETES_SANDBOX_INIT_SCRIPT",
)
#: What Metaflow writes into a pod under a name of its own, from a setting's value: each
#: container runs ``eval "${METAFLOW_INIT_SCRIPT}"``, ``KUBERNETES_SANDBOX_INIT_SCRIPT``'s
_WRITTEN_UNDER = frozenset({"METAFLOW_INIT_SCRIPT"})
#: What Metaflow's Airflow launcher does not write of what a pod of ``--with kubernetes`` gets
_NOT_BY_AIRFLOW = ("OTEL_ENDPOINT", "OTEL_SERVICE_NAME", "S3_SERVER_SIDE_ENCRYPTION", "TEMPDIR")
#: What Metaflow's Argo Workflows templates do not write of what a pod of ``--with kubernetes``
#: gets: a task resolves them as it does
_NOT_BY_ARGO = (
    "DEFAULT_AWS_CLIENT_PROVIDER",
    "DEFAULT_GCP_CLIENT_PROVIDER",
    "OTEL_ENDPOINT",
    "OTEL_SERVICE_NAME",
)
METAFLOW_WRITES: dict[str, frozenset[str]] = {
    target: frozenset(PREFIX + name for name in names)
    for target, names in (
        ("batch", _BATCH_WRITES),
        ("sfn", (*_BATCH_WRITES, "SFN_DYNAMO_DB_TABLE")),
        ("kubernetes", _KUBERNETES_WRITES),
        (
            "argo",
            (
                *(name for name in _KUBERNETES_WRITES if name not in _NOT_BY_ARGO),
                "ARGO_WORKFLOWS_CAPTURE_ERROR_SCRIPT",
            ),
        ),
        ("airflow", tuple(name for name in _POD_WRITES if name not in _NOT_BY_AIRFLOW)),
    )
}


def written_by_metaflow(target: str, name: str) -> bool:
    """Whether Metaflow's launcher writes the variable ``name`` into a task of ``target`` itself.

    The settings of :data:`METAFLOW_WRITES`, what it writes under a name of its own from a
    setting (:data:`_WRITTEN_UNDER`), and every name of the families it copies from its
    registry of what ``from_conf`` read (``COPIED_TO_TASKS``: ``METAFLOW_CONDA_*``,
    ``METAFLOW_DEBUG_*``, an extension's names under them too), on every target.
    """
    return (
        name in METAFLOW_WRITES.get(target, ())
        or name in _WRITTEN_UNDER
        or name.startswith(COPIED_TO_TASKS)
    )


#: The settings that decide what a pod is given, which Metaflow's launchers read from its own
#: module: an organisation's config extension may set them there (see :meth:`TaskEnv.launching`).
DECIDING = (
    "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP",
    "KUBERNETES_SECRETS",
    "ARGO_WORKFLOWS_KUBERNETES_SECRETS",
)


def held_by_metaflow(names: Iterable[str] = DECIDING) -> dict[str, Any] | None:
    """What Metaflow's module holds of ``names`` (``None``: it is not imported)."""
    module = sys.modules.get("metaflow.metaflow_config")
    if module is None:
        return None
    return {name: getattr(module, name) for name in names if hasattr(module, name)}


def launcher_values() -> dict[str, Any]:
    """What Metaflow's launchers read for the names of :data:`DECIDING` an extension sets.

    An organisation's config extension may set them in Metaflow's module
    (``extensions.config_settings``): their values are the module's where it is imported, else
    the string literal the extension whose value runs assigns them at its module's top level
    (``extensions.config_literals``: parsed, never run); a value built by code or bound in a
    block is not known (absent). A name no extension sets is this resolution's, in Metaflow's
    module too: not here.
    """
    from .._sources.extensions import config_literals, config_settings

    names = [name for name in DECIDING if name in config_settings()]
    if not names:
        return {}
    held = held_by_metaflow(names)
    if held is not None:
        return held
    literals = config_literals()
    return {name: literals[name] for name in names if name in literals}


class TaskEnv:
    """The launcher's ``to_env(target)`` and the rules of adding it to one task's container.

    ``launcher``: what Metaflow's module holds for the names of :data:`DECIDING`, which win
    over the snapshot's (the Secrets Metaflow mounts are the ones its module names:
    ``_metaflow.launch.task_env``).
    """

    def __init__(
        self, resolution: Resolution, target: str, *, launcher: Mapping[str, Any] | None = None
    ) -> None:
        self.target = target
        self._resolution = resolution  # what ``not_given`` looks at, a launch's only
        self.exported: ExportedEnv = to_env(resolution, target)
        #: the registered sections' secret keys exported, which Metaflow alone writes nowhere
        self._section_secrets = frozenset(
            name for name in self.exported if name not in BY_ENV and is_secret(name)
        )
        values: Mapping[str, Any] = resolution.values
        if launcher:
            values = {**values, **{k: v for k, v in launcher.items() if k in DECIDING}}
        self._values = values
        self._in_headers = _in_headers(values)
        self._fetched = any(isinstance(values[name], Reference) for name in self._in_headers)
        skip = values["ARGO_WORKFLOWS_ENV_VARS_TO_SKIP"] if target in POD_TARGETS else ""
        self.skipped = frozenset(name for name in str(skip or "").split(",") if name)
        #: ``KUBERNETES_SECRETS``: Metaflow mounts them in every pod of ``--with kubernetes``
        self.cluster_secrets = tuple(s for s in str(values["KUBERNETES_SECRETS"]).split(",") if s)
        argo = str(values["ARGO_WORKFLOWS_KUBERNETES_SECRETS"] or "") if target == "argo" else ""
        #: the Kubernetes Secrets every container of this target mounts, whatever the step
        self.mounted_secrets = (
            (*self.cluster_secrets, *(s for s in argo.split(",") if s))
            if target in POD_TARGETS
            else ()
        )

    def left_out(self, *, mounted: bool) -> dict[str, str]:
        """The exported names a container does not get, each with why (see the module).

        ``mounted``: the container mounts Kubernetes Secrets as environment variables.
        """
        why = dict.fromkeys(self.skipped, "ARGO_WORKFLOWS_ENV_VARS_TO_SKIP lists it")
        if mounted:
            secrets = ",".join(self.mounted_secrets) or "the step's"
            for name in (_SECRETS | self._section_secrets) - self.skipped - self._references:
                why[name] = f"left to the Kubernetes Secrets the pod mounts ({secrets})"
        return {name: text for name, text in why.items() if name in self.exported}

    @property
    def _references(self) -> frozenset[str]:
        """The secret settings given as a reference, which no Secret a pod mounts replaces.

        The reference is no secret (the task fetches it), and the mounted Secrets may well not
        hold the setting (a step's ``@kubernetes(secrets=["db-credentials"])``): a task is given
        it wherever the target carries ``{{`` (not on Argo, which refuses it with the way out).
        """
        if self.target == "argo":
            return frozenset()
        return frozenset(
            f.env for f in FIELDS if f.secret and isinstance(self._values[f.name], Reference)
        )

    def left_to_step_secrets(self) -> list[str]:
        """The secret settings set here a pod mounting a step's own Secrets is not given.

        As :meth:`left_to_secrets` says of the Secrets every pod mounts: the step's
        (``@kubernetes(secrets=[...])``) must hold them for its task to resolve them.
        """
        left = self.left_out(mounted=True).keys() - self.skipped
        if HEADERS not in self.skipped and not self._fetched:  # Metaflow's entry carries them
            # (not the sandbox's key: Metaflow reads that setting itself too, for its client)
            left -= {PREFIX + name for name in _IN_HEADERS}
        return [field.env for field in FIELDS if field.env in left] + sorted(
            left & self._section_secrets
        )

    def left_to_secrets(self) -> list[str]:
        """The secret settings set here that no pod of this target is given, in table order.

        A registered section's secret keys after them, by name.

        Where every container mounts Kubernetes Secrets (``KUBERNETES_SECRETS``, Argo's own),
        the secret settings are left to them (Metaflow's would be overwritten): a task resolves
        them only if a Secret holds them. Not those ``ARGO_WORKFLOWS_ENV_VARS_TO_SKIP`` lists
        (the user said where they come from), nor the headers and the auth key where Metaflow
        writes them itself, as text, into its ``METAFLOW_SERVICE_HEADERS`` (they reach the pods
        that way: ``exposed_secrets`` and ``show --target`` say so).
        """
        if not self.mounted_secrets:
            return []
        return self.left_to_step_secrets()

    def missing(self, present: Iterable[str], *, mounted: bool = False) -> dict[str, str]:
        """The exported variables a container lacks, as plain text (not yet encoded).

        ``present``: the names the container holds (values and ``valueFrom`` entries alike);
        ``mounted``: it mounts Kubernetes Secrets as environment variables.
        """
        held = set(present) | self.left_out(mounted=mounted).keys()
        held |= {field.env for field in map(_setting_of, list(held)) if field is not None}
        return {name: text for name, text in self.exported.items() if name not in held}

    def encoded(self, name: str, text: str) -> str:
        """``text`` of variable ``name`` as this target's pod spec carries it.

        Raises:
            ConfigError: the value is one this target cannot carry.

        """
        if self.target == "airflow":
            return for_airflow(name, text)
        if self.target == "argo":
            return for_argo(name, text)
        return for_kubernetes(text)

    def not_given(self, present: Iterable[str]) -> str:
        """What a launch says of the extensions' names set here a container is not given.

        ``present``: the names it holds, a step's ``@environment`` among them; ``""``: none.
        """
        if self.target == "local":  # its tasks inherit the environment
            return ""
        held = set(present)
        names = [name for name in left_behind(self._resolution) if name not in held]
        return left_behind_text(names, self.target) if names else ""

    def literal(self, name: str, value: Any) -> Any:
        """Metaflow's own entry ``name`` of a pod (:func:`written_by_metaflow`), as its text reads.

        Metaflow writes the settings' values into a pod as they are, and Kubernetes expands
        ``$(NAME)`` and reads ``$$`` as ``$`` in them (Airflow renders them as Jinja first): a
        task resolved another service URL, headers or init script than the launcher. Each
        ``$`` is written ``$$`` (a value of a setting is text, never a reference to expand),
        and on Airflow a value holding Jinja's marks goes in a raw block; any other entry is
        left as it is. A step's ``@environment`` value under one of these names is taken
        as text too (the launcher resolves it so).
        """
        if self.target not in POD_TARGETS or not isinstance(value, str):
            return value
        if not written_by_metaflow(self.target, name):
            return value
        if self.target == "airflow" and any(mark in value for mark in _JINJA):
            # Airflow renders it as Jinja first: in a raw block, as the package's own; a value
            # no raw block holds (an endraw in it) is refused, as ``show --target`` refuses it:
            # written as it is, Airflow could render no task of the DAG
            return for_airflow(name, value)
        return for_kubernetes(value) if "$" in value else value

    def refused(self, name: str, text: str) -> list[Problem]:
        """The problems of carrying ``text`` of variable ``name`` in this target (none: it can)."""
        try:
            self.encoded(name, text)
        except ConfigError as exc:
            return list(exc.problems)
        return []

    def service_headers(self, present: Iterable[str]) -> tuple[bool, str | None]:
        """Whether Metaflow's ``METAFLOW_SERVICE_HEADERS`` must be replaced, and by what.

        It must where it holds a fetched secret (the auth key or the headers are a reference):
        then by the headers as ``to_env`` exports them, or by nothing (``None``: remove it) when
        no layer set them or ``ARGO_WORKFLOWS_ENV_VARS_TO_SKIP`` lists them (a Kubernetes
        Secret supplies them). A plain-text secret stays as Metaflow wrote it.
        """
        if HEADERS not in set(present):
            return False, None
        if HEADERS in self.skipped:  # a Kubernetes Secret supplies them: Metaflow's would win
            return True, None
        if not self._fetched:
            return False, None
        return True, self.exported.get(HEADERS)

    def exposed_secrets(self) -> list[str]:
        """The secrets given as text where Metaflow alone would write none (:data:`WHERE`).

        Secret settings given (not left to a mounted Secret or the skip list), not a secret
        reference (the task fetches that), and not what Metaflow writes itself: its headers
        entry, the auth key merged in, and the sandbox's API key when the sandbox is on. And
        any other setting given whose value holds a URL's password (or a token as its user
        name) that Metaflow itself writes into no task of the target (:func:`written_by_metaflow`).
        Then a registered section's keys given: its secret keys, and any holding a URL's
        password (Metaflow alone writes none of them).
        """
        values = self._values
        own = set(self._in_headers)
        given = self.missing((), mounted=bool(self.mounted_secrets))
        exposed = []
        for field in FIELDS:
            if field.env not in given:
                continue
            value = values[field.name]
            if field.secret:
                if field.name not in own and not isinstance(value, Reference):
                    exposed.append(field.env)
            elif not written_by_metaflow(self.target, field.env) and field.bears_secret(value):
                exposed.append(field.env)
        # a registered section's: its secret keys (but what holds '{{': the text of a reference,
        # which a section does not fetch, holds no secret), a URL's password in any of its keys
        exposed.extend(
            name
            for name, text in given.items()
            if name not in BY_ENV
            and ((name in self._section_secrets and MARK not in text) or has_url_password(text))
        )
        return exposed

    def metaflow_headers(self) -> str | None:
        """The ``METAFLOW_SERVICE_HEADERS`` a task gets from Metaflow's entry, or ``None``.

        As :meth:`service_headers` leaves it: Metaflow's ``SERVICE_HEADERS`` with the auth key
        merged in as ``x-api-key`` (the sandbox's API key when the sandbox is on).
        """
        replace, headers = self.service_headers((HEADERS,))
        if replace:
            return headers
        values = self._values
        merged = dict(values["SERVICE_HEADERS"] or {})
        if values["SERVICE_AUTH_KEY"] is not None:
            merged["x-api-key"] = values["SERVICE_AUTH_KEY"]
        if values["AWS_SANDBOX_ENABLED"]:
            merged["x-api-key"] = values["AWS_SANDBOX_API_KEY"]
        return json.dumps(merged)


def for_kubernetes(text: str) -> str:
    """``text`` as a pod's ``env[].value``: Kubernetes expands ``$(NAME)``, ``$$`` is ``$``."""
    return text.replace("$", "$$")


def for_argo(name: str, text: str) -> str:
    """``text`` as an Argo Workflows container's ``env[].value``: a pod's.

    Argo reads ``{{...}}`` in a template as its own variable, and refuses a workflow holding one
    it does not know ("failed to resolve"): a value holding ``{{`` (a secret reference, the
    only such value a setting takes) cannot go there.

    Raises:
        ConfigError: the value holds ``{{``.

    """
    if "{{" in text:
        raise ConfigError(
            [
                Problem.bad_argument(
                    name,
                    "a value holding '{{' (a secret reference)",
                    "a value Argo Workflows can carry (it reads '{{...}}' as a variable of its "
                    "own and refuses a workflow holding one it does not know)",
                    "mount the secret in the pods as a Kubernetes Secret instead: name it in "
                    "METAFLOW_KUBERNETES_SECRETS (or METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS) "
                    f"and add {name} to METAFLOW_ARGO_WORKFLOWS_ENV_VARS_TO_SKIP",
                )
            ]
        )
    return for_kubernetes(text)


_JINJA = ("{{", "{%", "{#")
#: the end of a raw block, as Jinja reads it (``{%``, ``{%-`` or ``{%+``, spaces, ``endraw``)
_END_RAW = re.compile(r"\{%[-+]?\s*endraw")


def for_airflow(name: str, text: str) -> str:
    """``text`` as an Airflow task's ``env_vars`` value: Jinja-rendered, then a pod's.

    Airflow renders ``env_vars`` as Jinja templates: a value holding template syntax (a secret
    reference ``{{resolve:...}}``) goes in a ``{% raw %}`` block, which renders to the text.

    Raises:
        ConfigError: the value holds the end of a raw block, which nothing can carry.

    """
    encoded = for_kubernetes(text)
    if not any(mark in text for mark in _JINJA):
        return encoded
    if _END_RAW.search(text):
        raise ConfigError(
            [
                Problem.bad_argument(
                    name,
                    "a value holding '{% endraw'",
                    "a value Airflow's Jinja rendering can carry",
                    f"give {name} a value without '{{% endraw'",
                )
            ]
        )
    return "{% raw %}" + encoded + "{% endraw %}"


def not_carried(
    resolution: Resolution, target: str, launcher: Mapping[str, Any] | None = None
) -> list[Problem]:
    """The problems of giving ``resolution``'s settings to a task of ``target``, as a launch would.

    ``to_env(target)`` within the target's limits, and each variable a container is given as
    the target carries it (an Argo template takes no ``{{``); ``launcher`` as ``TaskEnv``
    takes it (:func:`launcher_values`).
    """
    try:
        task = TaskEnv(resolution, target, launcher=launcher)
    except ConfigError as exc:  # over a limit of the target
        return list(exc.problems)
    return [
        problem
        for name, text in task.missing((), mounted=bool(task.mounted_secrets)).items()
        for problem in task.refused(name, text)
    ]


def exposed_text(names: list[str], target: str) -> str:
    """What is said of secrets a target's tasks are given as text (``exposed_secrets``).

    Secret settings, and then the other settings whose value holds a URL's password.
    """
    secret = [name for name in names if name in _SECRETS]
    sections = [name for name in names if name not in _SECRETS and _secret_name(name)]
    in_urls = [name for name in names if not _secret_name(name)]
    said = [_secrets_text(secret, target)] if secret else []
    if sections:  # a section fetches no secret reference: a Kubernetes Secret, or the image
        said.append(_secrets_text(sections, target, references=False))
    if in_urls:
        one = len(in_urls) == 1
        it = "it" if one else "them"
        said.append(
            f"{', '.join(in_urls)} {'holds' if one else 'hold'} a URL's password, written as "
            f"text into {WHERE[target]} ({target}), where whoever can read that reads {it} "
            f"(Metaflow alone writes {it} nowhere): take the password out of the URL"
        )
    return "; ".join(said)


def _secrets_text(names: list[str], target: str, *, references: bool = True) -> str:
    """What is said of secrets written as text into a target's tasks.

    ``references``: they may be secret references (a built-in setting's; a registered section
    fetches none).
    """
    one = len(names) == 1
    them = "it" if one else "them"
    where = (  # what each target's pods mount
        "METAFLOW_KUBERNETES_SECRETS or METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS"
        if target == "argo"
        else "METAFLOW_KUBERNETES_SECRETS, or a step's @kubernetes(secrets=[...])"
    )
    mount = (
        f"mount a Kubernetes Secret that holds them ({where}): pods that mount one are not "
        "given them"
    )
    if target == "argo":
        how = mount
    elif not references:
        how = (
            mount
            if target in ("kubernetes", "airflow")
            else "give them to the tasks another way (the image, or a secret store the "
            "section's own code reads), and unset them here"
        )
    else:
        how = (
            "keep them in Secrets Manager or SSM and set a secret reference in their place "
            "({{resolve:secretsmanager:<name>}}, {{resolve:ssm:<name>}}), which the task fetches"
            + (
                "; or mount a Kubernetes Secret (METAFLOW_KUBERNETES_SECRETS)"
                if target in ("kubernetes", "airflow")
                else ""
            )
        )
    if one:
        how = how.replace("them", "it").replace("hold it", "holds it")
    return (
        f"{', '.join(names)} {'is' if one else 'are'} secret, and written as text into "
        f"{WHERE[target]} ({target}), where whoever can read that reads {them} (Metaflow alone "
        f"writes {them} nowhere): {how}"
    )


def left_behind(resolution: Resolution) -> list[str]:
    """The names installed extensions read that are set here (environment, files), in order.

    Metaflow passes none of them to a remote task (nor does ``to_env``: their sensitivity is
    the extension's to know): there the extension reads what the task's image and
    ``@environment`` give it.
    """
    from .._sources.extensions import config_names  # the installed extensions: read once

    read = config_names()
    if not read:
        return []
    found: dict[str, None] = {}
    for data in resolution.layers.values():
        found.update(
            (key, None)
            for key in data.loose
            if key in read and not key.startswith(COPIED_TO_TASKS)  # Metaflow passes those
        )
    return list(found)


def left_behind_text(names: list[str], target: str) -> str:
    """What a launch says of the extensions' names set here that its tasks are not given."""
    shown = keys_said(names[:10], len(names[10:]))
    one = len(names) == 1
    return (
        f"{shown} {'is' if one else 'are'} set here and read by an installed Metaflow "
        f"extension, but not passed to the tasks ({target}): Metaflow passes none of an "
        "extension's names. Give them in the image or with @environment for a task to resolve "
        "what this machine resolves"
    )


def left_to_step_secrets_text(task: TaskEnv, names: list[str]) -> str:
    """What is said of the secret settings a pod mounting its step's own Secrets is not given."""
    one = len(names) == 1
    return (
        f"{', '.join(names)} {'is' if one else 'are'} set here and not given to the pods of "
        f"steps that mount Kubernetes Secrets of their own (@kubernetes(secrets=[...]), "
        f"{task.target}): left to those Secrets, which must hold {'it' if one else 'them'} for "
        "a task to resolve what this machine resolves; or give it as a secret reference "
        "({{resolve:...}}), which every pod is given"
    )


def left_to_secrets_text(task: TaskEnv) -> str:
    """What is said of the secret settings a target's pods are not given (``left_to_secrets``)."""
    names = task.left_to_secrets()
    one = len(names) == 1
    return (
        f"{', '.join(names)} {'is' if one else 'are'} set here and not given to the pods "
        f"({task.target}): left to the Kubernetes Secrets they mount "
        f"({', '.join(task.mounted_secrets)}), which must hold {'it' if one else 'them'} for a "
        "task to resolve what this machine resolves (`metaflow-config show --target "
        f"{task.target}` lists what a task resolves)"
    )
