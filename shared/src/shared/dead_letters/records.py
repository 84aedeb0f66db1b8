"""What a dead letter is, as recorded: one row per message parked in a `<queue>.dlq`.

The consumer base writes the row in the moment it parks the message, before it acks the
original, and the message carries the row's id in its `x-dead-letter-id` header, so the tool
always knows which row a parked message belongs to.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from shared.events.envelope import EventEnvelope
from shared.postgres import Db

DEAD_LETTER_ID_HEADER = "x-dead-letter-id"
REPLAYS_HEADER = "x-replays"

# Headers that describe one life of a message in its queue; a replay starts a new life, so they go.
_LIFE_HEADERS = frozenset(
    {
        "x-error-class",
        "x-error-message",
        "x-attempts",
        "x-first-failure-at",
        "x-last-failure-at",
        "x-original-queue",
        DEAD_LETTER_ID_HEADER,
        "x-retry-delay-ms",
        "x-waits",
        "x-wait-reason",
        "x-wait-detail",
        "x-waiting-since",
        "x-delivery-count",
    }
)
_BROKER_DEATH_PREFIXES = ("x-death", "x-first-death", "x-last-death")

STATUSES = ("dead", "replayed", "discarded")


def json_safe(value: Any) -> Any:
    """AMQP header values as JSON: tables and arrays kept, bytes as text, times as ISO 8601."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def fresh_life_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    """The headers a replayed message starts again with: no failure story, no attempt count,
    its origin and tenant kept, and how often it has been replayed."""
    kept = {
        key: value
        for key, value in headers.items()
        if key not in _LIFE_HEADERS and not key.startswith(_BROKER_DEATH_PREFIXES)
    }
    kept[REPLAYS_HEADER] = _int(headers.get(REPLAYS_HEADER)) + 1
    return kept


# What a reason says apart from the ids and numbers of one message; quoted text (a product
# reference, a field name) is part of the cause.
_QUOTED = re.compile(r"('[^']*'|\"[^\"]*\")")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?![\w])")
_PYDANTIC_INPUT = re.compile(r"input_value=.*?, input_type=")
_PYDANTIC_LINK = re.compile(r"\s*For further information visit \S+")
CAUSE_MAX = 300


def cause_of(reason: str) -> str:
    """The reason without what differs between dead letters of one cause."""
    text = _PYDANTIC_LINK.sub("", reason)
    text = _PYDANTIC_INPUT.sub("input_value=…, input_type=", text)
    parts = _QUOTED.split(text)
    for index, part in enumerate(parts):
        part = _UUID.sub("<id>", part)
        parts[index] = part if index % 2 else _NUMBER.sub("<n>", part)
    return " ".join("".join(parts).split())[:CAUSE_MAX]


def group_key(error_class: str, cause: str) -> str:
    """A short, stable name for a cause, to ask for one group back."""
    return hashlib.md5(f"{error_class}\n{cause}".encode(), usedforsecurity=False).hexdigest()[:16]


# In SQL, the same key: left(md5(error_class || chr(10) || cause), 16).
GROUP_KEY_SQL = "left(md5(error_class || chr(10) || cause), 16)"


@dataclass(frozen=True)
class DeadLetter:
    """A message given up on, with what the record keeps of it."""

    id: UUID
    queue: str
    exchange: str
    routing_key: str
    message_id: str
    event_type: str
    event_version: int | None
    tenant_id: UUID | None
    aggregate_type: str
    aggregate_id: UUID | None
    error_class: str
    reason: str
    attempts: int
    first_failure_at: datetime
    last_failure_at: datetime
    replays: int
    headers: dict[str, Any]
    body: bytes
    # The body as a JSON object, when it is one: what is left of an envelope that did not parse.
    raw: dict[str, Any] | None
    # The envelope, when the body is one.
    envelope: EventEnvelope | None

    @property
    def message_key(self) -> str:
        return self.message_id or "sha256:" + hashlib.sha256(self.body).hexdigest()

    @property
    def cause(self) -> str:
        return cause_of(self.reason)

    @property
    def data(self) -> dict[str, Any]:
        """The event's data as sent, for what the contract cannot read (an unknown version)."""
        data = (self.raw or {}).get("data")
        return data if isinstance(data, dict) else {}


def dead_letter_of(
    *,
    queue: str,
    body: bytes,
    headers: Mapping[str, Any],
    message_id: str | None,
    message_type: str | None,
    routing_key: str | None,
    exchange: str | None,
    record_id: UUID | None = None,
) -> DeadLetter:
    """Reads a dead letter from a message and its failure headers (ours, or the broker's own
    when it dead-lettered the message itself at the queue's delivery limit)."""
    raw = _json_object(body)
    envelope = _envelope(body)
    event_type = str((raw or {}).get("type") or message_type or "")
    tenant = as_uuid(headers.get("x-tenant-id")) or as_uuid((raw or {}).get("tenant_id"))
    error_class, reason, attempts = _failure(headers)
    now = datetime.now(UTC)
    aggregate_type, aggregate_id = aggregate_of(event_type, raw)
    return DeadLetter(
        id=record_id or as_uuid(headers.get(DEAD_LETTER_ID_HEADER)) or uuid4(),
        queue=queue,
        exchange=str(headers.get("x-original-exchange") or exchange or ""),
        routing_key=str(headers.get("x-original-routing-key") or routing_key or ""),
        message_id=str(message_id or (raw or {}).get("id") or ""),
        event_type=event_type,
        event_version=_optional_int((raw or {}).get("version")),
        tenant_id=tenant,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        error_class=error_class,
        reason=reason,
        attempts=attempts,
        first_failure_at=_time(headers.get("x-first-failure-at")) or now,
        last_failure_at=_time(headers.get("x-last-failure-at")) or now,
        replays=_int(headers.get(REPLAYS_HEADER)),
        headers=json_safe(dict(headers)),
        body=body,
        raw=raw,
        envelope=envelope,
    )


