"""Every role on every route of every service gets what the README's table says.

The table in README.md ("Who may do what") is the specification: it is parsed here, compared
with the routes the four apps really have (a route missing from it fails), and each of its cells
is tried with a token of that role against real data. A forbidden pair must be a 403 naming the
roles allowed, given before the body is looked at; an allowed pair must get past every role and
register check.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from odoo_connector.bootstrap import create_app as connector_app
from odoo_connector.settings import ConnectorSettings
from orders.bootstrap import create_app as orders_app
from orders.settings import OrdersSettings
from registers.bootstrap import create_app as registers_app
from registers.settings import RegistersSettings
from reporting.bootstrap import create_app as reporting_app
from reporting.settings import ReportingSettings
from test_support.dead_letters import plant_dead_letter
from test_support.odoo_connector import ConnectorWorld
from test_support.orders import Register
from test_support.polling import eventually
from test_support.registers import Headers, Tenant, problem

from .conftest import System, as_order_register, post_order_until_accepted

README = Path(__file__).resolve().parents[2] / "README.md"
ROLES = ("cashier", "manager", "admin", "platform_admin")
SERVICES = ("orders", "registers", "reporting", "connector")
# Sent by a caller the route refuses: the 403 must come before the body is validated.
NOT_A_BODY = {"not_a_field_of_any_body": True}
MADE_UP_ID = uuid.UUID("00000000-0000-4000-8000-00000000dead")

Route = tuple[str, str, str]
# Answers for each of its orders: another register's are refused one by one, in a 200.
BATCH: Route = ("orders", "POST", "/v1/orders/batch")


class Access(Enum):
    ALLOWED = "✓"
    OWN_REGISTER = "own register only"
    FORBIDDEN = "—"
    NO_TOKEN = "no token needed"


def _access(cell: str) -> Access:
    if cell.endswith(Access.NO_TOKEN.value):
        return Access.NO_TOKEN
    if cell.startswith(Access.ALLOWED.value):
        return Access.ALLOWED
    for access in (Access.OWN_REGISTER, Access.FORBIDDEN):
        if cell == access.value:
            return access
    raise AssertionError(f"README role table: {cell!r} is none of ✓, own register only, —")


def readme_matrix() -> dict[Route, dict[str, Access]]:
    """The README's table: (service, method, path) → each role's access, in the table's order."""
    section = (
        README.read_text(encoding="utf-8")
        .split("\n## Who may do what\n", 1)[1]
        .split("\n## ", 1)[0]
    )
    matrix: dict[Route, dict[str, Access]] = {}
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| service |"):
            continue
        service, routes, *cells = (cell.strip() for cell in line.strip().strip("|").split("|"))
        assert len(cells) == len(ROLES), line
        for method, path in re.findall(r"`([A-Z]+) (/[^`]*)`", routes):
            for each in SERVICES if service == "every service" else (service,):
                assert each in SERVICES, line
                assert (each, method, path) not in matrix, f"{method} {path} twice in the table"
                matrix[each, method, path] = dict(zip(ROLES, map(_access, cells), strict=True))
    return matrix


MATRIX = readme_matrix()


def allowed_roles(route: Route) -> set[str]:
    return {role for role, access in MATRIX[route].items() if access is not Access.FORBIDDEN}


@pytest.fixture
def apps(common: Callable[[str], Any]) -> dict[str, FastAPI]:
    """The four apps as built, not started: enough to list their routes."""
    return {
        "orders": orders_app(OrdersSettings(**common("orders"))),
        "registers": registers_app(RegistersSettings(**common("registers"))),
        "reporting": reporting_app(ReportingSettings(**common("reporting"))),
        "connector": connector_app(ConnectorSettings(**common("connector"))),
    }


def app_routes(apps: Mapping[str, FastAPI]) -> set[Route]:
    # An included router is one entry of app.routes; its routes are listed through it.
    return {
        (service, method, str(route.path))
        for service, app in apps.items()
        for route in iter_route_contexts(app.routes)
        for method in route.methods or ()
        if method != "HEAD"
    }


