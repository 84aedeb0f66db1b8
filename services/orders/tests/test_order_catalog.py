"""Orders that name the tenant's catalog: only what the register may sell, for a known customer,
with their Odoo ids carried to the order's event."""

from __future__ import annotations

import uuid
from typing import Any

from shared.events.contracts import CustomerCreated, ProductCreated, ProductUpdated
from test_support.orders import OrdersWorld, Register, problem
from test_support.polling import eventually


async def _replicated(
    world: OrdersWorld, table: str, key: str, row_id: uuid.UUID, version: int
) -> None:
    async def there() -> bool:
        return bool(
            await world.pool.fetchval(
                f"SELECT true FROM {world.schema}.{table} WHERE {key} = $1 AND version = $2",
                row_id,
                version,
            )
        )

    await eventually(there, what=f"{table} replica at version {version}")


async def _product(
    world: OrdersWorld, register: Register, version: int = 1, **fields: Any
) -> uuid.UUID:
    product_id = fields.pop("product_id", uuid.uuid4())
    contract = ProductCreated if version == 1 else ProductUpdated
    data = contract(
        product_id=product_id,
        reference=fields.pop("reference", "FW"),
        name="Flat white",
        prices={"EUR": 350},
        tax_rate_percent="10",
        prices_include_tax=True,
        catalog_revision=version,
        **fields,
    )
    await world.publish(data, register.tenant_id, product_id, version)
    await _replicated(world, "catalog_products", "product_id", product_id, version)
    return product_id


def _naming(world: OrdersWorld, register: Register, product_id: uuid.UUID, **order: Any) -> Any:
    body = world.order_body(register, **order)
    body["lines"][0]["product_id"] = str(product_id)
    return body


async def test_order_naming_a_catalog_product_takes_its_odoo_id(world: OrdersWorld) -> None:
    register = await world.create_register()
    product_id = await _product(world, register, odoo_product_id=41)

    response = await world.client.post(
        "/v1/orders", json=_naming(world, register, product_id), headers=world.device(register)
    )

    assert response.status_code == 201, response.text
    line = response.json()["lines"][0]
    assert (line["product_id"], line["odoo_product_id"]) == (str(product_id), 41)
    envelope = await world.pool.fetchval(
        f"SELECT envelope FROM {world.schema}.outbox WHERE aggregate_id = $1",
        uuid.UUID(response.json()["id"]),
    )
    assert envelope["data"]["lines"][0]["product_id"] == str(product_id)
    assert envelope["data"]["lines"][0]["odoo_product_id"] == 41


async def test_order_naming_an_archived_product_is_refused_with_the_line_named(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    product_id = await _product(world, register)
    await _product(world, register, version=2, product_id=product_id, active=False)

    refused = await world.client.post(
        "/v1/orders", json=_naming(world, register, product_id), headers=world.device(register)
    )

    assert refused.status_code == 422
    body = problem(refused)
    assert "Line 1 names product FW (Flat white), which is archived" in body["detail"]
    assert body["errors"][0]["field"] == "lines[0].product_id"
    assert await world.count("orders", register.tenant_id) == 0


async def test_order_naming_a_product_not_sold_at_its_register_is_refused(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    elsewhere = await _product(world, register, shop_ids=(uuid.uuid4(),))

    refused = await world.client.post(
        "/v1/orders", json=_naming(world, register, elsewhere), headers=world.device(register)
    )

    assert refused.status_code == 422
    assert f"not sold at register {register.register_id}" in problem(refused)["detail"]


async def test_order_naming_another_tenants_product_is_refused_as_unknown(
    world: OrdersWorld,
) -> None:
    ours = await world.create_register()
    theirs = await world.create_register()
    their_product = await _product(world, theirs)

    refused = await world.client.post(
        "/v1/orders", json=_naming(world, ours, their_product), headers=world.device(ours)
    )

    assert refused.status_code == 422
    assert "catalog does not have" in problem(refused)["detail"]


async def test_order_for_a_customer_carries_the_customers_odoo_partner(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    customer_id = uuid.uuid4()
    created = CustomerCreated(customer_id=customer_id, name="Anna", odoo_partner_id=77)
    await world.publish(created, register.tenant_id, customer_id)
    await _replicated(world, "customers", "customer_id", customer_id, 1)

    placed = await world.client.post(
        "/v1/orders",
        json=world.order_body(register, customer_id=str(customer_id)),
        headers=world.device(register),
    )

    assert placed.status_code == 201, placed.text
    assert placed.json()["customer_id"] == str(customer_id)
    envelope = await world.pool.fetchval(
        f"SELECT envelope FROM {world.schema}.outbox WHERE aggregate_id = $1",
        uuid.UUID(placed.json()["id"]),
    )
    assert (envelope["data"]["customer_id"], envelope["data"]["odoo_partner_id"]) == (
        str(customer_id),
        77,
    )


async def test_order_for_an_unknown_customer_is_refused(world: OrdersWorld) -> None:
    register = await world.create_register()

    refused = await world.client.post(
        "/v1/orders",
        json=world.order_body(register, customer_id=str(uuid.uuid4())),
        headers=world.device(register),
    )

    assert refused.status_code == 422
    assert problem(refused)["errors"][0]["field"] == "customer_id"


async def test_replay_of_an_order_whose_product_was_archived_since_is_answered(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    product_id = await _product(world, register)
    body = _naming(world, register, product_id)
    first = await world.client.post("/v1/orders", json=body, headers=world.device(register))
    await _product(world, register, version=2, product_id=product_id, active=False)

    replay = await world.client.post("/v1/orders", json=body, headers=world.device(register))

    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["receipt_number"] == first.json()["receipt_number"]


async def test_batch_refuses_only_the_order_naming_an_archived_product(
    world: OrdersWorld,
) -> None:
    register = await world.create_register()
    product_id = await _product(world, register)
    await _product(world, register, version=2, product_id=product_id, active=False)
    fine = world.order_body(register)
    archived = _naming(world, register, product_id)

    answer = await world.client.post(
        "/v1/orders/batch", json={"orders": [fine, archived]}, headers=world.device(register)
    )

    assert answer.status_code == 200, answer.text
    outcomes = [r["outcome"] for r in answer.json()["results"]]
    assert outcomes == ["created", "refused"]
    assert answer.json()["results"][1]["problem"]["errors"][0]["field"] == "lines[0].product_id"
