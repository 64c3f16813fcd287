"""What an on-demand backup is taken of in a Backup vault: its backup instances.

A backup instance (a disk, a blob account, an AKS cluster, a PostgreSQL or MySQL server...) is
found in ``backupInstances`` (paged by nextLink) by its friendly name, its datasource's name or
the instance's own name, any casing, or named by its full ARM id. Its backup is started with
``POST backupInstances/{bi}/backup`` and a ``backupRuleOptions`` body naming a backup rule of
the instance's policy and a retention tag of that rule: both are read from the policy
(``backupPolicies/{name}``) and checked before anything is sent, because the service's answer
to a wrong name is a 400 after the fact.

As for a Recovery Services item, the trigger is sent exactly once (``NO_RETRY``); when its
answer is lost, ``running_backups`` tells what the service started.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from azbackupjobs.arm.client import NO_RETRY, Response
from azbackupjobs.model import ids
from azbackupjobs.model.errors import UnexpectedResponseError, UsageError
from azbackupjobs.model.kinds import VaultKind
from azbackupjobs.model.text import sanitize
from azbackupjobs.sources import filters
from azbackupjobs.sources.backup_vault import BackupVaultSource
from azbackupjobs.sources.base import JobQuery, arm_list_pages, expect_object
from azbackupjobs.sources.protected_items import AmbiguousItem, ItemNotFound, path_name

DEFAULT_RETENTION_TAG: Final = "Default"

_INSTANCE_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/microsoft\.dataprotection/backupvaults/(?P<vault>[^/]+)"
    r"/backupinstances/(?P<instance>[^/]+)/?$",
    re.IGNORECASE,
)
_POLICY_ID_RE = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)"
    r"/providers/microsoft\.dataprotection/backupvaults/(?P<vault>[^/]+)"
    r"/backuppolicies/(?P<policy>[^/]+)/?$",
    re.IGNORECASE,
)
_MAX_SHOWN = 5


def _name(value: str, what: str) -> str:
    """An instance or policy name from an id, fit to be one encoded URL path segment."""
    return path_name(value, what)


@dataclass(frozen=True)
class InstanceRef:
    """A backup instance named by its full ARM id: its vault and its name."""

    subscription: str
    resource_group: str
    vault: str
    instance: str

    @property
    def id(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.DataProtection/backupVaults/{self.vault}"
            f"/backupInstances/{self.instance}"
        )

    def vault_ref(self) -> ids.JobRef:
        """The vault the id names, read as a job id's vault is (it wins over the flags)."""
        return ids.JobRef(
            job_id="",
            subscription=self.subscription,
            resource_group=self.resource_group,
            vault=self.vault,
            vault_kind=VaultKind.BACKUP,
        )


