"""The broker definitions and the on-call config against the real thing.

A private RabbitMQ node runs the compose broker's plugins (deploy/rabbitmq/enabled_plugins) and
takes deploy/rabbitmq/definitions.json as the compose `migrate` job gives it
(deploy.broker_definitions). The four services run in-process, as in the e2e tests, against a
fresh vhost of that node, so that every queue, exchange and binding there is one they declared
themselves; a Pro tenant sells into the Odoo emulator and a poison message is dead-lettered.
Then:
- the node took the file whole (its policy included), and what the services declared is the
  file's exchanges, queues (types and arguments) and bindings;
- every metric an alert rule or a dashboard names is in the services' /metrics or in the
  node's Prometheus endpoints, scraped as deploy/prometheus/prometheus.yml scrapes them.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aio_pika
import httpx
import pytest
import pytest_asyncio
import yaml
from prometheus_client.parser import text_string_to_metric_families

from deploy.broker_definitions import DEFINITIONS, load_definitions
from deploy.observability import named_metrics
from odoo_connector.settings import ConnectorSettings
from odoo_emulator.testing import running_emulator
from orders.settings import OrdersSettings
from registers.settings import RegistersSettings
from reporting.settings import ReportingSettings
from test_support.odoo_connector import ConnectorWorld, running_connector
from test_support.orders import OrdersWorld, running_orders
from test_support.polling import eventually
from test_support.private_servers import PrivateRabbitMQ, private_rabbitmq_node
from test_support.registers import RegistersWorld, running_registers
from test_support.reporting import ReportingWorld, running_reporting
from tests.e2e.conftest import (
    System,
    as_order_register,
    post_order_until_accepted,
    pro_tenant_with_odoo,
)

# The services run once for the module's tests.
ON_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RABBITMQ = DEPLOY / "rabbitmq"
# Where the services declare their topology themselves: a vhost nothing was loaded into.
DECLARED_VHOST = "declared"


def _plugins() -> tuple[str, ...]:
    text = (RABBITMQ / "enabled_plugins").read_text().strip()
    return tuple(name.strip() for name in text.strip("[].").split(",") if name.strip())


def _management(node: PrivateRabbitMQ, path: str) -> Any:
    response = httpx.get(
        f"http://127.0.0.1:{node.management_port}/api{path}", auth=("guest", "guest"), timeout=5
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture(scope="module")
def broker() -> Iterator[PrivateRabbitMQ]:
    """A node with the compose broker's plugins, given the definitions as compose gives them."""
    if not PrivateRabbitMQ.available():
        pytest.skip("rabbitmq-server is not installed here")
    with private_rabbitmq_node(_plugins()) as node:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                _management(node, "/overview")
                break
            assert time.monotonic() < deadline, "the management API did not answer"
            time.sleep(0.2)
        load_definitions(f"http://127.0.0.1:{node.management_port}", "guest", "guest")
        node.ctl("add_vhost", DECLARED_VHOST)
        node.ctl("set_permissions", "-p", DECLARED_VHOST, "guest", ".*", ".*", ".*")
        yield node


@dataclass
class Stack:
    registers: RegistersWorld
    orders: OrdersWorld
    reporting: ReportingWorld
    connector: ConnectorWorld
    amqp_url: str


