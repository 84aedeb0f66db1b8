"""Publishes an event onto a test's exchange as another service would."""

from __future__ import annotations

import uuid

import aio_pika

from shared.events.envelope import EventData, EventEnvelope


async def publish_as_another_service(
    amqp_url: str,
    exchange_name: str,
    data: EventData,
    *,
    tenant_id: uuid.UUID,
    aggregate_id: uuid.UUID,
    version: int = 1,
    event_id: uuid.UUID | None = None,
) -> EventEnvelope:
    envelope = EventEnvelope.wrap(
        data,
        tenant_id=tenant_id,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        producer="test",
    )
    if event_id is not None:
        envelope = envelope.model_copy(update={"id": event_id})
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        exchange = await channel.declare_exchange(
            exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
        )
        await exchange.publish(
            aio_pika.Message(envelope.model_dump_json().encode(), message_id=str(envelope.id)),
            routing_key=envelope.type,
        )
    finally:
        await connection.close()
    return envelope
