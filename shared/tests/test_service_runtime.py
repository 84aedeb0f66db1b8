"""The lifespan every service is built with: its backbone, what the service wires in, app state,
and a teardown that closes the service's own clients only once its consumers have stopped."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from shared.broker import QueueSpec
from shared.http_service import service_readiness
from shared.revocation import TOKEN_EVENTS, revocation_handlers
from shared.service_runtime import Backbone, migrated_pool, service_lifespan
from shared.settings import ServiceSettings

PROBE = "lifespan_probe"


@pytest.fixture
def probe_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A service package of its own: one migration that leaves a table behind."""
    package = tmp_path / PROBE
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "migrations" / "0001_probe.sql").write_text("CREATE TABLE probe (id int);")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield PROBE
    # The next test's probe is in another folder.
    sys.modules.pop(PROBE, None)


@pytest.fixture
def settings(database_url: str, amqp_url: str, broker_namespace: str) -> ServiceSettings:
    return ServiceSettings(
        database_url=database_url,
        amqp_url=amqp_url,
        broker_namespace=broker_namespace,
        dev_mode=True,
        log_json=False,
    )


async def test_the_lifespan_serves_what_the_service_wired_and_closes_it_after_its_consumers(
    settings: ServiceSettings, probe_package: str, schema: str
) -> None:
    seen_at_close: list[tuple[str, bool, int]] = []

    def wire(backbone: Backbone) -> dict[str, object]:
        backbone.consume("probe.tokens", revocation_handlers(backbone.verifier))
        consumer = backbone.consumers[0]

        def closer(name: str) -> Callable[[], Awaitable[None]]:
            async def close() -> None:
                # The pool still answers: a client may flush through it as it closes.
                answer = await backbone.pool.fetchval("SELECT 1")
                seen_at_close.append((name, consumer.consuming, answer))

            return close

        backbone.close_on_stop(closer("opened first"))
        backbone.close_on_stop(closer("opened last"))
        return {"probe_client": "wired"}

    lifespan = service_lifespan(
        settings,
        wire,
        package=probe_package,
        schema=schema,
        producer="probe",
        queues=(QueueSpec(settings.broker_name("probe.tokens"), TOKEN_EVENTS, 5),),
    )
    app = FastAPI()
    async with lifespan(app):
        await asyncio.wait_for(app.state.consumers_attached.wait(), 30)
        assert app.state.probe_client == "wired"
        assert app.state.token_verifier is not None
        assert [c.queue.name for c in app.state.consumers] == [settings.broker_name("probe.tokens")]
        assert await service_readiness(app) is None
        assert await app.state.pool.fetchval("SELECT count(*) FROM probe") == 0

    assert seen_at_close == [("opened last", False, 1), ("opened first", False, 1)]


async def test_a_command_beside_the_service_gets_a_migrated_pool_that_closes_with_the_block(
    settings: ServiceSettings, probe_package: str, schema: str
) -> None:
    async with migrated_pool(
        settings, package=probe_package, schema=schema, producer="probe-cli", max_size=1
    ) as pool:
        assert await pool.fetchval("SELECT count(*) FROM probe") == 0
    assert pool.is_closing()