def _settings(service: str, database_url: str, amqp_url: str, run: str) -> dict[str, Any]:
    # No namespace: the names the compose stack uses, which the definitions file holds.
    return {
        "database_url": database_url,
        "amqp_url": amqp_url,
        "schema_name": f"{service}_{run}",
        "dev_mode": True,
        "log_json": False,
        "log_level": "WARNING",
        "outbox_poll_interval_s": 0.2,
        "dead_letter_metrics_interval_s": 0.2,
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(broker: PrivateRabbitMQ, database_url: str) -> AsyncIterator[Stack]:
    amqp_url = f"amqp://guest:guest@127.0.0.1:{broker.port}/{DECLARED_VHOST}"
    run = f"deploy_{secrets.token_hex(3)}"

    def settings(service: str) -> dict[str, Any]:
        return _settings(service, database_url, amqp_url, run)

    async with (
        running_orders(OrdersSettings(**settings("orders"))) as orders,
        running_reporting(ReportingSettings(**settings("reporting"))) as reporting,
        running_registers(RegistersSettings(**settings("registers"))) as registers,
        running_connector(ConnectorSettings(**settings("connector"))) as connector,
    ):
        yield Stack(registers, orders, reporting, connector, amqp_url)


def _comparable(definitions: dict[str, Any]) -> dict[str, Any]:
    """What a definitions export says about the topology, without vhost names or volatile fields
    (a queue's leader node), in a stable order."""

    def queue(item: dict[str, Any]) -> tuple[Any, ...]:
        return (item["name"], item["durable"], item["auto_delete"], item["arguments"])

    def exchange(item: dict[str, Any]) -> tuple[Any, ...]:
        return (item["name"], item["type"], item["durable"], item["auto_delete"], item["internal"])

    def binding(item: dict[str, Any]) -> tuple[Any, ...]:
        keys = ("source", "destination", "destination_type", "routing_key", "arguments")
        return tuple(item[key] for key in keys)

    def policy(item: dict[str, Any]) -> tuple[Any, ...]:
        keys = ("name", "pattern", "apply-to", "priority", "definition")
        return tuple(item[key] for key in keys)

    def as_json(rows: list[tuple[Any, ...]]) -> list[str]:
        return sorted(json.dumps(row, sort_keys=True) for row in rows)

    return {
        "queues": as_json([queue(q) for q in definitions.get("queues", [])]),
        "exchanges": as_json([exchange(e) for e in definitions.get("exchanges", []) if e["name"]]),
        "bindings": as_json([binding(b) for b in definitions.get("bindings", [])]),
        "policies": as_json([policy(p) for p in definitions.get("policies", [])]),
    }


def _file() -> dict[str, Any]:
    return _comparable(json.loads(DEFINITIONS.read_text()))


def test_the_broker_takes_the_definitions_file_whole(broker: PrivateRabbitMQ) -> None:
    loaded = _comparable(_management(broker, "/definitions/%2F"))
    assert loaded == _file()
    listed = broker.ctl("list_queues", "--no-table-headers", "type", "policy").splitlines()
    assert {tuple(line.split()) for line in listed} == {("quorum", "quorum-leaders-balanced")}


@ON_MODULE_LOOP
async def test_the_services_declare_exactly_the_topology_of_the_definitions_file(
    broker: PrivateRabbitMQ, stack: Stack
) -> None:
    declared = _comparable(_management(broker, f"/definitions/{quote(DECLARED_VHOST)}"))
    expected = _file()
    for part in ("queues", "exchanges", "bindings"):
        missing = sorted(set(expected[part]) - set(declared[part]))
        extra = sorted(set(declared[part]) - set(expected[part]))
        assert (missing, extra) == ([], []), (
            f"{part}: in the file only {missing}; declared by the services only {extra}"
        )


async def _drive_traffic(stack: Stack) -> None:
    """A Pro tenant's sale that reaches Odoo, its reports, /readyz asked, a poison message."""
    async with running_emulator(version=17) as odoo:
        # What a Pro tenant's admin does first, as the e2e tests have it.
        system = System(stack.registers, stack.orders, stack.reporting)
        tenant, shop, seed = await pro_tenant_with_odoo(system, stack.connector, odoo)
        created = await stack.registers.register(
            tenant, shop, name="Bar", odoo_pos_config_id=seed["pos_config_id"]
        )
        device = await stack.registers.token_for(
            tenant.admin, role="cashier", subject="tablet", register_id=created["id"]
        )
        body = stack.orders.order_body(as_order_register(tenant, created))
        for line, product in zip(body["lines"], seed["pos_product_ids"], strict=False):
            line["odoo_product_id"] = product
        placed = await post_order_until_accepted(
            system, as_order_register(tenant, created), device, body
        )
        assert placed.status_code == 201, placed.text

        async def synced() -> bool:
            response = await stack.orders.client.get(f"/v1/orders/{body['id']}", headers=device)
            return bool(response.json()["sync_state"] == "synced")

        await eventually(synced, within_s=20, what="the order in Odoo")

    for world in (stack.registers, stack.orders, stack.reporting, stack.connector):
        assert (await world.client.get("/readyz")).status_code == 200

    connection = await aio_pika.connect(stack.amqp_url)
    try:
        channel = await connection.channel()
        await channel.default_exchange.publish(
            aio_pika.Message(b"not an event", message_id=str(uuid.uuid4())),
            routing_key="orders.registers",
        )
    finally:
        await connection.close()

    async def dead_letter_counted() -> bool:
        text = (await stack.orders.client.get("/metrics")).text
        return any(
            sample.name == "dead_letters_open" and sample.labels["queue"] == "orders.registers"
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        )

    await eventually(dead_letter_counted, what="the poison message's dead letter counted")


# Families the processes declare at once and count into only when it happens: no retry, wait,
# outage, duplicate, prune, replay, discard, refused close or chat message in this short run.
WITHOUT_SAMPLES_WHILE_HEALTHY = frozenset(
    {
        "events_retried_total",
        "events_waiting_total",
        "events_duplicate_total",
        "dependency_unavailable",
        "outbox_publish_failures_total",
        "housekeeping_pruned_rows_total",
        "dead_letters_replayed_total",
        "dead_letters_discarded_total",
        "connector_session_closes_refused_total",
        "chat_messages_total",
    }
)


def _exported(text: str) -> tuple[set[str], set[str]]:
    """(names with samples, names only declared) in a Prometheus text exposition."""
    sampled: set[str] = set()
    declared: set[str] = set()
    suffixes = {
        "counter": ("_total",),
        "histogram": ("_bucket", "_count", "_sum"),
        "summary": ("_count", "_sum"),
    }
    for family in text_string_to_metric_families(text):
        sampled.update(sample.name for sample in family.samples)
        declared.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
    return sampled, declared - sampled


async def _scrape_broker(broker: PrivateRabbitMQ, job: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The node's endpoint as Prometheus scrapes it for `job`, once the node has filled its
    per-queue figures (it gathers them every few seconds)."""

    async def scraped() -> tuple[set[str], set[str]] | None:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(
                f"http://127.0.0.1:{broker.prometheus_port}{job.get('metrics_path', '/metrics')}",
                params=job.get("params", {}),
            )
        response.raise_for_status()
        with_samples, only_declared = _exported(response.text)
        waiting = {name for name in only_declared if name.startswith("rabbitmq_detailed_queue")}
        return None if waiting else (with_samples, only_declared)

    return await eventually(scraped, within_s=20, what=f"samples from {job['job_name']}")


@ON_MODULE_LOOP
async def test_every_metric_a_rule_or_dashboard_names_is_exported(
    broker: PrivateRabbitMQ, stack: Stack
) -> None:
    await _drive_traffic(stack)
    sampled: set[str] = set()
    declared: set[str] = set()
    for world in (stack.registers, stack.orders, stack.reporting, stack.connector):
        with_samples, only_declared = _exported((await world.client.get("/metrics")).text)
        sampled |= with_samples
        declared |= only_declared
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    for job in scrape["scrape_configs"]:
        if job["job_name"].startswith("rabbitmq"):
            with_samples, only_declared = await _scrape_broker(broker, job)
            sampled |= with_samples
            declared |= only_declared

    named = named_metrics()
    unknown = {
        name: sorted(where) for name, where in named.items() if name not in sampled | declared
    }
    assert unknown == {}
    # The rest carry samples after the traffic above.
    assert set(named) - sampled <= WITHOUT_SAMPLES_WHILE_HEALTHY
