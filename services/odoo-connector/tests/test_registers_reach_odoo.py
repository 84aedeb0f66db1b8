"""A new Pro register becomes a pos.config cloned from the tenant's template, once; renames and
deactivations reach it as writes; failures are retried on the register schedule, then reported."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage

from odoo_connector.bootstrap import registers_queue
from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import RunningEmulator, running_emulator
from shared.events.envelope import EventEnvelope
from test_support.event_tap import EventTap
from test_support.odoo_connector import ConnectorWorld, ProTenant, running_connector
from test_support.polling import eventually

# The demo database's journals, by seed key.
JOURNALS = ("pos_journal_id", "cash_journal_id", "bank_journal_id", "invoice_journal_id")

# What the template's clone must carry over (the demo "Shop"), by field and seed key.
CLONED = {
    "company_id": "company_id",
    "journal_id": "pos_journal_id",
    "invoice_journal_id": "invoice_journal_id",
    "picking_type_id": "picking_type_id",
    "warehouse_id": "warehouse_id",
    "pricelist_id": "pricelist_id",
}


async def _synced(tap: EventTap, register_id: uuid.UUID, count: int = 1) -> dict[str, Any]:
    """The `count`-th register.odoo_synced of the register."""

    async def arrived() -> list[dict[str, Any]] | None:
        found = [
            e["data"]
            for e in tap.of_type("register.odoo_synced")
            if e["data"]["register_id"] == str(register_id)
        ]
        return found if len(found) >= count else None

    return (await eventually(arrived, what=f"register.odoo_synced #{count}"))[count - 1]


async def _configs(emu: RunningEmulator, tenant: ProTenant) -> list[dict[str, Any]]:
    """The tenant's pos.configs other than the template, archived too."""
    configs = await emu.control.records(tenant.database, "pos.config")
    return [c for c in configs if c["id"] != tenant.pos_config_id]


async def _dead_letters(world: ConnectorWorld) -> list[AbstractIncomingMessage]:
    return await world.dead_letters(registers_queue(world.settings))


async def _one_dead_letter(world: ConnectorWorld) -> AbstractIncomingMessage:
    return await world.one_dead_letter(registers_queue(world.settings))


async def _handled_by_registers_queue(world: ConnectorWorld, envelope: EventEnvelope) -> None:
    async def handled() -> bool:
        return bool(
            await world.pool.fetchval(
                f"SELECT true FROM {world.schema}.inbox "
                "WHERE consumer = 'connector.registers' AND event_id = $1",
                envelope.id,
            )
        )

    await eventually(handled, what=f"{envelope.type} v{envelope.aggregate_version} handled")


async def _sync_failed(tap: EventTap) -> dict[str, Any]:
    await tap.wait_for(1, "register.odoo_sync_failed")
    [failed] = tap.of_type("register.odoo_sync_failed")
    data: dict[str, Any] = failed["data"]
    return data