def test_the_table_has_every_route_of_every_service_and_no_other(
    apps: dict[str, FastAPI],
) -> None:
    served = app_routes(apps)
    missing = sorted(served - MATRIX.keys())
    gone = sorted(MATRIX.keys() - served)
    assert not missing, f"routes the README's role table does not have: {missing}"
    assert not gone, f"routes in the README's role table that no service serves: {gone}"


class _IdsOrMadeUp(dict[str, str]):
    """The floor's ids; an id it has none of is made up, and its route can only be a 404."""

    def __missing__(self, key: str) -> str:
        return str(MADE_UP_ID)


@dataclass
class ShopFloor:
    """A Starter tenant with a shop, two tills and one sale, and its people's tokens; another
    tenant beside it with the same people."""

    system: System
    connector: ConnectorWorld
    tenant: Tenant
    ids: dict[str, str]
    till: Register
    tokens: dict[str, Headers]
    other_till: Headers
    other_tenant: dict[str, Headers]
    line_id: str

    def client(self, service: str) -> httpx.AsyncClient:
        worlds: dict[str, Any] = {
            "orders": self.system.orders,
            "registers": self.system.registers,
            "reporting": self.system.reporting,
            "connector": self.connector,
        }
        client: httpx.AsyncClient = worlds[service].client
        return client

    def params(self, route: Route) -> dict[str, str]:
        shop, today = self.ids["shop_id"], date.today().isoformat()
        return {
            ("orders", "GET", "/v1/orders"): {"register_id": self.ids["register_id"]},
            ("orders", "GET", "/v1/sessions"): {"register_id": self.ids["register_id"]},
            ("registers", "GET", "/v1/catalog"): {"register_id": self.ids["register_id"]},
            ("reporting", "GET", "/v1/dashboard"): {"shop_id": shop},
            ("reporting", "GET", "/v1/reports/daily"): {"shop_id": shop, "business_date": today},
            ("reporting", "GET", "/v1/reports/sales"): {
                "shop_id": shop,
                "from": today,
                "to": today,
            },
        }.get(route, {})

    def body(self, route: Route) -> dict[str, Any] | None:
        """A valid body for the route, on this tenant's data; new ids each time."""
        unique = uuid.uuid4().hex[:6].upper()
        money = {"amount": 0, "currency": "EUR"}
        bodies: dict[Route, dict[str, Any]] = {
            ("orders", "POST", "/v1/sessions"): {
                "register_id": self.ids["register_id"],
                "opening_cash": money,
            },
            ("orders", "POST", "/v1/sessions/{session_id}/close"): {"counted_cash": money},
            ("orders", "POST", "/v1/orders/{order_id}/refunds"): {
                "id": str(uuid.uuid4()),
                "lines": [{"order_line_id": self.line_id, "quantity": "1"}],
                "payments": [
                    {"method": "card", "kind": "card", "amount": {"amount": 350, "currency": "EUR"}}
                ],
                "reason": "spilt",
            },
            ("orders", "POST", "/v1/imports/orders"): {"sessions": [], "orders": [], "refunds": []},
            ("registers", "POST", "/v1/tenants"): {
                "name": "Another cafe",
                "tier": "starter",
                "default_currency": "EUR",
                "default_timezone": "Europe/Paris",
            },
            ("registers", "PATCH", "/v1/tenants/{tenant_id}"): {"name": "Corner Cafe"},
            ("registers", "POST", "/v1/shops"): {"name": "Kiosk"},
            ("registers", "PATCH", "/v1/shops/{shop_id}"): {"name": "Harbour"},
            ("registers", "POST", "/v1/shops/{shop_id}/registers"): {
                "name": "Terrace",
                "receipt_prefix": f"T{unique}",
            },
            ("registers", "PATCH", "/v1/registers/{register_id}"): {"name": "Till 1"},
            ("registers", "POST", "/v1/payment-methods"): {
                "code": f"V{unique}",
                "name": "Voucher",
                "kind": "other",
            },
            ("registers", "PATCH", "/v1/payment-methods/{payment_method_id}"): {"name": "Card"},
            ("registers", "POST", "/v1/product-categories"): {"name": f"Cakes {unique}"},
            ("registers", "PATCH", "/v1/product-categories/{category_id}"): {"name": "Coffee"},
            ("registers", "POST", "/v1/products"): {
                "reference": f"P{unique}",
                "name": "Scone",
                "prices": [{"amount": 300, "currency": "EUR"}],
                "tax_rate_percent": "10",
            },
            ("registers", "PATCH", "/v1/products/{product_id}"): {"name": "Flat white"},
            ("registers", "POST", "/v1/customers"): {"name": "Anna", "email": f"{unique}@ex.com"},
            ("registers", "PATCH", "/v1/customers/{customer_id}"): {"phone": "+33 1 2345"},
            ("registers", "POST", "/v1/tokens"): {
                "role": "manager",
                "subject": "deputy",
                "tenant_id": str(self.tenant.id),
            },
            ("reporting", "PUT", "/v1/chat"): {
                "bot_token": "987654321:AAH" + "s3cr3t" * 6,
                "chat_id": "-100200300",
                "enabled": False,
            },
            ("connector", "PUT", "/v1/tenants/{tenant_id}/odoo"): {
                # Nothing listens there: the check reports it unreachable.
                "url": "http://127.0.0.1:9",
                "database": "cafe",
                "login": "pos-bot",
                "secret": "key",
            },
        }
        if route == ("orders", "POST", "/v1/orders"):
            return self.system.orders.order_body(self.till)
        if route == BATCH:
            return {"orders": [self.system.orders.order_body(self.till) for _ in range(2)]}
        return bodies.get(route)

    def has_ids_of(self, route: Route) -> bool:
        return set(re.findall(r"{(\w+)}", route[2])) <= self.ids.keys()

    async def send(
        self, route: Route, headers: Headers | None, *, forbidden: bool = False
    ) -> httpx.Response:
        service, method, path = route
        body = self.body(route)
        if forbidden and body is not None:
            body = NOT_A_BODY
        return await self.client(service).request(
            method,
            path.format_map(_IdsOrMadeUp(self.ids)),
            params=self.params(route),
            json=body,
            headers=headers or {},
        )


