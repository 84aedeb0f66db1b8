"""What the connector consumes, and a consumer that calls Odoo outside the inbox transaction."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from odoo_connector.handlers import Apply, ConnectorHandlers
from odoo_connector.odoo_client import OdooEndpoint
from odoo_connector.odoo_pos import OdooOutage
from odoo_connector.register_lanes import RegisterLanes, Ticket
from shared.consumer import EVENTS_CONSUMED, EVENTS_DUPLICATE, EventConsumer, Handler
from shared.events.envelope import EventData, EventEnvelope
from shared.retry_topology import WaitForPrerequisite

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
# Returns once Odoo at the endpoint is back (its breaker closed), or after the time given.
OdooBack = Callable[[OdooEndpoint, float], Awaitable[None]]

# Waits for what comes earlier in a register's own flow: its previous order, a refund's
# original, the till session's opening, the previous till session's close in Odoo. The queue has
# one consumer (its lease) and delivers in publish order, so what is waited for is already in
# this process or right behind: held here it goes within moments. A wait round would put the
# message behind everything delivered since, and each of its successors a round behind it.
IN_FLOW_WAITS = frozenset(
    {
        "previous_order_not_sent",
        "original_not_in_odoo",
        "till_session_not_known",
        "previous_session_not_closed",
        "session_orders_not_in_odoo",
    }
)
_FIRST_FLOW_PAUSE_S = 0.05
_LAST_FLOW_PAUSE_S = 1.0


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
    order by our reference instead of creating it twice (see order_push.OrderPush._send).

    Through an Odoo outage the message is held here, not sent round the wait queue: the queue
    keeps the registers' order behind it, and when the breaker closes every held message goes
    at once, in order, in full batches (wait rounds would bring them back shuffled, each order
    then waiting a round for its predecessor). So is a message waiting for what comes earlier
    in its register's flow (IN_FLOW_WAITS), for a while."""

    def __init__(
        self,
        *,
        preparers: Mapping[str, Prepare],
        lanes: RegisterLanes,
        odoo_back: OdooBack,
        outage_hold_s: float,
        flow_hold_s: float,
        **kwargs: Any,
    ) -> None:
        # The base dispatches on the handler map's keys; the work is done by the preparers.
        super().__init__(handlers=dict.fromkeys(preparers, _unused), **kwargs)
        self._preparers = dict(preparers)
        self._lanes = lanes
        self._odoo_back = odoo_back
        self._outage_hold_s = outage_hold_s
        self._flow_hold_s = flow_hold_s

    async def _handle(self, envelope: EventEnvelope, data: Any, handler: Handler) -> None:
        # Every event this consumer takes is a register's (see ODOO_EVENTS, REGISTER_EVENTS).
        apply = await self._prepare_through_outages(envelope, data)
        if apply is None:
            return
        async with self._pool.acquire() as conn, conn.transaction():
            if not await self.claim_in_inbox(conn, envelope):
                return
            await apply(conn)
        self._lanes.settled(data.register_id)
        EVENTS_CONSUMED.labels(self.queue.name, envelope.type).inc()

    async def _prepare_through_outages(self, envelope: EventEnvelope, data: Any) -> Apply | None:
        loop = asyncio.get_running_loop()
        outage_until: float | None = None
        flow_until: float | None = None
        pause_s = _FIRST_FLOW_PAUSE_S
        while True:
            try:
                # Taken before the first await: the lane keeps the delivery order. Held messages
                # take new places as they wake, in the order they began to wait; the lane sorts
                # a register's orders by sale number.
                with self._lanes.ticket(data.register_id) as ticket:
                    return await self._prepare(envelope, data, ticket)
            except OdooOutage as outage:
                now = loop.time()
                outage_until = outage_until or now + self._outage_hold_s
                if now >= outage_until:
                    raise
                with self.holding_message():
                    await self._odoo_back(outage.endpoint, outage_until - now)
            except WaitForPrerequisite as waiting:
                if waiting.reason not in IN_FLOW_WAITS:
                    raise
                now = loop.time()
                flow_until = flow_until or now + self._flow_hold_s
                if now >= flow_until:
                    raise
                with self.holding_message():
                    # Woken by the register's next piece of work done here; the pause is for
                    # what is done elsewhere (another replica, a till session's close in Odoo).
                    await self._lanes.progress(data.register_id, min(pause_s, flow_until - now))
                pause_s = min(2 * pause_s, _LAST_FLOW_PAUSE_S)

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
