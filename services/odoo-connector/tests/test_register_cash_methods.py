"""A register whose pos.config the connector created takes cash: its cash payments go to its own
cash method (Odoo refuses the template's there), made once even when an answer is lost; a
register adopted from an existing pos.config keeps the tenant's cash method."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from odoo_connector.domain import PaymentMethodMap, cash_journal_code
from odoo_emulator.testing import RunningEmulator, running_emulator
from shared.events.contracts import PaymentState
from test_support.event_tap import EventTap
from test_support.odoo_connector import ConnectorWorld, ProTenant

from .test_registers_reach_odoo import JOURNALS, _configs, _synced

TEMPLATE_CASH, CARD, OWN_CASH = 1, 2, 7


def _payment(method: str, kind: str, odoo_id: int | None = None) -> PaymentState:
    return PaymentState(
        payment_id=uuid.uuid4(),
        method=method,
        kind=kind,  # type: ignore[arg-type]
        odoo_payment_method_id=odoo_id,
        amount=680,
    )


async def _paid_with(emu: RunningEmulator, odoo_order_id: int) -> tuple[str, list[int]]:
    [order] = await emu.control.records("demo", "pos.order", [["id", "=", odoo_order_id]])
    payments = await emu.control.records(
        "demo", "pos.payment", [["pos_order_id", "=", odoo_order_id]]
    )
    return order["state"], [p["payment_method_id"] for p in payments]


async def _own_cash_method(emu: RunningEmulator, tenant: ProTenant) -> dict[str, Any]:
    seed = tenant.seed
    shared = [seed["cash_payment_method_id"], seed["card_payment_method_id"]]
    [method] = await emu.control.records("demo", "pos.payment.method", [["id", "not in", shared]])
    return method


@pytest.mark.parametrize("version", [16, 17, 18])
async def test_a_cash_sale_and_refund_at_a_created_register_land_paid_with_its_own_cash_method(
    world: ConnectorWorld, tap: EventTap, version: int
) -> None:
    async with running_emulator(version=version) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True, name="Terrace")
        await _synced(tap, register_id)
        # The tablet's usual cash payment, whose code the tenant maps to the template's method.
        at_adopted = world.order(tenant, payments=[_payment("cash", "cash")])
        session_id = uuid.uuid4()
        await world.open_session(tenant, session_id=session_id, register_id=register_id)
        at_created = world.order(
            tenant,
            register_id=register_id,
            session_id=session_id,
            receipt_number="T2-000001",
            receipt_sequence=1,
            payments=[_payment("cash", "cash")],
        )
        for order in (at_adopted, at_created):
            await world.place(tenant, order)
        refund = world.refund(tenant, at_created).model_copy(
            update={"payments": [_payment("cash", "cash").model_copy(update={"amount": 180})]}
        )
        await world.publish(refund, tenant.tenant_id, at_created.order_id, version=2)
        adopted_paid = await _paid_with(emu, await world.synced_odoo_id(at_adopted.order_id))
        created_paid = await _paid_with(emu, await world.synced_odoo_id(at_created.order_id))
        refund_paid = await _paid_with(emu, await world.synced_odoo_id(refund.refund_id))
        own = await _own_cash_method(emu, tenant)
    assert adopted_paid == ("paid", [tenant.seed["cash_payment_method_id"]])
    assert created_paid == ("paid", [own["id"]])
    assert refund_paid == ("paid", [own["id"]])


@pytest.mark.parametrize("model", ["account.journal", "pos.payment.method"])
async def test_an_answer_lost_after_a_cash_record_is_made_leaves_one_journal_and_one_method(
    world: ConnectorWorld, tap: EventTap, model: str
) -> None:
    async with running_emulator(version=17) as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        await emu.control.fail(
            "connection_reset", count=1, model=model, method="create", after_commit=True
        )
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True, name="Terrace")
        await _synced(tap, register_id)
        [config] = await _configs(emu, tenant)
        journals = await emu.control.records(
            "demo", "account.journal", [["id", "not in", [seed[k] for k in JOURNALS]]]
        )
        own = await _own_cash_method(emu, tenant)
        creates = await emu.control.calls(model=model, method="create")
        xmlids = await emu.control.records("demo", "ir.model.data", [["model", "=", model]])
    [journal] = journals
    assert len(creates) == 1, "the record found after the lost answer is not made again"
    assert own["journal_id"] == journal["id"]
    assert config["payment_method_ids"] == [seed["card_payment_method_id"], own["id"]]
    assert [x["res_id"] for x in xmlids if x["module"] == "pos_platform"] == [
        journal["id"] if model == "account.journal" else own["id"]
    ]


async def test_a_cash_journal_code_another_register_reserved_is_not_taken_again(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=18) as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        # Another register of the tenant, its journal's create on its way from another replica.
        await world.pool.execute(
            f"INSERT INTO {world.schema}.register_cash_methods "
            "(register_id, tenant_id, journal_code) VALUES ($1, $2, 'CSH2')",
            uuid.uuid4(),
            tenant.tenant_id,
        )
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True, name="Terrace")
        await _synced(tap, register_id)
        journals = await emu.control.records(
            "demo", "account.journal", [["id", "not in", [seed[k] for k in JOURNALS]]]
        )
    assert [(j["name"], j["code"]) for j in journals] == [("Cash Terrace", "CSH3")]


def test_a_cash_journal_code_is_odoos_next_cash_code_then_a_wider_one() -> None:
    assert cash_journal_code({"CSH1", "BNK1", "POSS"}) == "CSH2"
    assert cash_journal_code({"csh1"}) == "CSH2"
    assert cash_journal_code({f"CSH{n}" for n in range(1, 100)}) == "C0100"


def test_a_cash_payment_at_a_created_register_goes_to_its_own_cash_method() -> None:
    created = PaymentMethodMap(
        {"cash": TEMPLATE_CASH, "card": CARD}, OWN_CASH, frozenset({CARD, OWN_CASH})
    )
    adopted = PaymentMethodMap({"cash": TEMPLATE_CASH, "card": CARD})
    # By code, or naming the template's method (not allowed there): the register's own.
    assert created.method_of(_payment("cash", "cash")) == OWN_CASH
    assert created.method_of(_payment("cash", "cash", TEMPLATE_CASH)) == OWN_CASH
    assert created.method_of(_payment("till", "cash")) == OWN_CASH
    # An explicit method the register's pos.config has is kept; non-cash maps as elsewhere.
    assert created.method_of(_payment("cash", "cash", CARD)) == CARD
    assert created.method_of(_payment("card", "card")) == CARD
    assert created.method_of(_payment("card", "card", 9)) == 9
    assert adopted.method_of(_payment("cash", "cash")) == TEMPLATE_CASH
    assert adopted.method_of(_payment("cash", "cash", 9)) == 9
    # An unmapped code is a problem only where no own cash method stands in for it.
    assert created.unmapped([_payment("till", "cash"), _payment("voucher", "other")]) == ["voucher"]
    assert adopted.unmapped([_payment("till", "cash")]) == ["till"]