async def _sold(system: System, register: Register, device: Headers) -> dict[str, Any]:
    response = await post_order_until_accepted(system, register, device)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


async def _people(system: System, tenant: Tenant, register_id: str) -> dict[str, Headers]:
    registers = system.registers
    return {
        "cashier": await registers.token_for(
            tenant.admin, role="cashier", subject="tablet", register_id=register_id
        ),
        "manager": await registers.token_for(tenant.admin, role="manager", subject="manager"),
        "admin": tenant.admin,
        "platform_admin": registers.platform,
    }


@pytest.fixture
async def floor(system: System, connector: ConnectorWorld) -> ShopFloor:
    registers = system.registers
    tenant = await registers.tenant("starter")
    shop = await registers.shop(tenant, name="Harbour")
    till = await registers.register(tenant, shop, name="Till 1")
    second = await registers.register(tenant, shop, name="Till 2")
    tokens = await _people(system, tenant, till["id"])
    other_till = await registers.token_for(
        tenant.admin, role="cashier", subject="tablet 2", register_id=second["id"]
    )
    method = await registers.ok(
        "POST",
        "/v1/payment-methods",
        tenant.admin,
        201,
        json={"code": "card", "name": "Card", "kind": "card"},
    )
    spare = await registers.issue(tenant.admin, role="manager", subject="to be revoked")
    category = await registers.ok(
        "POST", "/v1/product-categories", tenant.admin, 201, json={"name": "Coffee"}
    )
    customer = await registers.ok(
        "POST", "/v1/customers", tenant.admin, 201, json={"name": "Anna Weber"}
    )
    product = await registers.ok(
        "POST",
        "/v1/products",
        tenant.admin,
        201,
        json={
            "reference": "FW",
            "name": "Flat white",
            "category_id": category["id"],
            "prices": [{"amount": 350, "currency": "EUR"}],
            "tax_rate_percent": "10",
        },
    )
    register = as_order_register(tenant, till)
    order = await _sold(system, register, tokens["cashier"])

    other = await registers.tenant("starter", name="Other cafe")
    other_register = await registers.register(other)
    other_people = await _people(system, other, other_register["id"])

    ids = {
        "tenant_id": str(tenant.id),
        "shop_id": shop["id"],
        "register_id": till["id"],
        "payment_method_id": method["id"],
        "category_id": category["id"],
        "product_id": product["id"],
        "customer_id": customer["id"],
        "token_id": spare["id"],
        "order_id": order["id"],
        "session_id": order["session_id"],
        "dead_letter_id": str(uuid.uuid4()),
    }
    for pool, schema in (
        (system.orders.pool, system.orders.schema),
        (system.registers.pool, system.registers.schema),
        (system.reporting.pool, system.reporting.settings.schema_name),
        (connector.pool, connector.schema),
    ):
        await plant_dead_letter(pool, schema, uuid.UUID(ids["dead_letter_id"]), tenant.id)

    async def reported() -> bool:
        reporting = system.reporting.client
        manager = tokens["manager"]
        session = await reporting.get(f"/v1/reports/sessions/{ids['session_id']}", headers=manager)
        dashboard = await reporting.get(
            "/v1/dashboard", params={"shop_id": ids["shop_id"]}, headers=manager
        )
        return session.status_code == dashboard.status_code == 200

    await eventually(reported, what="reporting knowing the shop and the session")
    return ShopFloor(
        system,
        connector,
        tenant,
        ids,
        register,
        tokens,
        other_till,
        other_people,
        order["lines"][0]["id"],
    )


