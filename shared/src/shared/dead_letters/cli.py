"""`<service> dead-letters ...`: the dead-letter tool from a shell, straight on the service's
database and broker (its usual environment variables), for an operator with access to both."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table

from shared.dead_letters.models import (
    ActionResult,
    DeadLetterFilter,
    DeadLetterSummary,
    DiscardRequest,
    ReplayRequest,
    filter_of,
)
from shared.dead_letters.operations import DeadLetterOperations
from shared.dead_letters.store import DeadLetterStore, Scope
from shared.errors import DomainError
from shared.postgres import create_pool
from shared.settings import ServiceSettings

T = TypeVar("T")
SettingsFactory = Callable[[], ServiceSettings]

STATUSES = ("dead", "replayed", "discarded", "all")


def _out() -> Console:
    # Made when printing, so it takes the terminal's width (and COLUMNS) as it is then.
    return Console()


def _who(as_: str | None) -> str:
    return as_ or f"{getpass.getuser()} (cli)"


# Options every command that selects takes alike.
QUEUE = typer.Option(None, "--queue", help="Work queue, with or without the broker namespace")
TENANT = typer.Option(None, "--tenant", help="Tenant id")
ERROR_CLASS = typer.Option(None, "--error-class")
CAUSE = typer.Option(None, "--cause", help="A cause as `groups` shows it")
EVENT_TYPE = typer.Option(None, "--event-type", help="Such as order.placed")
SINCE = typer.Option(None, "--since", help="Dead-lettered at or after (ISO 8601)")
UNTIL = typer.Option(None, "--until", help="Dead-lettered before (ISO 8601)")
IDS = typer.Option(None, "--id", help="A dead letter's id; repeat for more")
GROUP = typer.Option(None, "--group", help="A group key from `groups`")
DRY_RUN = typer.Option(False, "--dry-run", help="List what would be done; do nothing")
AS = typer.Option(None, "--as", help="Who acts, for the audit (default: your OS user)")


def dead_letters_cli(settings_factory: SettingsFactory) -> typer.Typer:
    """The `dead-letters` command group of a service whose settings `settings_factory` reads."""
    app = typer.Typer(
        help="Dead letters: list, group by cause, show, replay to their queue, discard; "
        "every replay and discard is audited."
    )

    def run(work: Callable[[DeadLetterOperations], Awaitable[T]]) -> T:
        settings = settings_factory()
        try:
            return asyncio.run(_with_operations(settings, work))
        except DomainError as error:
            _out().print(f"[red]{error.title}:[/red] {error.detail}")
            raise typer.Exit(1) from None
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'selection'}: {e['msg']}" for e in error.errors()
            )
            _out().print(f"[red]Invalid request:[/red] {problems}")
            raise typer.Exit(2) from None

    @app.command("list")
    def list_command(
        queue: str | None = QUEUE,
        tenant: UUID | None = TENANT,
        error_class: str | None = ERROR_CLASS,
        cause: str | None = CAUSE,
        event_type: str | None = EVENT_TYPE,
        since: datetime | None = SINCE,
        until: datetime | None = UNTIL,
        status: str = typer.Option("dead", help=f"One of {', '.join(STATUSES)}"),
        limit: int = typer.Option(50, min=1, max=250),
        cursor: str | None = typer.Option(None, help="From the previous page"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Dead letters, newest first (open ones unless --status says otherwise)."""
        wanted = filter_of(queue, tenant, error_class, cause, event_type, since, until)
        page = run(
            lambda ops: ops.store.page(Scope.everything(), wanted, _status(status), cursor, limit)
        )
        if as_json:
            _print_json(page)
            return
        _out().print(_records_table(page.items, "Dead letters"))
        if page.next_cursor:
            _out().print(f"more: --cursor {page.next_cursor}")

    @app.command("groups")
    def groups_command(
        queue: str | None = QUEUE,
        tenant: UUID | None = TENANT,
        event_type: str | None = EVENT_TYPE,
        since: datetime | None = SINCE,
        until: datetime | None = UNTIL,
        status: str = typer.Option("dead", help=f"One of {', '.join(STATUSES)}"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """Dead letters by cause, largest group first."""
        wanted = filter_of(queue, tenant, None, None, event_type, since, until)
        groups = run(lambda ops: ops.store.groups(Scope.everything(), wanted, _status(status)))
        if as_json:
            _out().print_json(json.dumps([g.model_dump(mode="json") for g in groups]))
            return
        table = Table(title="Dead letters by cause")
        for column in ("group", "count", "error class", "cause", "queues", "oldest", "newest"):
            table.add_column(column, overflow="fold")
        for g in groups:
            table.add_row(
                g.group,
                str(g.count),
                g.error_class,
                g.cause,
                ", ".join(g.queues),
                _when(g.oldest),
                _when(g.newest),
            )
        _out().print(table)

    @app.command("show")
    def show_command(
        dead_letter_id: UUID = typer.Argument(..., help="The dead letter's id"),
        as_json: bool = typer.Option(False, "--json"),
    ) -> None:
        """One dead letter whole: headers, body, each time it was given up on, what was done."""
        detail = run(lambda ops: ops.store.detail(Scope.everything(), dead_letter_id))
        if as_json:
            _print_json(detail)
            return
        facts = Table.grid(padding=(0, 2))
        for name in (
            "id", "status", "queue", "exchange", "routing_key", "event_type", "event_version",
            "tenant_id", "aggregate_type", "aggregate_id", "message_id", "error_class",
            "reason", "attempts", "first_failure_at", "last_failure_at", "dead_lettered_at",
            "replays", "closed_at", "closed_by", "close_reason", "group",
        ):  # fmt: skip
            facts.add_row(name, str(getattr(detail, name)))
        _out().print(Panel(facts, title="Dead letter"))
        _out().print(Panel(Syntax(json.dumps(detail.headers, indent=2), "json"), title="headers"))
        body = json.dumps(detail.envelope, indent=2) if detail.envelope else detail.body
        _out().print(Panel(Syntax(body, "json"), title="body"))
        _out().print(_records_table(detail.history, "Each time this message was given up on"))
        for action in detail.actions:
            _out().print(
                f"#{action.id} {action.action} by {action.actor} ({action.via}) at "
                f"{_when(action.started_at)}: {action.done}/{action.selected}"
                + (f", reason: {action.reason}" if action.reason else "")
            )

    @app.command("replay")
    def replay_command(
        ids: list[UUID] | None = IDS,
        group: str | None = GROUP,
        queue: str | None = QUEUE,
        tenant: UUID | None = TENANT,
        error_class: str | None = ERROR_CLASS,
        cause: str | None = CAUSE,
        event_type: str | None = EVENT_TYPE,
        since: datetime | None = SINCE,
        until: datetime | None = UNTIL,
        dry_run: bool = DRY_RUN,
        rate: float | None = typer.Option(None, "--rate", help="At most this many a second"),
        reason: str | None = typer.Option(None, "--reason", help="Why, for the audit"),
        as_: str | None = AS,
    ) -> None:
        """Send dead letters back to the queue each came from, with a fresh retry budget."""
        wanted = filter_of(queue, tenant, error_class, cause, event_type, since, until)
        result = run(
            lambda ops: ops.replay(
                Scope.everything(),
                _who(as_),
                "cli",
                ReplayRequest(
                    **_selection(ids, group, wanted),
                    dry_run=dry_run,
                    rate_per_s=rate,
                    reason=reason,
                ),
            )
        )
        _print_result(result)

    @app.command("discard")
    def discard_command(
        reason: str = typer.Option(..., "--reason", help="Why they are given up for good"),
        ids: list[UUID] | None = IDS,
        group: str | None = GROUP,
        queue: str | None = QUEUE,
        tenant: UUID | None = TENANT,
        error_class: str | None = ERROR_CLASS,
        cause: str | None = CAUSE,
        event_type: str | None = EVENT_TYPE,
        since: datetime | None = SINCE,
        until: datetime | None = UNTIL,
        dry_run: bool = DRY_RUN,
        as_: str | None = AS,
    ) -> None:
        """Remove dead letters from their dead-letter queue for good, saying why."""
        wanted = filter_of(queue, tenant, error_class, cause, event_type, since, until)
        result = run(
            lambda ops: ops.discard(
                Scope.everything(),
                _who(as_),
                "cli",
                DiscardRequest(**_selection(ids, group, wanted), dry_run=dry_run, reason=reason),
            )
        )
        _print_result(result)

    @app.command("reconcile")
    def reconcile_command(
        queue: str = typer.Option(..., "--queue", help="The work queue whose .dlq to check"),
        as_: str | None = AS,
    ) -> None:
        """Bring a .dlq and its records back in step.

        A message the broker parked itself gets a record, a second copy goes, and the record of
        a message gone from the .dlq (purged by hand) is closed as discarded."""
        result = run(lambda ops: ops.reconcile(queue, _who(as_), "cli"))
        _print_result(result)

    @app.command("audit")
    def audit_command(limit: int = typer.Option(20, min=1, max=1000)) -> None:
        """The latest replays, discards and reconciles: who, when, what, how many."""
        actions = run(lambda ops: ops.store.actions(Scope.everything(), limit))
        table = Table(title="Dead-letter actions")
        for column in ("#", "when", "action", "who", "via", "selection", "done", "reason"):
            table.add_column(column, overflow="fold")
        for a in actions:
            table.add_row(
                str(a.id),
                _when(a.started_at),
                a.action,
                a.actor,
                a.via,
                json.dumps(a.selection),
                f"{a.done}/{a.selected}",
                a.reason or "",
            )
        _out().print(table)

    return app


async def _with_operations(
    settings: ServiceSettings, work: Callable[[DeadLetterOperations], Awaitable[T]]
) -> T:
    schema = str(getattr(settings, "schema_name"))  # noqa: B009 - every service's settings have it
    pool = await create_pool(settings.database_url, schema, "dead-letters-cli", 1, 3)
    try:
        store = DeadLetterStore(pool, settings.broker_namespace)
        return await work(DeadLetterOperations(store, settings.amqp_url))
    finally:
        await pool.close()


def _status(status: str) -> Any:
    if status not in STATUSES:
        raise typer.BadParameter(f"--status must be one of {', '.join(STATUSES)}")
    return None if status == "all" else status


def _selection(
    ids: list[UUID] | None, group: str | None, wanted: DeadLetterFilter
) -> dict[str, Any]:
    given_filter = wanted if wanted.model_dump(exclude_none=True) else None
    return {"ids": ids or None, "group": group, "filter": given_filter}


def _records_table(records: list[DeadLetterSummary], title: str) -> Table:
    table = Table(title=title)
    for column in ("id", "when", "status", "queue", "event", "tenant", "about", "error", "reason"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(
            str(r.id),
            _when(r.dead_lettered_at),
            r.status,
            r.queue,
            f"{r.event_type} v{r.event_version}" if r.event_version else r.event_type,
            str(r.tenant_id or ""),
            f"{r.aggregate_type} {r.aggregate_id}" if r.aggregate_id else "",
            r.error_class,
            r.reason[:200],
        )
    return table


def _print_result(result: ActionResult) -> None:
    if result.dry_run:
        _out().print(_records_table(result.items, f"Would {result.action}"))
        _out().print(f"dry run: {result.selected} would {result.action}; nothing was done")
        return
    _out().print(
        f"{result.action}: {result.done} of {result.selected} done (audit #{result.action_id})"
    )
    if result.not_in_queue:
        _out().print(
            f"[yellow]{len(result.not_in_queue)} had no message in their .dlq (left as they "
            "are; `reconcile` settles them):[/yellow] " + ", ".join(map(str, result.not_in_queue))
        )


def _print_json(model: BaseModel) -> None:
    _out().print_json(model.model_dump_json())


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else ""