@pytest.mark.parametrize("version", [16, 17, 18])
async def test_a_new_register_is_a_clone_of_the_template_under_its_own_name_with_its_own_cash(
    world: ConnectorWorld, tap: EventTap, version: int
) -> None:
    async with running_emulator(version=version) as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True, name="Terrace")
        synced = await _synced(tap, register_id)
        [config] = await _configs(emu, tenant)
        [template] = await emu.control.records(
            "demo", "pos.config", [["id", "=", seed["pos_config_id"]]]
        )
        [create] = await emu.control.calls(model="pos.config", method="create")
        xmlids = await emu.control.records(
            "demo", "ir.model.data", [["module", "=", "pos_platform"]]
        )
        methods = await emu.control.records(
            "demo",
            "pos.payment.method",
            [["id", "not in", [seed["cash_payment_method_id"], seed["card_payment_method_id"]]]],
        )
        journals = await emu.control.records(
            "demo", "account.journal", [["id", "not in", [seed[k] for k in JOURNALS]]]
        )
        fields = await emu.control.calls(model="pos.config", method="fields_get")
    assert synced == {
        "register_id": str(register_id),
        "operation": "create",
        "odoo_pos_config_id": config["id"],
        "pushed_name": "Terrace",
        "pushed_active": True,
        "register_version": 1,
    }
    assert config["name"] == "Terrace"
    assert config["active"] is True
    assert {field: config[field] for field in CLONED} == {
        field: seed[key] for field, key in CLONED.items()
    }
    assert config["available_pricelist_ids"] == [seed["pricelist_id"]]
    # The template's cash method stays its own (one register per cash method); card is shared,
    # and the register has a cash method of its own, on a cash journal of its own.
    [cash] = methods
    [journal] = journals
    assert config["payment_method_ids"] == [seed["card_payment_method_id"], cash["id"]]
    assert template["payment_method_ids"] == [
        seed["cash_payment_method_id"],
        seed["card_payment_method_id"],
    ]
    assert (cash["name"], cash["journal_id"], cash["company_id"], cash["is_cash_count"]) == (
        "Cash (Terrace)",
        journal["id"],
        seed["company_id"],
        True,
    )
    assert (journal["name"], journal["code"], journal["type"], journal["company_id"]) == (
        "Cash Terrace",
        "CSH2",
        "cash",
        seed["company_id"],
    )
    assert {(x["model"], x["name"], x["res_id"]) for x in xmlids} == {
        ("pos.config", f"pos_config_{register_id.hex}", config["id"]),
        ("account.journal", f"cash_journal_{register_id.hex}", journal["id"]),
        ("pos.payment.method", f"cash_method_{register_id.hex}", cash["id"]),
    }
    # Only fields this Odoo has and lets a create set: no stock_location_id in any version.
    described = fields[0]["result"]
    sent = create["args"][0]
    assert "stock_location_id" not in sent
    assert set(sent) <= set(described)
    assert not [f for f in sent if described[f]["readonly"] or not described[f]["store"]]


async def test_a_pending_create_of_a_register_already_in_odoo_renames_it_and_creates_nothing(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True, name="Terrace")
        first = await _synced(tap, register_id)
        # Renamed while the create was in flight: the registers service asks for a create again.
        await world.publish_register(tenant, register_id, 2, name="Garden")
        second = await _synced(tap, register_id, count=2)
        configs = await _configs(emu, tenant)
        creates = await emu.control.calls(model="pos.config", method="create")
        writes = await emu.control.calls(model="pos.config", method="write")
    assert [c["name"] for c in configs] == ["Garden"]
    assert len(creates) == 1
    assert [w["args"] for w in writes] == [[[first["odoo_pos_config_id"]], {"name": "Garden"}]]
    assert (second["operation"], second["pushed_name"], second["register_version"]) == (
        "create",
        "Garden",
        2,
    )
    assert second["odoo_pos_config_id"] == first["odoo_pos_config_id"]


async def test_a_register_linked_to_an_existing_pos_config_right_after_its_creation_is_not_cloned(
    settings: ConnectorSettings, tap: EventTap
) -> None:
    settling = settings.model_copy(update={"register_create_settle_ms": 1000})
    async with running_emulator(version=17) as emu, running_connector(settling) as world:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        register_id = uuid.uuid4()
        created = await world.publish_register(tenant, register_id, 1, created=True)
        # The admin's second click: long enough for a create to land, were it not held back.
        await asyncio.sleep(0.3)
        linked = await world.publish_register(
            tenant,
            register_id,
            2,
            sync_state="synced",
            odoo_pos_config_id=tenant.pos_config_id,
        )
        for envelope in (created, linked):
            await _handled_by_registers_queue(world, envelope)
        calls = await emu.control.calls(model="pos.config")
    assert [c for c in calls if c["model_method"] in ("create", "write")] == []
    assert tap.of_type("register.odoo_synced") == []


async def test_deactivating_a_register_archives_its_pos_config_and_reactivating_restores_it(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=18) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True, name="Terrace")
        config_id = (await _synced(tap, register_id))["odoo_pos_config_id"]
        await world.publish_register(
            tenant,
            register_id,
            2,
            name="Terrace",
            active=False,
            sync_state="pending_update",
            odoo_pos_config_id=config_id,
        )
        archived = await _synced(tap, register_id, count=2)
        [config] = await _configs(emu, tenant)
        assert config["active"] is False
        await world.publish_register(
            tenant,
            register_id,
            3,
            name="Terrace",
            sync_state="pending_update",
            odoo_pos_config_id=config_id,
        )
        await _synced(tap, register_id, count=3)
        [config] = await _configs(emu, tenant)
        writes = await emu.control.calls(model="pos.config", method="write")
    assert config["active"] is True
    assert (archived["operation"], archived["pushed_active"]) == ("update", False)
    assert [w["args"][1] for w in writes] == [{"active": False}, {"active": True}]


