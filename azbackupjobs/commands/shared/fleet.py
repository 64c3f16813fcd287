"""The fleet flags and source, shared by ``list --fleet`` and ``watch --fleet``.

A fleet is every vault in scope: the subscriptions named (``--subscriptions``, or the one
``--subscription``), a management group, or every subscription the credential can read. Its
jobs come from Resource Graph (``sources.fleet``) through the same transport as a vault's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from azbackupjobs.arm import settings
from azbackupjobs.commands.common import CommonOptions, Session, open_session
from azbackupjobs.sources import kql
from azbackupjobs.view.output import Environment, Output

if TYPE_CHECKING:
    from azbackupjobs.arm.client import RetryPolicy
    from azbackupjobs.sources.fleet import ResourceGraphSource


@dataclass(frozen=True)
class FleetOptions:
    """Where ``--fleet`` looks, and whether it counts (``--by``)."""

    subscriptions: tuple[str, ...] = ()  # --subscriptions values (repeatable, comma-separated)
    management_group: str | None = None
    by: str | None = None


def fleet_scope(opts: CommonOptions, fopts: FleetOptions) -> kql.Scope:
    """--subscriptions / --subscription / --management-group; none: the whole tenant."""
    named = list(fopts.subscriptions)
    if opts.subscription:
        named.append(opts.subscription)
    return kql.parse_scope(named or None, fopts.management_group)


def open_fleet(
    opts: CommonOptions,
    env: Environment,
    out: Output,
    scope: kql.Scope,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    notify: Callable[[str], None] | None = None,
    retry: RetryPolicy | None = None,
    timeout: float | None = None,
) -> tuple[Session, ResourceGraphSource]:
    """A session on the endpoint alone (no resource group or vault is resolved or needed), and
    the fleet's source over it. ``notify`` hears Resource Graph's quota waits (default: a note
    on stderr); ``retry``: the transport's policy for the queries (a watch waits out failures
    in its loop instead); ``timeout``: the run's overall deadline (``list --timeout``)."""
    from azbackupjobs.sources.fleet import ResourceGraphSource
    from azbackupjobs.sources.resource_graph import ResourceGraphClient, graph_api_version

    ctx = settings.resolve_service_context(opts.flags, env.env)
    session = open_session(opts, env, out=out, context=ctx, timeout=timeout)
    try:
        graph = ResourceGraphClient(
            session.client,
            api_version=graph_api_version(env.env),
            sleep=sleep,
            clock=clock,
            notify=notify if notify is not None else (lambda text: out.note(f"azjobs: {text}")),
            retry=retry,
        )
    except BaseException:
        session.client.close()
        raise
    from azbackupjobs.sources.recovery_services import RecoveryServicesSource

    vaults = RecoveryServicesSource(session.client)
    return session, ResourceGraphSource(graph, scope, vaults, kind=ctx.vault_kind)
