"""Tokens: who may issue which, expiry, revocation, and the first platform admin of an install."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from registers.settings import RegistersSettings
from test_support.polling import eventually
from test_support.registers import RegistersWorld, bearer, problem


async def test_admin_issues_a_device_token_bound_to_its_register(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    register = await world.register(tenant)
    issued = await world.issue(
        tenant.admin, role="cashier", subject="tablet-1", register_id=register["id"]
    )
    claims = world.handlers._verifier.verify(issued["token"])
    assert (claims.tenant_id, claims.register_id, claims.role) == (
        tenant.id,
        uuid.UUID(register["id"]),
        "cashier",
    )
    assert claims.jti == uuid.UUID(issued["id"])
    listed = await world.ok("GET", "/v1/tokens", tenant.admin)
    assert issued["id"] in {item["id"] for item in listed["items"]}
    assert all("token" not in item for item in listed["items"])


async def test_cashier_token_cannot_be_issued_for_a_deactivated_register(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    register = await world.register(tenant)
    await world.patch_register(tenant, register, active=False)
    response = await world.client.post(
        "/v1/tokens",
        json={"role": "cashier", "subject": "tablet", "register_id": register["id"]},
        headers=tenant.admin,
    )
    assert response.status_code == 409
    assert "reactivate it before issuing a token" in problem(response)["detail"]


async def test_a_revoked_token_is_refused_at_once_and_announced(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    manager = await world.issue(tenant.admin, role="manager", subject="manager@test")
    headers = bearer(manager["token"])
    assert (await world.client.get("/v1/shops", headers=headers)).status_code == 200

    revoked = await world.client.delete(f"/v1/tokens/{manager['id']}", headers=tenant.admin)
    assert revoked.status_code == 204

    refused = await world.client.get("/v1/shops", headers=headers)
    assert refused.status_code == 401
    assert problem(refused)["detail"] == "The token has been revoked."
    [event] = await world.events_of(manager["id"])
    assert (event["type"], event["data"]["token_id"]) == ("token.revoked", manager["id"])
    again = await world.client.delete(f"/v1/tokens/{manager['id']}", headers=tenant.admin)
    assert again.status_code == 204
    assert len(await world.events_of(manager["id"])) == 1


async def test_a_revocation_recorded_by_another_replica_is_refused_within_seconds(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    manager = await world.issue(tenant.admin, role="manager", subject="manager@test")
    # Another replica revoked it: only the shared table knows.
    await world.pool.execute(
        f"INSERT INTO {world.schema}.revoked_tokens (token_id, expires_at) "
        "VALUES ($1, now() + interval '1 hour')",
        uuid.UUID(manager["id"]),
    )

    async def refused() -> bool:
        response = await world.client.get("/v1/shops", headers=bearer(manager["token"]))
        return response.status_code == 401

    await eventually(refused, within_s=10, what="revocation seen by this replica")


async def test_an_expired_token_is_refused(world: RegistersWorld) -> None:
    tenant = await world.tenant()
    short = await world.issue(tenant.admin, role="manager", subject="temp", ttl_seconds=1)
    await asyncio.sleep(2.1)
    response = await world.client.get("/v1/shops", headers=bearer(short["token"]))
    assert response.status_code == 401
    assert problem(response)["detail"] == "The token has expired; sign in again."


async def test_admin_cannot_issue_platform_admin_tokens_or_tokens_of_other_tenants(
    world: RegistersWorld,
) -> None:
    tenant = await world.tenant()
    other = await world.tenant(name="Other")
    platform = await world.client.post(
        "/v1/tokens", json={"role": "platform_admin", "subject": "me"}, headers=tenant.admin
    )
    assert platform.status_code == 403
    assert problem(platform)["detail"] == "Only a platform admin issues platform admin tokens."
    foreign = await world.client.post(
        "/v1/tokens",
        json={"role": "admin", "subject": "me", "tenant_id": str(other.id)},
        headers=tenant.admin,
    )
    assert foreign.status_code == 403
    assert "its own tenant only" in problem(foreign)["detail"]


async def test_platform_admin_token_cannot_manage_a_tenants_shops(world: RegistersWorld) -> None:
    response = await world.client.post("/v1/shops", json={"name": "X"}, headers=world.platform)
    assert response.status_code == 403
    assert "issue an admin token for that tenant" in problem(response)["detail"]


async def test_cli_issues_a_working_platform_admin_token_for_a_fresh_install(
    world: RegistersWorld, settings: RegistersSettings
) -> None:
    returncode, out, err = await _platform_admin_cli(
        settings, "--subject", "ops@example.com", "--ttl-days", "2", dev_mode=True
    )
    assert returncode == 0, err.decode()
    token = out.decode().strip()

    created = await world.client.post(
        "/v1/tenants",
        json={"name": "Fresh", "default_currency": "EUR", "default_timezone": "Europe/Rome"},
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    listed = await world.ok("GET", "/v1/tokens", bearer(token))
    assert "ops@example.com" in {item["subject"] for item in listed["items"]}


async def test_cli_refuses_to_sign_with_the_published_dev_key_outside_dev_mode(
    settings: RegistersSettings,
) -> None:
    returncode, out, err = await _platform_admin_cli(
        settings, "--subject", "ops@example.com", dev_mode=False
    )
    assert returncode != 0
    assert out == b""
    assert b"no production JWT private key is configured" in err


async def _platform_admin_cli(
    settings: RegistersSettings, *args: str, dev_mode: bool
) -> tuple[int | None, bytes, bytes]:
    """Runs `registers platform-admin-token` as an operator would, on the test's schema."""
    env = {
        **os.environ,
        "REGISTERS_DATABASE_URL": settings.database_url,
        "REGISTERS_SCHEMA_NAME": settings.schema_name,
        "REGISTERS_DEV_MODE": str(dev_mode).lower(),
        "REGISTERS_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registers",
        "platform-admin-token",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode, out, err