async def test_an_answer_lost_after_odoo_created_the_pos_config_leaves_exactly_one(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.fail(
            "connection_reset", count=1, model="pos.config", method="create", after_commit=True
        )
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True, name="Terrace")
        synced = await _synced(tap, register_id)
        configs = await _configs(emu, tenant)
        creates = await emu.control.calls(model="pos.config", method="create")
        mapped = await world.pool.fetchval(
            f"SELECT odoo_pos_config_id FROM {world.schema}.registers WHERE register_id = $1",
            register_id,
        )
    assert [c["name"] for c in configs] == ["Terrace"]
    assert len(creates) == 1, "the pos.config found after the lost answer is not made again"
    assert synced["odoo_pos_config_id"] == configs[0]["id"] == mapped


async def test_a_transient_failure_is_retried_on_the_register_schedule(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=16) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.fail(
            "serialization_failure", count=3, model="pos.config", method="create"
        )
        register_id = uuid.uuid4()
        started = time.monotonic()
        await world.publish_register(tenant, register_id, 1, created=True)
        await _synced(tap, register_id)
        elapsed_ms = (time.monotonic() - started) * 1000
        creates = await emu.control.calls(model="pos.config", method="create")
        configs = await _configs(emu, tenant)
    assert len(creates) == 4
    assert len(configs) == 1
    assert elapsed_ms >= sum(world.settings.register_retry_delays_ms[:3])
    assert await _dead_letters(world) == []


async def test_a_register_failing_every_retry_is_dead_lettered_and_reported_failed(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.fail(
            "serialization_failure", count=1000, model="pos.config", method="create"
        )
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 4, created=True)
        message = await _one_dead_letter(world)
        failed = await _sync_failed(tap)
        creates = await emu.control.calls(model="pos.config", method="create")
    assert len(creates) == 6, "the first try and five retries"
    assert message.headers["x-attempts"] == 6
    assert message.headers["x-original-routing-key"] == "register.created"
    assert failed["register_id"] == str(register_id)
    assert (failed["operation"], failed["attempts"], failed["register_version"]) == (
        "create",
        6,
        4,
    )
    assert failed["error_class"] == "OdooConcurrencyFailure"
    assert "could not serialize access" in failed["message"]
    row = await world.pool.fetchrow(
        f"SELECT * FROM {world.schema}.dead_letter_records WHERE aggregate_id = $1", register_id
    )
    assert (row["error_class"], row["attempts"]) == ("OdooConcurrencyFailure", 6)


async def test_a_validation_error_dead_letters_the_register_at_once(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=18) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.fail(
            "odoo_error",
            count=1,
            model="pos.config",
            method="create",
            error_name="odoo.exceptions.ValidationError",
            error_message="The default pricelist must be included in the available pricelists.",
        )
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True)
        message = await _one_dead_letter(world)
        failed = await _sync_failed(tap)
        creates = await emu.control.calls(model="pos.config", method="create")
    assert len(creates) == 1
    assert message.headers["x-attempts"] == 1
    assert (failed["error_class"], failed["attempts"]) == ("OdooValidationError", 1)
    assert "default pricelist" in failed["message"]


async def test_an_odoo_outage_holds_a_register_create_without_spending_its_retries(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        emu.go_down()
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True)
        queue = registers_queue(world.settings)
        # Longer than the whole retry schedule, held in the process: no retry spent, no wait
        # round taken.
        await asyncio.sleep(1.5 * sum(world.settings.register_retry_delays_ms) / 1000)
        assert await world.waiting_rounds("odoo_unavailable", queue) == 0
        assert await _dead_letters(world) == []
        emu.come_up()
        await _synced(tap, register_id)
        assert len(await _configs(emu, tenant)) == 1
    assert tap.of_type("register.odoo_sync_failed") == []