def parse_instance_id(text: str) -> InstanceRef | None:
    """The instance a full ARM id names (any casing), or None when ``text`` is not one."""
    match = _INSTANCE_ID_RE.fullmatch(text.strip())
    if match is None:
        return None
    return InstanceRef(
        subscription=ids.validate_subscription(match["sub"]),
        resource_group=ids.validate_resource_group(match["rg"]),
        vault=ids.validate_vault(match["vault"]),
        instance=_name(match["instance"], "backup instance"),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class BackupInstance:
    """One backup instance as listed: the names it answers to, its policy, the resource."""

    ref: InstanceRef
    friendly_name: str
    datasource_name: str | None
    datasource_type: str
    policy_id: str | None
    raw: Mapping[str, Any]

    @property
    def id(self) -> str:
        text = self.raw.get("id")
        return text if isinstance(text, str) else self.ref.id

    @property
    def names(self) -> tuple[str, ...]:
        """What ITEM may say to mean this instance (compared without case)."""
        return tuple(n for n in (self.friendly_name, self.datasource_name, self.ref.instance) if n)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> BackupInstance | None:
        """The instance, or None when the entry is not one (no instance id)."""
        rid = raw.get("id")
        try:
            ref = parse_instance_id(rid) if isinstance(rid, str) else None
        except UsageError:
            return None
        if ref is None:
            return None
        props = _dict(raw.get("properties"))
        source = _dict(props.get("dataSourceInfo"))
        return cls(
            ref=ref,
            friendly_name=_text(props.get("friendlyName")) or ref.instance,
            datasource_name=_text(source.get("resourceName")),
            datasource_type=_text(source.get("datasourceType")) or "unknown type",
            policy_id=_text(_dict(props.get("policyInfo")).get("policyId")),
            raw=raw,
        )


@dataclass(frozen=True)
class RuleChoice:
    """The backup rule and retention tag a backup will name, as the policy spells them."""

    rule: str
    tag: str


def backup_rules(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The policy's backup rules (its other rules are retention rules)."""
    rules = _dict(policy.get("properties")).get("policyRules")
    return [
        r
        for r in (rules if isinstance(rules, list) else [])
        if isinstance(r, dict)
        and _text(r.get("name"))
        and str(r.get("objectType", "")).lower() == "azurebackuprule"
    ]


def rule_tags(rule: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """The retention tags a backup rule tags its recovery points with: (name, is default)."""
    criteria = _dict(rule.get("trigger")).get("taggingCriteria")
    tags: list[tuple[str, bool]] = []
    for c in criteria if isinstance(criteria, list) else []:
        name = _text(_dict(_dict(c).get("tagInfo")).get("tagName"))
        if name:
            tags.append((name, _dict(c).get("isDefault") is True))
    return tags


def choose_rule(
    policy: Mapping[str, Any], rule: str | None, tag: str | None, instance: str
) -> RuleChoice:
    """``--rule`` and ``--retention-tag`` checked against the policy, or their defaults: the
    policy's only backup rule, and the rule's default tag (``Default``)."""
    policy_name = sanitize(_text(policy.get("name")) or "the policy", 80)
    rules = backup_rules(policy)
    names = [str(r["name"]) for r in rules]
    listed = ", ".join(sanitize(n, 60) for n in names) or "none"
    if rule is not None:
        chosen = next((r for r in rules if str(r["name"]).lower() == rule.strip().lower()), None)
        if chosen is None:
            raise UsageError(
                f"--rule {sanitize(rule, 60)}: policy {policy_name} of {instance} has no such "
                f"backup rule (its backup rules: {listed}); nothing sent"
            )
    elif len(rules) == 1:
        chosen = rules[0]
    else:
        raise UsageError(
            f"policy {policy_name} of {instance} has {len(rules)} backup rules ({listed}): "
            "say which with --rule; nothing sent"
        )
    tags = rule_tags(chosen)
    if tag is None:
        default = next((name for name, is_default in tags if is_default), None)
        return RuleChoice(str(chosen["name"]), default or DEFAULT_RETENTION_TAG)
    if not tags:
        return RuleChoice(str(chosen["name"]), tag.strip())
    known = next((name for name, _ in tags if name.lower() == tag.strip().lower()), None)
    if known is None:
        raise UsageError(
            f"--retention-tag {sanitize(tag, 60)}: backup rule {sanitize(str(chosen['name']), 60)}"
            f" of policy {policy_name} tags with "
            f"{', '.join(sanitize(n, 40) for n, _ in tags)}; nothing sent"
        )
    return RuleChoice(str(chosen["name"]), known)


def backup_body(choice: RuleChoice) -> dict[str, Any]:
    """The BackupInstances_AdhocBackup body (``TriggerBackupRequest``)."""
    return {
        "backupRuleOptions": {
            "ruleName": choice.rule,
            "triggerOption": {"retentionTagOverride": choice.tag},
        }
    }


class BackupInstances:
    """The backup instances of the Backup vault of ``source``, their policies and trigger."""

    def __init__(self, source: BackupVaultSource) -> None:
        self.source = source

    def items(self) -> Iterator[BackupInstance]:
        pages = arm_list_pages(
            self.source, self.source.vault_url("backupInstances"), "backup instance list"
        )
        for page in pages:
            for raw in page:
                found = BackupInstance.from_dict(raw)
                if found is not None:
                    yield found

    def resolve(self, text: str) -> BackupInstance:
        """The one instance ``text`` names: its full id, or one of its names (any casing)."""
        ref = parse_instance_id(text)
        if ref is not None:
            wanted = ref.id.lower()
            for instance in self.items():
                if instance.ref.id.lower() == wanted:
                    return self._checked(instance)
            raise ItemNotFound(f"no backup instance {sanitize(text, 200)} in {self.source.name}")
        name = text.strip().casefold()
        found = [i for i in self.items() if name in (n.casefold() for n in i.names)]
        if not found:
            raise ItemNotFound(
                f"no backup instance named {sanitize(text, 80)!r} in {self.source.name}",
                hint="an instance is named by its friendly name, its datasource's name or its "
                "own name (any casing), or by its full id",
            )
        if len(found) > 1:
            shown = "; ".join(
                f"{sanitize(i.id, 300)} ({sanitize(i.datasource_type, 60)})"
                for i in found[:_MAX_SHOWN]
            )
            more = f"; and {len(found) - _MAX_SHOWN} more" if len(found) > _MAX_SHOWN else ""
            raise AmbiguousItem(
                f"{len(found)} backup instances are named {sanitize(text, 80)!r}: {shown}{more}",
                hint="pass the instance's full id",
            )
        return self._checked(found[0])

    def _checked(self, instance: BackupInstance) -> BackupInstance:
        """A listed instance must live in this vault: its name goes into the trigger's path."""
        ctx = self.source.ctx
        ref = instance.ref
        if (ref.subscription, ref.resource_group.lower(), ref.vault.lower()) != (
            ctx.subscription.lower(),
            ctx.resource_group.lower(),
            ctx.vault.lower(),
        ):
            raise UnexpectedResponseError(
                f"the vault listed a backup instance of another vault: {sanitize(instance.id, 200)}"
            )
        return instance

    def policy(self, instance: BackupInstance) -> dict[str, Any]:
        """The instance's backup policy (a policy of its vault)."""
        match = _POLICY_ID_RE.fullmatch(instance.policy_id or "")
        if match is None:
            raise UnexpectedResponseError(
                f"backup instance {sanitize(instance.friendly_name, 80)} names no backup policy "
                f"of a Backup vault ({sanitize(instance.policy_id or 'none', 200)!r})"
            )
        name = _name(match["policy"], "backup policy")
        resp = self.source.request("GET", self.source.vault_url("backupPolicies", name))
        return expect_object(resp.body, "backup policy", resp.request_id)

    def trigger(self, instance: BackupInstance, body: Mapping[str, Any]) -> Response:
        """POST the backup, exactly once: 202 with the operation to follow (or, as the API
        also allows, 200 with the job's id)."""
        return self.source.request(
            "POST",
            self.source.vault_url("backupInstances", instance.ref.instance, "backup"),
            body=dict(body),
            ok=frozenset({200, 202}),
            retry=NO_RETRY,
        )

    def running_backups(
        self, instance: BackupInstance, window: filters.Window
    ) -> list[dict[str, Any]]:
        """The instance's backup jobs that are running and started within ``window``, newest
        first: what a trigger whose answer was lost may have started."""
        query = JobQuery(window=window, statuses=("InProgress",), operation="Backup")
        return [raw for raw in self.source.jobs(query) if _is_job_of(raw, instance)]


def _is_job_of(raw: Mapping[str, Any], instance: BackupInstance) -> bool:
    """A job names its instance by id; a job without one, by the instance's friendly name."""
    props = _dict(raw.get("properties"))
    named = _text(props.get("backupInstanceId"))
    if named is not None:
        return named.lower() == instance.id.lower()
    friendly = _text(props.get("backupInstanceFriendlyName")) or ""
    return friendly.casefold() == instance.friendly_name.casefold()
