"""Test support for dead letters: what RabbitMQ holds in a `.dlq` against what the records say."""

from __future__ import annotations

from uuid import UUID

import aio_pika
import asyncpg

from test_support.polling import eventually


async def dlq_depth(amqp_url: str, queue: str) -> int:
    """Messages ready in `<queue>.dlq`, as RabbitMQ counts them."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(f"{queue}.dlq", passive=True)
        return declared.declaration_result.message_count or 0
    finally:
        await connection.close()


async def open_dead_letters(pool: asyncpg.Pool, schema: str, queue: str) -> int:
    count: int = await pool.fetchval(
        f"SELECT count(*) FROM {schema}.dead_letter_records WHERE queue = $1 AND status = 'dead'",
        queue,
    )
    return count


async def dlq_agrees_with_records(
    amqp_url: str, pool: asyncpg.Pool, schema: str, queue: str, expected_open: int
) -> None:
    """Waits until the `.dlq` holds `expected_open` messages and the tool shows as many open."""

    async def agreed() -> bool:
        depth = await dlq_depth(amqp_url, queue)
        return depth == expected_open == await open_dead_letters(pool, schema, queue)

    try:
        await eventually(agreed, what=f"{queue}.dlq holding {expected_open} like the records")
    except AssertionError:
        depth = await dlq_depth(amqp_url, queue)
        records = await open_dead_letters(pool, schema, queue)
        raise AssertionError(
            f"{queue}.dlq holds {depth}, the records say {records} open, expected {expected_open}"
        ) from None


async def plant_dead_letter(
    pool: asyncpg.Pool, schema: str, record_id: UUID, tenant_id: UUID, queue: str = "planted"
) -> None:
    """A record of a dead letter of the tenant (with no message behind it), to read."""
    await pool.execute(
        f"""INSERT INTO {schema}.dead_letter_records (id, queue, message_key, event_type,
                tenant_id, error_class, reason, cause, attempts, first_failure_at,
                last_failure_at, body)
            VALUES ($1, $2, $4, 'order.placed', $3, 'PoisonMessageError',
                    'planted by a test', 'planted by a test', 1, now(), now(), '')""",
        record_id,
        queue,
        tenant_id,
        str(record_id),
    )