def dead_letter_of_message(
    queue: str, message: AbstractIncomingMessage, headers: Mapping[str, Any]
) -> DeadLetter:
    """`dead_letter_of` a message as delivered, with `headers` in place of its own."""
    return dead_letter_of(
        queue=queue,
        body=message.body,
        headers=headers,
        message_id=message.message_id,
        message_type=message.type,
        routing_key=message.routing_key,
        exchange=message.exchange,
    )


# Events whose aggregate is not the envelope's: a refund travels on its order's stream.
_AGGREGATE_FIELDS = {"order.refunded": ("refund", "refund_id")}


def aggregate_of(event_type: str, raw: Mapping[str, Any] | None) -> tuple[str, UUID | None]:
    """What the event is about: (order | refund | session | register | ..., its id)."""
    data = (raw or {}).get("data")
    data = data if isinstance(data, dict) else {}
    if event_type in _AGGREGATE_FIELDS:
        kind, field = _AGGREGATE_FIELDS[event_type]
        return kind, as_uuid(data.get(field))
    kind = event_type.split(".", 1)[0] if "." in event_type else ""
    return kind, as_uuid((raw or {}).get("aggregate_id"))


def _failure(headers: Mapping[str, Any]) -> tuple[str, str, int]:
    if headers.get("x-error-class"):
        return (
            str(headers["x-error-class"]),
            str(headers.get("x-error-message") or ""),
            _int(headers.get("x-attempts")) or 1,
        )
    # Parked by the broker, not by us: the work queue's delivery limit was reached (a consumer
    # that died on the message each time), or an older release parked it without our headers.
    deaths = headers.get("x-death")
    death = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}
    broker_reason = str(headers.get("x-first-death-reason") or death.get("reason") or "unknown")
    deliveries = _int(headers.get("x-delivery-count")) or _int(death.get("count"))
    after = f" after {deliveries} deliveries" if deliveries else ""
    return (
        "BrokerDeadLettered",
        f"the broker dead-lettered it ({broker_reason}){after}, with no failure recorded by a "
        "consumer",
        deliveries,
    )


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _envelope(body: bytes) -> EventEnvelope | None:
    try:
        return EventEnvelope.model_validate_json(body)
    except ValidationError:
        return None


def as_uuid(value: Any) -> UUID | None:
    """A header's or a JSON field's UUID, or None when it holds none."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def _int(value: Any) -> int:
    return _optional_int(value) or 0


def _optional_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


async def record_dead_letter(db: Db, dead: DeadLetter) -> tuple[UUID, bool]:
    """Writes the record; (its id, True) the first time, or the id of the open record this
    message already has (a redelivery parked again after a lost ack) and False."""
    row = await db.fetchrow(
        """INSERT INTO dead_letter_records (
               id, queue, exchange, routing_key, message_id, message_key, event_type,
               event_version, tenant_id, aggregate_type, aggregate_id, error_class, reason, cause,
               attempts, first_failure_at, last_failure_at, headers, body, envelope, replays)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                   $18, $19, $20, $21)
           ON CONFLICT (queue, message_key) WHERE status = 'dead' DO UPDATE
               SET attempts = EXCLUDED.attempts, last_failure_at = EXCLUDED.last_failure_at,
                   error_class = EXCLUDED.error_class, reason = EXCLUDED.reason,
                   cause = EXCLUDED.cause,
                   headers = EXCLUDED.headers
                       || jsonb_build_object('x-dead-letter-id', dead_letter_records.id::text)
           RETURNING id, (xmax = 0) AS inserted""",
        dead.id,
        dead.queue,
        dead.exchange,
        dead.routing_key,
        dead.message_id,
        dead.message_key,
        dead.event_type,
        dead.event_version,
        dead.tenant_id,
        dead.aggregate_type,
        dead.aggregate_id,
        dead.error_class,
        dead.reason,
        dead.cause,
        dead.attempts,
        dead.first_failure_at,
        dead.last_failure_at,
        dead.headers,
        dead.body,
        dead.raw,
        dead.replays,
    )
    assert row is not None
    return row["id"], bool(row["inserted"])


async def forget_dead_letter(db: Db, record_id: UUID) -> None:
    """Removes a record whose message never reached its `.dlq` (the publish failed)."""
    await db.execute("DELETE FROM dead_letter_records WHERE id = $1 AND status = 'dead'", record_id)