async def test_the_template_the_settings_name_is_the_one_cloned_and_a_missing_one_is_reported(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        bot = next(u for u in seed["users"] if u["login"] == "pos-bot")
        stored = await world.client.put(
            f"/v1/tenants/{tenant.tenant_id}/odoo",
            json={
                "url": emu.url,
                "database": "demo",
                "login": "pos-bot",
                "secret": bot["api_key"],
                "template_pos_config_id": 999,
            },
            headers=world.token(tenant.tenant_id),
        )
        assert stored.json()["template_pos_config_id"] == 999
        await world.publish_register(tenant, uuid.uuid4(), 1, created=True)
        message = await _one_dead_letter(world)
        failed = await _sync_failed(tap)
        assert await emu.control.calls(model="pos.config", method="create") == []
    assert message.headers["x-attempts"] == 1
    assert failed["error_class"] == "TemplatePosConfigMissingError"
    assert "no pos.config 999" in failed["message"]


async def test_an_order_of_a_register_being_created_waits_then_lands_in_its_new_pos_config(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        register_id = uuid.uuid4()
        # Slow Odoo: the order arrives while its register's pos.config is being made.
        await emu.control.set_latency(100)
        await world.publish_register(tenant, register_id, 1, created=True, name="Terrace")
        order = world.order(
            tenant, register_id=register_id, receipt_number="T2-000001", receipt_sequence=1
        )
        await world.place(tenant, order)
        odoo_order_id = await world.synced_odoo_id(order.order_id, within_s=20)
        config_id = (await _synced(tap, register_id))["odoo_pos_config_id"]
        [in_odoo] = await emu.control.records("demo", "pos.order", [["id", "=", odoo_order_id]])
        [session] = await emu.control.records(
            "demo", "pos.session", [["id", "=", in_odoo["session_id"]]]
        )
        waited = await world.waiting_rounds("register_not_in_odoo")
    assert session["config_id"] == config_id
    assert waited >= 1


async def test_registers_that_are_not_pending_or_of_a_starter_tenant_change_nothing_in_odoo(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        starter = ProTenant(
            tenant_id=await world.starter_tenant(),
            database="demo",
            register_id=uuid.uuid4(),
            shop_id=uuid.uuid4(),
            pos_config_id=0,
            seed={},
        )
        events = [
            await world.publish_register(tenant, uuid.uuid4(), 1, sync_state="sync_error"),
            await world.publish_register(tenant, uuid.uuid4(), 1, created=True, sync_state="local"),
            await world.publish_register(
                starter, uuid.uuid4(), 1, created=True, tenant_tier="starter"
            ),
        ]
        for envelope in events:
            await _handled_by_registers_queue(world, envelope)
        calls = await emu.control.calls(model="pos.config")
    assert [c for c in calls if c["model_method"] in ("create", "write")] == []


async def test_a_lost_create_answer_is_recovered_even_when_another_tenants_odoo_uses_the_same_id(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        first = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await emu.control.create_database("other")
        second = await world.pro_tenant(emu.url, await emu.control.seed("other"))
        first_register = uuid.uuid4()
        await world.publish_register(first, first_register, 1, created=True, name="Terrace")
        first_config = (await _synced(tap, first_register))["odoo_pos_config_id"]
        await emu.control.fail(
            "connection_reset",
            count=1,
            model="pos.config",
            method="create",
            database="other",
            after_commit=True,
        )
        second_register = uuid.uuid4()
        await world.publish_register(second, second_register, 1, created=True, name="Terrace")
        synced = await _synced(tap, second_register)
        configs = await _configs(emu, second)
    # Both Odoos gave their first clone the same id: ids of different Odoos are never compared.
    assert synced["odoo_pos_config_id"] == first_config
    assert [c["id"] for c in configs] == [synced["odoo_pos_config_id"]]
    assert tap.of_type("register.odoo_sync_failed") == []


async def test_an_answer_lost_after_odoo_renamed_the_pos_config_ends_renamed_and_synced(
    world: ConnectorWorld, tap: EventTap
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        register_id = uuid.uuid4()
        await world.publish_register(tenant, register_id, 1, created=True, name="Terrace")
        config_id = (await _synced(tap, register_id))["odoo_pos_config_id"]
        await emu.control.fail(
            "connection_reset", count=1, model="pos.config", method="write", after_commit=True
        )
        await world.publish_register(
            tenant,
            register_id,
            2,
            name="Garden",
            sync_state="pending_update",
            odoo_pos_config_id=config_id,
        )
        renamed = await _synced(tap, register_id, count=2)
        configs = await _configs(emu, tenant)
    assert [(c["id"], c["name"]) for c in configs] == [(config_id, "Garden")]
    assert (renamed["operation"], renamed["pushed_name"]) == ("update", "Garden")
    assert tap.of_type("register.odoo_sync_failed") == []
