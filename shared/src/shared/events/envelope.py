"""The one envelope every message on `pos.events` travels in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict


class EventData(BaseModel):
    """Base of every event's payload. Consumers ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    event_version: ClassVar[int] = 1


class EventEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: UUID
    type: str
    version: int
    occurred_at: datetime
    tenant_id: UUID
    aggregate_id: UUID
    aggregate_version: int
    correlation_id: str | None = None
    causation_id: UUID | None = None
    producer: str
    data: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        data: EventData,
        *,
        tenant_id: UUID,
        aggregate_id: UUID,
        aggregate_version: int,
        producer: str,
        correlation_id: str | None = None,
        causation_id: UUID | None = None,
        occurred_at: datetime | None = None,
    ) -> Self:
        return cls(
            id=uuid4(),
            type=data.event_type,
            version=data.event_version,
            occurred_at=occurred_at or datetime.now(UTC),
            tenant_id=tenant_id,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            correlation_id=correlation_id,
            causation_id=causation_id,
            producer=producer,
            data=data.model_dump(mode="json"),
        )
