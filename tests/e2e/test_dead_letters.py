"""Dead letters an on-call engineer can act on, across the services (issue 16, "Done when"):
grouped by cause, replayed into Odoo once, discarded with a reason, every dead letter with a
record and a reason, the aggregate failed in its own service, the `.dlq`s agreeing with the tool."""

from __future__ import annotations

import uuid
from typing import Any

import aio_pika
import httpx

from odoo_emulator.testing import RunningEmulator
from reporting.bootstrap import queues as reporting_queues
from shared.events.envelope import EventEnvelope
from test_support.dead_letters import dlq_agrees_with_records
from test_support.odoo_connector import ConnectorWorld, add_odoo_product, orders_queue
from test_support.orders import Register
from test_support.polling import eventually

from .conftest import System, as_order_register, post_order_until_accepted, pro_tenant_with_odoo

UNMAPPED = "POS-TEA"


async def _pro_till(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> tuple[Any, Register, dict[str, Any], dict[str, str]]:
    tenant, shop, seed = await pro_tenant_with_odoo(system, connector, odoo)
    created = await system.registers.register(
        tenant, shop, name="Bar", odoo_pos_config_id=seed["pos_config_id"]
    )
    register = as_order_register(tenant, created)
    device = await system.registers.token_for(
        tenant.admin, role="cashier", subject="tablet", register_id=created["id"]
    )
    return tenant, register, seed, device


async def _sell(
    system: System, register: Register, device: dict[str, str], seed: dict[str, Any], tea: bool
) -> dict[str, Any]:
    """A flat white Odoo knows by id, and a croissant or (tea) a tea Odoo has no product for."""
    body = system.orders.order_body(register)
    body["lines"][0]["odoo_product_id"] = seed["pos_product_ids"][0]
    if tea:
        body["lines"][1].update(product_ref=UNMAPPED, product_name="Tea")
    else:
        body["lines"][1]["odoo_product_id"] = seed["pos_product_ids"][2]
    response = await post_order_until_accepted(system, register, device, body)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def _order_in_state(
    system: System, order_id: str, device: dict[str, str], state: str
) -> dict[str, Any]:
    async def stamped() -> dict[str, Any] | None:
        response = await system.orders.client.get(f"/v1/orders/{order_id}", headers=device)
        order: dict[str, Any] = response.json()
        return order if order["sync_state"] == state else None

    return await eventually(stamped, within_s=20, what=f"order {order_id} {state}")


async def _agree(connector: ConnectorWorld, expected_open: int) -> None:
    await dlq_agrees_with_records(
        connector.settings.amqp_url,
        connector.pool,
        connector.schema,
        orders_queue(connector.settings).name,
        expected_open,
    )


async def _publish(amqp_url: str, exchange: str, body: bytes, routing_key: str) -> None:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        target = await channel.get_exchange(exchange)
        await target.publish(aio_pika.Message(body), routing_key=routing_key)
    finally:
        await connection.close()


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


async def test_twelve_orders_failed_on_a_missing_product_mapping_replay_as_one_group_into_odoo_once(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    tenant, register, seed, device = await _pro_till(system, connector, odoo)
    await _order_in_state(
        system, (await _sell(system, register, device, seed, tea=False))["id"], device, "synced"
    )
    orders = [await _sell(system, register, device, seed, tea=True) for _ in range(12)]

    for order in orders:
        failed = await _order_in_state(system, order["id"], device, "failed")
        assert failed["sync_error"].startswith("MissingProductMappingError: no Odoo product")
        assert f"'{UNMAPPED}'" in failed["sync_error"]
    await _agree(connector, 12)
    [group] = _ok(await connector.client.get("/v1/dead-letters/groups", headers=tenant.admin))[
        "items"
    ]
    assert (group["count"], group["error_class"]) == (12, "MissingProductMappingError")
    assert group["event_types"] == ["order.placed"]

    await add_odoo_product(odoo.url, seed, UNMAPPED)
    replay = _ok(
        await connector.client.post(
            "/v1/dead-letters/replay",
            json={"group": group["group"], "reason": "POS-TEA is in Odoo now"},
            headers=tenant.admin,
        )
    )

    assert (replay["selected"], replay["done"], replay["not_in_queue"]) == (12, 12, [])
    synced = [await _order_in_state(system, o["id"], device, "synced") for o in orders]
    in_odoo = await odoo.control.records("demo", "pos.order")
    references = sorted(o["pos_reference"] for o in in_odoo)
    assert len(in_odoo) == 13
    assert len(set(references)) == 13, "each order once"
    assert {s["odoo_order_id"] for s in synced} <= {o["id"] for o in in_odoo}
    await _agree(connector, 0)
    shown = _ok(
        await connector.client.get(
            f"/v1/dead-letters/{replay['items'][0]['id']}", headers=system.registers.platform
        )
    )
    [action] = shown["actions"]
    assert (action["action"], action["actor"], action["via"]) == ("replay", "owner@test", "api")
    assert (action["selected"], action["done"]) == (12, 12)
    assert action["selection"] == {"group": group["group"]}
    assert action["reason"] == "POS-TEA is in Odoo now"
    assert shown["status"] == "replayed"
    assert shown["closed_by"] == "owner@test"


async def test_an_unknown_version_event_gets_a_record_and_its_order_shows_failed_with_the_reason(
    system: System, connector: ConnectorWorld, odoo: RunningEmulator
) -> None:
    tenant, register, seed, device = await _pro_till(system, connector, odoo)
    await odoo.control.go_down()
    # The order's own event waits for Odoo; meanwhile a producer a version ahead sends it again.
    order = await _sell(system, register, device, seed, tea=False)
    newer = EventEnvelope(
        id=uuid.uuid4(),
        type="order.placed",
        version=99,
        occurred_at=order["created_at"],
        tenant_id=tenant.id,
        aggregate_id=uuid.UUID(order["id"]),
        aggregate_version=1,
        producer="orders",
        data={"order_id": order["id"], "lines_v99": []},
    )
    await _publish(
        connector.settings.amqp_url,
        connector.settings.exchange_name,
        newer.model_dump_json().encode(),
        "order.placed",
    )

    failed = await _order_in_state(system, order["id"], device, "failed")
    assert failed["sync_error"] == "PoisonMessageError: no contract for order.placed version 99"
    await _agree(connector, 1)
    [record] = _ok(
        await connector.client.get(
            "/v1/dead-letters", params={"event_type": "order.placed"}, headers=tenant.admin
        )
    )["items"]
    assert (record["error_class"], record["reason"]) == (
        "PoisonMessageError",
        "no contract for order.placed version 99",
    )
    assert (record["event_version"], record["aggregate_type"], record["aggregate_id"]) == (
        99,
        "order",
        order["id"],
    )

    await odoo.control.come_up()
    await _order_in_state(system, order["id"], device, "synced")

    # The newer copy is of no use here: a discard needs a reason, removes it and is audited.
    refused = await connector.client.post(
        "/v1/dead-letters/discard", json={"ids": [record["id"]]}, headers=tenant.admin
    )
    assert refused.status_code == 422
    assert refused.json()["errors"] == [{"field": "reason", "message": "is required"}]
    await _agree(connector, 1)
    discarded = _ok(
        await connector.client.post(
            "/v1/dead-letters/discard",
            json={"ids": [record["id"]], "reason": "v99 copy of an order already in Odoo"},
            headers=tenant.admin,
        )
    )
    assert discarded["done"] == 1
    await _agree(connector, 0)
    shown = _ok(
        await connector.client.get(f"/v1/dead-letters/{record['id']}", headers=tenant.admin)
    )
    assert shown["status"] == "discarded"
    assert [(a["action"], a["actor"], a["reason"]) for a in shown["actions"]] == [
        ("discard", "owner@test", "v99 copy of an order already in Odoo")
    ]


async def test_an_undecodable_message_gets_a_record_with_its_reason_in_every_queue_it_reached(
    system: System, connector: ConnectorWorld
) -> None:
    await _publish(
        connector.settings.amqp_url,
        connector.settings.exchange_name,
        b"\xff\xfe not an event",
        "order.placed",
    )

    await _agree(connector, 1)
    reporting_queue = next(
        q.name
        for q in reporting_queues(system.reporting.settings)
        if "order.placed" in q.routing_keys
    )
    await dlq_agrees_with_records(
        connector.settings.amqp_url,
        system.reporting.pool,
        system.reporting.settings.schema_name,
        reporting_queue,
        1,
    )
    for client in (connector.client, system.reporting.client):
        [record] = _ok(await client.get("/v1/dead-letters", headers=system.registers.platform))[
            "items"
        ]
        assert record["error_class"] == "PoisonMessageError"
        assert record["reason"].startswith("undecodable envelope: 1 validation error")
        assert record["tenant_id"] is None
        body = _ok(
            await client.get(f"/v1/dead-letters/{record['id']}", headers=system.registers.platform)
        )["body_base64"]
        assert body == "//4gbm90IGFuIGV2ZW50"
    # No tenant's admin sees a dead letter that names no tenant.
    tenant = await system.registers.tenant("starter")
    mine = _ok(await connector.client.get("/v1/dead-letters", headers=tenant.admin))
    assert mine["items"] == []