def _cells() -> Iterator[tuple[Route, str, Access]]:
    for route, cells in MATRIX.items():
        for role, access in cells.items():
            yield route, role, access


def _with_ids(route: Route) -> bool:
    return "{" in route[2]


async def test_every_role_gets_what_the_table_says_on_every_route(floor: ShopFloor) -> None:
    for route, role, access in _cells():
        what = f"{role} on {route}"
        if access is Access.FORBIDDEN:
            response = await floor.send(route, floor.tokens[role], forbidden=True)
            assert response.status_code == 403, f"{what}: {response.status_code} {response.text}"
            refusal = problem(response)
            assert refusal["role"] == role, what
            assert set(refusal["allowed_roles"]) == allowed_roles(route), what
            continue
        response = await floor.send(route, floor.tokens[role])
        if access is Access.NO_TOKEN:
            assert response.status_code not in (401, 403), f"{what}: {response.text}"
            continue
        assert response.status_code not in (401, 403), f"{what}: {response.text}"
        assert response.status_code < 500, f"{what}: {response.text}"
        if route[1] == "GET":
            # Real ids and filters: a read that is allowed is answered in full.
            expected = 200 if floor.has_ids_of(route) else 404
            assert response.status_code == expected, f"{what}: {response.text}"


async def test_without_a_token_only_health_metrics_and_docs_answer(floor: ShopFloor) -> None:
    for route, cells in MATRIX.items():
        response = await floor.send(route, None)
        if Access.NO_TOKEN in cells.values():
            assert response.status_code == 200 or route[2] == "/readyz", route
        else:
            assert response.status_code == 401, f"{route}: {response.text}"
            assert problem(response)["title"] == "Not authenticated"


async def test_a_till_cannot_touch_another_registers_orders_sessions_or_reports(
    floor: ShopFloor,
) -> None:
    own_register_routes = [
        r for r, cells in MATRIX.items() if cells["cashier"] is Access.OWN_REGISTER
    ]
    assert own_register_routes
    for route in own_register_routes:
        response = await floor.send(route, floor.other_till)
        if route == BATCH:
            assert response.status_code == 200, response.text
            refusals = [r["problem"] for r in response.json()["results"]]
            assert [r["status"] for r in refusals] == [403, 403], refusals
            assert all("belongs to register" in r["detail"] for r in refusals), refusals
            continue
        assert response.status_code == 403, f"{route}: {response.status_code} {response.text}"
        assert "belongs to register" in problem(response)["detail"], route


async def test_another_tenants_people_find_none_of_the_ids(floor: ShopFloor) -> None:
    checked = 0
    for route, role, access in _cells():
        # A route that needs no token (Telegram's webhook) is not scoped by the caller's token.
        if access in (Access.FORBIDDEN, Access.NO_TOKEN):
            continue
        if not _with_ids(route) or role == "platform_admin":
            continue
        response = await floor.send(route, floor.other_tenant[role])
        assert response.status_code == 404, f"{role} of another tenant on {route}: {response.text}"
        checked += 1
    assert checked > 20
