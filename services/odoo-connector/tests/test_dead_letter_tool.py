"""The dead-letter tool on the connector: tenants apart, clear refusals, a replay cut short and
done again still one order in Odoo, the CLI, the metrics."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner

from odoo_emulator.testing import running_emulator
from shared.auth import Role
from shared.dead_letters.cli import dead_letters_cli
from shared.dead_letters.models import DeadLetterFilter, ReplayRequest
from shared.dead_letters.operations import DeadLetterOperations
from shared.dead_letters.store import DeadLetterStore, Scope
from test_support.dead_letters import dlq_agrees_with_records
from test_support.odoo_connector import ConnectorWorld, ProTenant, add_odoo_product, orders_queue
from test_support.polling import eventually

UNMAPPED = "POS-TEA"


async def _unmapped_orders(world: ConnectorWorld, tenant: ProTenant, n: int) -> list[uuid.UUID]:
    """`n` orders with a croissant and a tea Odoo has no product for: each is dead-lettered."""
    placed = []
    for _ in range(n):
        order = world.order(tenant)
        tea = order.lines[1].model_copy(update={"product_ref": UNMAPPED})
        order = order.model_copy(update={"lines": [order.lines[0], tea]})
        await world.place(tenant, order)
        placed.append(order.order_id)
    return placed


async def _dead(world: ConnectorWorld, n: int) -> list[dict[str, Any]]:
    queue = orders_queue(world.settings).name
    await dlq_agrees_with_records(world.settings.amqp_url, world.pool, world.schema, queue, n)
    listed = await world.client.get("/v1/dead-letters", headers=_platform(world))
    assert listed.status_code == 200, listed.text
    items: list[dict[str, Any]] = listed.json()["items"]
    return items


def _platform(world: ConnectorWorld) -> dict[str, str]:
    return world.token(uuid.UUID(int=0), Role.PLATFORM_ADMIN)


async def test_a_tenant_admin_cannot_see_or_replay_another_tenants_dead_letters(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        mine = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        theirs = await world.pro_tenant(emu.url, await emu.control.create_database("other"))
        await _unmapped_orders(world, mine, 1)
        [their_order] = await _unmapped_orders(world, theirs, 1)
        dead = await _dead(world, 2)
        [their_record] = [d for d in dead if d["aggregate_id"] == str(their_order)]
        me = world.token(mine.tenant_id, Role.ADMIN)

        listed = (await world.client.get("/v1/dead-letters", headers=me)).json()["items"]
        shown = await world.client.get(f"/v1/dead-letters/{their_record['id']}", headers=me)
        replayed = await world.client.post(
            "/v1/dead-letters/replay", json={"ids": [their_record["id"]]}, headers=me
        )
        discarded = await world.client.post(
            "/v1/dead-letters/discard",
            json={"ids": [their_record["id"]], "reason": "not mine"},
            headers=me,
        )
        by_filter = await world.client.post(
            "/v1/dead-letters/replay",
            json={"filter": {"tenant_id": str(theirs.tenant_id)}},
            headers=me,
        )
        groups = (await world.client.get("/v1/dead-letters/groups", headers=me)).json()["items"]

    assert [d["tenant_id"] for d in listed] == [str(mine.tenant_id)]
    for refused in (shown, replayed, discarded):
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"] == f"No dead letter {their_record['id']} exists."
    assert by_filter.status_code == 200
    assert (by_filter.json()["selected"], by_filter.json()["done"]) == (0, 0)
    assert [g["count"] for g in groups] == [1]
    await dlq_agrees_with_records(
        world.settings.amqp_url, world.pool, world.schema, orders_queue(world.settings).name, 2
    )


async def test_the_api_refuses_with_problems_that_say_what_to_do(world: ConnectorWorld) -> None:
    async with running_emulator(version=17) as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        await _unmapped_orders(world, tenant, 1)
        [record] = await _dead(world, 1)
        admin = world.token(tenant.tenant_id, Role.ADMIN)
        await add_odoo_product(emu.url, seed, UNMAPPED)
        done = await world.client.post(
            "/v1/dead-letters/replay", json={"ids": [record["id"]]}, headers=admin
        )
        assert done.status_code == 200, done.text

        no_reason = await world.client.post(
            "/v1/dead-letters/discard", json={"ids": [record["id"]]}, headers=admin
        )
        again = await world.client.post(
            "/v1/dead-letters/replay", json={"ids": [record["id"]]}, headers=admin
        )
        unknown_id = uuid.uuid4()
        unknown = await world.client.get(f"/v1/dead-letters/{unknown_id}", headers=admin)
        two_selections = await world.client.post(
            "/v1/dead-letters/replay",
            json={"ids": [record["id"]], "group": "abc"},
            headers=admin,
        )
        manager = await world.client.get(
            "/v1/dead-letters", headers=world.token(tenant.tenant_id, Role.MANAGER)
        )

    assert no_reason.status_code == 422
    assert no_reason.headers["content-type"] == "application/problem+json"
    assert no_reason.json()["errors"] == [{"field": "reason", "message": "is required"}]
    assert again.status_code == 409
    assert f"{record['id']} is replayed" in again.json()["detail"]
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == f"No dead letter {unknown_id} exists."
    assert two_selections.status_code == 422
    assert "exactly one of ids, group or filter" in two_selections.json()["detail"]
    assert manager.status_code == 403
    assert manager.json()["allowed_roles"] == ["admin", "platform_admin"]


async def test_a_group_replayed_twice_after_a_replay_cut_short_puts_each_order_in_odoo_once(
    world: ConnectorWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_emulator(version=16, odoo16_dedup="early") as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        orders = await _unmapped_orders(world, tenant, 3)
        await _dead(world, 3)
        await add_odoo_product(emu.url, seed, UNMAPPED)
        store = DeadLetterStore(world.pool, world.settings.broker_namespace)
        [group] = await store.groups(Scope.everything(), DeadLetterFilter(), "dead")

        # The replaying process dies after the broker took the last message back to its queue
        # and before its record was closed: that message is still parked, its record dead.
        closing = store.close
        closed: list[uuid.UUID] = []

        async def dies_before_the_last(record_id: uuid.UUID, *args: Any) -> bool:
            if len(closed) == 2:
                raise ConnectionResetError("the replaying process died")
            closed.append(record_id)
            return await closing(record_id, *args)

        monkeypatch.setattr(store, "close", dies_before_the_last)
        cut_short = DeadLetterOperations(store, world.settings.amqp_url)
        with pytest.raises(ConnectionResetError):
            await cut_short.replay(
                Scope.everything(), "ops", "cli", ReplayRequest(group=group.group)
            )
        again = await world.client.post(
            "/v1/dead-letters/replay", json={"group": group.group}, headers=_platform(world)
        )
        assert again.json()["done"] == 1, again.text
        odoo_ids = [await world.synced_odoo_id(order_id, within_s=20) for order_id in orders]
        await asyncio.sleep(0.5)  # room for a second copy to land twice, if it could
        in_odoo = await emu.control.records("demo", "pos.order")
    assert sorted(o["id"] for o in in_odoo) == sorted(odoo_ids)
    await dlq_agrees_with_records(
        world.settings.amqp_url, world.pool, world.schema, orders_queue(world.settings).name, 0
    )


async def test_the_cli_lists_groups_shows_replays_dry_and_discards_with_a_reason(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=17) as emu:
        tenant = await world.pro_tenant(emu.url, await emu.control.seed("demo"))
        await _unmapped_orders(world, tenant, 2)
        [first, second] = await _dead(world, 2)
        cli = dead_letters_cli(lambda: world.settings)

        def run(*args: str) -> str:
            result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "250"})
            assert result.exit_code == 0, result.output
            return result.output

        listed = json.loads(
            await asyncio.to_thread(run, "list", "--queue", "connector.odoo.0", "--json")
        )
        groups = json.loads(await asyncio.to_thread(run, "groups", "--json"))
        shown = await asyncio.to_thread(run, "show", first["id"])
        dry = await asyncio.to_thread(run, "replay", "--group", groups[0]["group"], "--dry-run")
        no_reason = await asyncio.to_thread(
            CliRunner().invoke, cli, ["discard", "--id", first["id"]]
        )
        discarded = await asyncio.to_thread(
            run, "discard", "--id", first["id"], "--reason", "a test order", "--as", "ops@test"
        )
        audit = await asyncio.to_thread(run, "audit")
    assert {i["id"] for i in listed["items"]} == {first["id"], second["id"]}
    assert [(g["count"], g["error_class"]) for g in groups] == [(2, "MissingProductMappingError")]
    assert "POS-TEA" in shown
    assert "x-dead-letter-id" in shown
    assert "dry run: 2 would replay" in dry
    assert no_reason.exit_code == 2
    assert "--reason" in no_reason.output
    assert "discard: 1 of 1 done" in discarded
    assert "ops@test" in audit
    assert "a test order" in audit
    await dlq_agrees_with_records(
        world.settings.amqp_url, world.pool, world.schema, orders_queue(world.settings).name, 1
    )


async def test_metrics_count_open_dead_letters_by_queue_and_cause_and_each_replay(
    world: ConnectorWorld,
) -> None:
    queue = orders_queue(world.settings).name
    async with running_emulator(version=17) as emu:
        seed = await emu.control.seed("demo")
        tenant = await world.pro_tenant(emu.url, seed)
        await _unmapped_orders(world, tenant, 2)
        [record, _] = await _dead(world, 2)

        async def metric(line: str) -> bool:
            return line in (await world.client.get("/metrics")).text.splitlines()

        opened = (
            f'dead_letters_open{{error_class="MissingProductMappingError",queue="{queue}"}} 2.0'
        )
        await eventually(lambda: metric(opened), what=opened)
        await add_odoo_product(emu.url, seed, UNMAPPED)
        await world.client.post(
            "/v1/dead-letters/replay", json={"ids": [record["id"]]}, headers=_platform(world)
        )
        await world.client.post(
            "/v1/dead-letters/discard",
            json={"filter": {"queue": "connector.odoo.0"}, "reason": "test orders"},
            headers=_platform(world),
        )
        for line in (
            f'dead_letters_replayed_total{{queue="{queue}"}} 1.0',
            f'dead_letters_discarded_total{{queue="{queue}"}} 1.0',
        ):
            await eventually(lambda line=line: metric(line), what=line)  # type: ignore[misc]
        text = (await world.client.get("/metrics")).text
    assert (
        f'dead_letters_open{{error_class="MissingProductMappingError",queue="{queue}"}}' not in text
    )
