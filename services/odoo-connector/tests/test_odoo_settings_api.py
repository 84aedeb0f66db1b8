"""A tenant's admin stores and checks its Odoo settings; the secret is never shown or kept clear."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from odoo_connector.credentials import CREDENTIALS_KEY
from odoo_emulator.testing import running_emulator
from shared.auth import PLATFORM_TENANT_ID, Role
from shared.events.contracts import TokenRevoked
from shared.secret_box import SecretKeyError
from test_support.odoo_connector import ConnectorWorld

GOOD = {
    "url": "https://cafe.odoo.example",
    "database": "cafe",
    "login": "pos-bot",
    "secret": "s3cret-api-key",
}


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = json.loads(response.text)
    return body


async def _put(world: ConnectorWorld, tenant: uuid.UUID, body: Any, **kw: Any) -> httpx.Response:
    headers = kw.pop("headers", world.token(tenant))
    return await world.client.put(f"/v1/tenants/{tenant}/odoo", json=body, headers=headers, **kw)


async def test_stored_settings_are_shown_without_the_secret_which_is_stored_encrypted(
    world: ConnectorWorld,
) -> None:
    tenant = uuid.uuid4()
    response = await _put(world, tenant, {**GOOD, "url": "https://cafe.odoo.example/"})
    assert response.status_code == 200, response.text
    shown = await world.client.get(f"/v1/tenants/{tenant}/odoo", headers=world.token(tenant))
    assert shown.json()["url"] == "https://cafe.odoo.example"
    assert shown.json()["secret_stored"] is True
    assert "s3cret" not in response.text + shown.text
    stored = await world.pool.fetchval(
        f"SELECT secret_encrypted FROM {world.schema}.odoo_settings WHERE tenant_id = $1", tenant
    )
    assert b"s3cret" not in stored


async def test_a_request_without_a_token_is_refused(world: ConnectorWorld) -> None:
    body = _problem(await _put(world, uuid.uuid4(), GOOD, headers={}), 401)
    assert "bearer token" in body["detail"]


async def test_only_the_tenants_admin_may_store_settings(world: ConnectorWorld) -> None:
    tenant = uuid.uuid4()
    body = _problem(await _put(world, tenant, GOOD, headers=world.token(tenant, Role.MANAGER)), 403)
    assert "token's role is manager" in body["detail"]


async def test_another_tenants_settings_do_not_exist_for_the_caller(world: ConnectorWorld) -> None:
    other = uuid.uuid4()
    body = _problem(await _put(world, other, GOOD, headers=world.token(uuid.uuid4())), 404)
    assert str(other) in body["detail"]


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"url": "ftp://cafe"}, "url", "must be the Odoo server's base URL"),
        ({"url": "https://cafe/?db=x"}, "url", "without a query"),
        ({"odoo_version": 15}, "odoo_version", "16"),
        ({"secret": " "}, "secret", "API key (or password), not empty"),
        ({"template_pos_config_id": 0}, "template_pos_config_id", "greater than 0"),
        ({"template_pos_config_id": 2**31}, "template_pos_config_id", "must be at most 2147483647"),
        (
            {"tax_mapping": [{"rate_percent": "10", "prices_include_tax": True, "odoo_tax_id": 0}]},
            "tax_mapping[0].odoo_tax_id",
            "greater than 0",
        ),
        (
            {
                "tax_mapping": [
                    {"rate_percent": "101", "prices_include_tax": True, "odoo_tax_id": 4}
                ]
            },
            "tax_mapping[0].rate_percent",
            "must be at most 100",
        ),
        (
            {
                "tax_mapping": [
                    {"rate_percent": "10", "prices_include_tax": True, "odoo_tax_id": 4},
                    {"rate_percent": "10.0", "prices_include_tax": True, "odoo_tax_id": 5},
                ]
            },
            "tax_mapping",
            "names 10.0 % included twice",
        ),
        ({"colour": "blue"}, "colour", "is not a field of this request"),
    ],
)
async def test_invalid_settings_are_refused_with_what_to_fix(
    world: ConnectorWorld, change: dict[str, Any], field: str, message: str
) -> None:
    tenant = uuid.uuid4()
    body = _problem(await _put(world, tenant, {**GOOD, **change}), 422)
    assert body["errors"][0]["field"] == field
    assert message in body["errors"][0]["message"]


async def test_settings_missing_a_field_name_it(world: ConnectorWorld) -> None:
    tenant = uuid.uuid4()
    body = _problem(await _put(world, tenant, {k: v for k, v in GOOD.items() if k != "login"}), 422)
    assert body["detail"] == "login is required."


async def test_a_body_that_is_not_json_is_refused(world: ConnectorWorld) -> None:
    tenant = uuid.uuid4()
    response = await world.client.put(
        f"/v1/tenants/{tenant}/odoo",
        content=b"{url:",
        headers={**world.token(tenant), "content-type": "application/json"},
    )
    assert "not valid JSON" in _problem(response, 400)["detail"]


async def test_checking_before_storing_settings_says_what_to_do_first(
    world: ConnectorWorld,
) -> None:
    tenant = uuid.uuid4()
    response = await world.client.post(
        f"/v1/tenants/{tenant}/odoo/check", headers=world.token(tenant)
    )
    assert f"PUT /v1/tenants/{tenant}/odoo first" in _problem(response, 404)["detail"]


async def test_a_check_reports_the_version_the_template_register_and_payment_methods(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=18) as emu:
        seed = await emu.control.seed("demo")
        tenant = uuid.uuid4()
        key = next(u for u in seed["users"] if u["login"] == "pos-bot")["api_key"]
        body = {"url": emu.url, "database": "demo", "login": "pos-bot", "secret": key}
        assert (await _put(world, tenant, body)).status_code == 200
        check = await world.client.post(
            f"/v1/tenants/{tenant}/odoo/check", headers=world.token(tenant)
        )
        assert (await _put(world, tenant, {**body, "secret": "wrong"})).status_code == 200
        refused = await world.client.post(
            f"/v1/tenants/{tenant}/odoo/check", headers=world.token(tenant)
        )
    found = check.json()
    assert (found["reachable"], found["authenticated"], found["version"]) == (True, True, 18)
    assert found["template_pos_config"]["id"] == seed["pos_config_id"]
    assert {m["name"] for m in found["payment_methods"]} == {"Cash", "Card"}
    assert refused.json()["authenticated"] is False
    assert "refused the login 'pos-bot'" in refused.json()["problem"]
    assert key not in check.text + refused.text


async def test_a_tax_mapping_is_stored_shown_and_listed_by_the_check_beside_the_taxes_found(
    world: ConnectorWorld,
) -> None:
    async with running_emulator(version=18) as emu:
        seed = await emu.control.seed("demo")
        taxes = await emu.control.records("demo", "account.tax")
        chosen = next(t for t in taxes if t["amount"] == 20 and t["type_tax_use"] == "sale")
        tenant = uuid.uuid4()
        key = next(u for u in seed["users"] if u["login"] == "pos-bot")["api_key"]
        mapping = [
            {"rate_percent": "19.6", "prices_include_tax": False, "odoo_tax_id": chosen["id"]}
        ]
        body = {
            "url": emu.url,
            "database": "demo",
            "login": "pos-bot",
            "secret": key,
            "tax_mapping": mapping,
        }
        stored = await _put(world, tenant, body)
        check = await world.client.post(
            f"/v1/tenants/{tenant}/odoo/check", headers=world.token(tenant)
        )
    assert stored.status_code == 200, stored.text
    assert stored.json()["tax_mapping"] == [
        {"rate_percent": "19.6", "prices_include_tax": False, "odoo_tax_id": chosen["id"]}
    ]
    listed = {(m["rate_percent"], m["prices_include_tax"]): m for m in check.json()["tax_mapping"]}
    assert listed[("19.6", False)]["odoo_tax_id"] == chosen["id"]
    assert listed[("19.6", False)]["source"] == "settings"
    assert listed[("15", False)]["source"] == "found"
    assert listed[("15", False)]["odoo_tax_name"] == "15%"


async def test_a_check_of_an_unreachable_odoo_says_so(world: ConnectorWorld) -> None:
    tenant = uuid.uuid4()
    assert (await _put(world, tenant, {**GOOD, "url": "http://127.0.0.1:9"})).status_code == 200
    check = await world.client.post(f"/v1/tenants/{tenant}/odoo/check", headers=world.token(tenant))
    assert check.json()["reachable"] is False
    assert "unreachable" in check.json()["problem"]


def test_the_published_dev_key_is_refused_outside_dev_mode() -> None:
    with pytest.raises(SecretKeyError, match="CONNECTOR_CREDENTIALS_KEY"):
        CREDENTIALS_KEY.keys(None, dev_mode=False)
    with pytest.raises(SecretKeyError, match="dev key"):
        CREDENTIALS_KEY.keys(CREDENTIALS_KEY.dev_key, dev_mode=False)
    assert CREDENTIALS_KEY.keys(None, dev_mode=True) == CREDENTIALS_KEY.dev_key


async def test_a_revoked_admin_token_is_refused(world: ConnectorWorld) -> None:
    tenant, token_id = uuid.uuid4(), uuid.uuid4()
    token = world.issuer.issue(
        subject="admin@test",
        tenant_id=tenant,
        role=Role.ADMIN,
        token_id=token_id,
        ttl=timedelta(hours=1),
    )
    revoked = TokenRevoked(token_id=token_id, expires_at=datetime.now(UTC) + timedelta(hours=1))
    await world.handled(await world.publish(revoked, PLATFORM_TENANT_ID, token_id))
    response = await _put(world, tenant, GOOD, headers={"Authorization": f"Bearer {token}"})
    assert "revoked" in _problem(response, 401)["detail"]
