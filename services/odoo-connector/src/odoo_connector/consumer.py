"""What the connector consumes, and a consumer that calls Odoo outside the inbox transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from odoo_connector.handlers import Apply, ConnectorHandlers
from odoo_connector.register_lanes import RegisterLanes, Ticket
from shared.consumer import EVENTS_CONSUMED, EVENTS_DUPLICATE, EventConsumer, Handler
from shared.events.envelope import EventData, EventEnvelope

REFERENCE_EVENTS = (
    "tenant.created",
    "tenant.updated",
    "register.created",
    "register.updated",
    "payment_method.created",
    "payment_method.updated",
)
# session.opened rides with the orders: in the register's lane, the till's float is known
# before its first order opens a session in Odoo.
ODOO_EVENTS = ("session.opened", "order.placed", "order.refunded", "session.closed")
# Also reference data (connector.reference keeps the mapping); here they are Odoo work, on their
# own queue because their retry schedule is not the orders' one.
REGISTER_EVENTS = ("register.created", "register.updated")

Prepare = Callable[[EventEnvelope, Any, Ticket], Awaitable[Apply]]


def reference_handlers(handlers: ConnectorHandlers) -> Mapping[str, Handler]:
    return {
        "tenant.created": handlers.apply_tenant,
        "tenant.updated": handlers.apply_tenant,
        "register.created": handlers.apply_register,
        "register.updated": handlers.apply_register,
        "payment_method.created": handlers.apply_payment_method,
        "payment_method.updated": handlers.apply_payment_method,
    }


def odoo_preparers(handlers: ConnectorHandlers) -> Mapping[str, Prepare]:
    return {
        "session.opened": handlers.prepare_session_open,
        "order.placed": handlers.prepare_order,
        "order.refunded": handlers.prepare_refund,
        "session.closed": handlers.prepare_session_close,
    }


def register_preparers(handlers: ConnectorHandlers) -> Mapping[str, Prepare]:
    return dict.fromkeys(REGISTER_EVENTS, handlers.prepare_register)


class OdooEventConsumer(EventConsumer):
    """Calls Odoo first, with no database transaction open, then commits the inbox row and the
    outcome together. A redelivery after a crash in between calls Odoo again, which finds the
    order by our reference instead of creating it twice (see handlers._send)."""

    def __init__(
        self, *, preparers: Mapping[str, Prepare], lanes: RegisterLanes, **kwargs: Any
    ) -> None:
        # The base dispatches on the handler map's keys; the work is done by the preparers.
        super().__init__(handlers=dict.fromkeys(preparers, _unused), **kwargs)
        self._preparers = dict(preparers)
        self._lanes = lanes

    async def _handle(self, envelope: EventEnvelope, data: EventData, handler: Handler) -> None:
        # The ticket is taken before the first await: the lane keeps the delivery order.
        with self._lanes.ticket(data.register_id) as ticket:  # type: ignore[attr-defined]
            apply = await self._prepare(envelope, data, ticket)
        if apply is None:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self.claim_in_inbox(conn, envelope):
                return
            await apply(conn)
        EVENTS_CONSUMED.labels(self.queue.name, envelope.type).inc()

    async def _prepare(
        self, envelope: EventEnvelope, data: EventData, ticket: Ticket
    ) -> Apply | None:
        """The Odoo side; None when the inbox says the event was applied already."""
        if await self._pool.fetchval(
            "SELECT true FROM inbox WHERE consumer = $1 AND event_id = $2", self.name, envelope.id
        ):
            EVENTS_DUPLICATE.labels(self.queue.name).inc()
            return None
        return await self._preparers[envelope.type](envelope, data, ticket)


async def _unused(*_: Any) -> None:
    raise AssertionError("OdooEventConsumer dispatches to its preparers")
