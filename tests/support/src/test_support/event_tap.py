"""Listens to everything on a test's exchange, so a test can assert what was published."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection


class EventTap:
    def __init__(self, amqp_url: str, exchange: str, binding: str = "#") -> None:
        self._url = amqp_url
        self._exchange = exchange
        self._binding = binding
        self._connection: AbstractRobustConnection | None = None
        self.events: list[dict[str, Any]] = []
        self._arrived = asyncio.Event()

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel()
        exchange = await channel.declare_exchange(
            self._exchange, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key=self._binding)
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self.events.append(json.loads(message.body))
        self._arrived.set()

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == event_type]

    async def wait_for(
        self, count: int, event_type: str | None = None, within_s: float = 10
    ) -> None:
        deadline = time.monotonic() + within_s
        while True:
            found = self.of_type(event_type) if event_type else self.events
            if len(found) >= count:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"expected {count} {event_type or 'events'} within {within_s}s, "
                    f"got {len(found)}: {[e['type'] for e in self.events]}"
                )
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                continue

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()
