"""Where a tenant's event goes in its Odoo, and when it waits instead: rules without a database,
a broker or an Odoo (a fake login stands in for it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from odoo_connector import repository as repo
from odoo_connector.credentials import CREDENTIALS_KEY
from odoo_connector.domain import MissingPaymentMappingError, OdooCredentialsRejected
from odoo_connector.odoo_client import OdooEndpoint
from odoo_connector.odoo_destinations import OdooDestinations, payment_methods, pos_config_of
from odoo_connector.odoo_pos import OdooPos, TenantOdoo
from shared.events.contracts import PaymentState, TenantCreated
from shared.events.envelope import EventEnvelope
from shared.retry_topology import WaitForPrerequisite

BOX = CREDENTIALS_KEY.box(None, dev_mode=True)
TENANT = uuid.uuid4()


class FakeOdoo:
    """Logs in to whatever endpoint it is given, counting the logins."""

    def __init__(self) -> None:
        self.logins: list[OdooEndpoint] = []

    async def login(self, endpoint: OdooEndpoint, version: int | None) -> TenantOdoo:
        self.logins.append(endpoint)
        return TenantOdoo(endpoint, version or 17, uid=len(self.logins))

    def check_breaker(self, endpoint: OdooEndpoint) -> None:
        return None


def _destinations(odoo: FakeOdoo, predecessor_wait_max_s: float = 120.0) -> OdooDestinations:
    # No lookup these tests make reads the pool.
    return OdooDestinations(cast(Any, None), cast(OdooPos, odoo), BOX, predecessor_wait_max_s)


def _settings(updated_at: datetime, secret: str) -> repo.SettingsRow:
    return repo.SettingsRow(
        TENANT,
        "https://cafe.odoo.example",
        "cafe",
        "pos-bot",
        BOX.seal(secret).encode(),
        17,
        updated_at,
    )


def _context(
    tier: str | None,
    settings: repo.SettingsRow | None = None,
    register: repo.RegisterRow | None = None,
    payment_method_ids: dict[str, int] | None = None,
) -> repo.EventContext:
    return repo.EventContext(tier, settings, register, payment_method_ids or {})


def _payment(method: str, kind: str = "card", odoo_id: int | None = None) -> PaymentState:
    return PaymentState.model_validate(
        {
            "payment_id": uuid.uuid4(),
            "method": method,
            "kind": kind,
            "amount": 500,
            "odoo_payment_method_id": odoo_id,
        }
    )


async def test_a_starter_tenants_event_goes_nowhere() -> None:
    assert await _destinations(FakeOdoo()).tenant_odoo(TENANT, _context("starter")) is None


async def test_an_event_of_a_tenant_whose_tier_is_unknown_waits_for_it() -> None:
    with pytest.raises(WaitForPrerequisite) as waiting:
        await _destinations(FakeOdoo()).tenant_odoo(TENANT, _context(None))
    assert waiting.value.reason == "tenant_unknown"


async def test_a_pro_tenant_without_odoo_settings_waits_for_them() -> None:
    with pytest.raises(WaitForPrerequisite) as waiting:
        await _destinations(FakeOdoo()).tenant_odoo(TENANT, _context("pro"))
    assert waiting.value.reason == "odoo_settings_missing"
    assert f"PUT /v1/tenants/{TENANT}/odoo" in str(waiting.value)


async def test_a_pro_tenant_logs_in_once_with_its_opened_secret_until_its_settings_change() -> None:
    odoo = FakeOdoo()
    destinations = _destinations(odoo)
    first = _settings(datetime(2026, 1, 1, tzinfo=UTC), "s3cret")

    one = await destinations.tenant_odoo(TENANT, _context("pro", first))
    again = await destinations.tenant_odoo(TENANT, _context("pro", first))
    changed = _settings(first.updated_at + timedelta(minutes=1), "n3w")
    other = await destinations.tenant_odoo(TENANT, _context("pro", changed))

    assert one is again
    assert other is not one
    assert [endpoint.secret for endpoint in odoo.logins] == ["s3cret", "n3w"]


async def test_rejected_credentials_wait_and_log_in_anew_once_fixed() -> None:
    odoo = FakeOdoo()
    destinations = _destinations(odoo)
    settings = _settings(datetime(2026, 1, 1, tzinfo=UTC), "s3cret")
    await destinations.tenant_odoo(TENANT, _context("pro", settings))

    with pytest.raises(WaitForPrerequisite) as waiting, destinations.credentials_wait(TENANT):
        raise OdooCredentialsRejected("Access Denied")
    await destinations.tenant_odoo(TENANT, _context("pro", settings))

    assert waiting.value.reason == "odoo_credentials_rejected"
    assert len(odoo.logins) == 2


@pytest.mark.parametrize(
    ("register", "reason"),
    [
        (None, "register_unknown"),
        (
            repo.RegisterRow(uuid.uuid4(), TENANT, "pro", "pending_create", None),
            "register_not_in_odoo",
        ),
    ],
)
def test_an_event_of_a_register_not_in_odoo_waits_for_its_pos_config(
    register: repo.RegisterRow | None, reason: str
) -> None:
    context = _context("pro", _settings(datetime(2026, 1, 1, tzinfo=UTC), "s3cret"), register)
    with pytest.raises(WaitForPrerequisite) as waiting:
        pos_config_of(uuid.uuid4(), context)
    assert waiting.value.reason == reason


def test_an_event_of_a_register_in_odoo_goes_to_its_pos_config() -> None:
    register = repo.RegisterRow(uuid.uuid4(), TENANT, "pro", "synced", 12)
    assert pos_config_of(register.register_id, _context("pro", register=register)) == 12


def test_a_payment_whose_method_odoo_does_not_know_is_refused() -> None:
    context = _context("pro", payment_method_ids={"card": 7})
    with pytest.raises(MissingPaymentMappingError, match="'voucher'"):
        payment_methods(context, [_payment("card"), _payment("voucher")])


def test_a_payment_naming_its_odoo_method_needs_no_mapping() -> None:
    methods = payment_methods(_context("pro"), [_payment("voucher", odoo_id=9)])
    assert methods.method_of(_payment("voucher", odoo_id=9)) == 9


def test_the_till_float_is_no_longer_awaited_once_the_event_is_older_than_the_wait() -> None:
    destinations = _destinations(FakeOdoo(), predecessor_wait_max_s=120.0)

    def placed(ago: timedelta) -> EventEnvelope:
        return EventEnvelope.wrap(
            TenantCreated(
                tenant_id=TENANT,
                name="Cafe",
                tier="pro",
                default_currency="EUR",
                default_timezone="Europe/Paris",
            ),
            tenant_id=TENANT,
            aggregate_id=TENANT,
            aggregate_version=1,
            producer="test",
            occurred_at=datetime.now(UTC) - ago,
        )

    assert not destinations.float_wait_over(placed(timedelta(seconds=10)))
    assert destinations.float_wait_over(placed(timedelta(minutes=3)))
