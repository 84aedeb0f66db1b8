"""What the dead-letter tool takes and answers, over HTTP and in the CLI alike."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Status = Literal["dead", "replayed", "discarded"]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=r"^[^\x00]*$"),
]
Name = Annotated[str, StringConstraints(max_length=300, pattern=r"^[^\x00]*$")]

MAX_IDS = 1000


class DeadLetterFilter(BaseModel):
    """Which dead letters: every given field must match."""

    model_config = ConfigDict(extra="forbid")

    queue: Name | None = Field(
        default=None, description="The work queue, with or without the broker namespace"
    )
    tenant_id: UUID | None = None
    error_class: Name | None = None
    cause: Name | None = Field(default=None, description="The cause as /groups shows it")
    event_type: Name | None = None
    since: datetime | None = Field(default=None, description="Dead-lettered at or after")
    until: datetime | None = Field(default=None, description="Dead-lettered before")


def filter_of(
    queue: Name | None = None,
    tenant_id: UUID | None = None,
    error_class: Name | None = None,
    cause: Name | None = None,
    event_type: Name | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> DeadLetterFilter:
    """A filter from its fields one by one (query parameters, CLI options)."""
    return DeadLetterFilter(
        queue=queue,
        tenant_id=tenant_id,
        error_class=error_class,
        cause=cause,
        event_type=event_type,
        since=since,
        until=until,
    )


class DeadLetterSummary(BaseModel):
    id: UUID
    queue: str
    event_type: str
    event_version: int | None
    tenant_id: UUID | None
    aggregate_type: str
    aggregate_id: UUID | None
    message_id: str
    error_class: str
    reason: str
    cause: str
    group: str = Field(description="The key of the cause's group (/dead-letters/groups)")
    attempts: int
    first_failure_at: datetime
    last_failure_at: datetime
    dead_lettered_at: datetime
    replays: int = Field(description="How often this message had been replayed before")
    status: Status
    closed_at: datetime | None
    closed_by: str | None
    close_reason: str | None


class DeadLetterAction(BaseModel):
    """One replay, discard or reconcile, as audited."""

    id: int
    action: Literal["replay", "discard", "reconcile"]
    actor: str
    via: Literal["api", "cli"]
    selection: dict[str, Any]
    reason: str | None
    rate_per_s: float | None
    selected: int
    done: int
    started_at: datetime
    finished_at: datetime | None


class DeadLetterDetail(DeadLetterSummary):
    exchange: str
    routing_key: str
    headers: dict[str, Any]
    body: str = Field(description="The body as text (UTF-8, undecodable bytes replaced)")
    body_base64: str
    envelope: dict[str, Any] | None
    history: list[DeadLetterSummary] = Field(
        description="Every record of this message in this queue, oldest first: one per time "
        "it was given up on"
    )
    actions: list[DeadLetterAction] = Field(description="What operators did to those records")


class DeadLetterPage(BaseModel):
    items: list[DeadLetterSummary]
    next_cursor: str | None


class DeadLetterGroup(BaseModel):
    group: str
    error_class: str
    cause: str
    count: int
    oldest: datetime
    newest: datetime
    queues: list[str]
    event_types: list[str]
    tenants: int
    example_reason: str


class DeadLetterGroups(BaseModel):
    items: list[DeadLetterGroup]


class Selection(BaseModel):
    """Exactly one of `ids`, `group` or `filter`; only dead (open) records are acted on."""

    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] | None = Field(default=None, min_length=1, max_length=MAX_IDS)
    group: Name | None = Field(default=None, description="A group key from /dead-letters/groups")
    filter: DeadLetterFilter | None = None
    dry_run: bool = Field(default=False, description="Say what would be done; do nothing")

    @model_validator(mode="after")
    def _one_selection(self) -> Self:
        given = [name for name in ("ids", "group", "filter") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of ids, group or filter "
                f"({', '.join(given) if given else 'none was'} given)"
            )
        return self

    def described(self) -> dict[str, Any]:
        """The selection as the audit keeps it."""
        return self.model_dump(mode="json", include={"ids", "group", "filter"}, exclude_none=True)


class ReplayRequest(Selection):
    rate_per_s: float | None = Field(
        default=None, gt=0, le=1000, description="At most this many messages a second"
    )
    reason: Reason | None = None


class DiscardRequest(Selection):
    reason: Reason = Field(description="Why these dead letters are given up for good")


class ActionResult(BaseModel):
    action: Literal["replay", "discard", "reconcile"]
    dry_run: bool
    action_id: int | None = Field(description="The audit entry; none for a dry run")
    selected: int
    done: int
    not_in_queue: list[UUID] = Field(
        description="Selected records whose message was not in the dead-letter queue (left "
        "dead; `reconcile` settles them)"
    )
    items: list[DeadLetterSummary] = Field(description="The selected records, as they are now")
