"""One emulator per Odoo version for the whole run, reset before each test via the control API."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

# Test modules import the shared scenarios by name (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).parent))

from emulator_scenarios import VERSIONS, EmulatorUnderTest, OdooRpc

from odoo_emulator.testing import EmulatorControl, RunningEmulator, emulator_in_thread


@pytest.fixture(scope="session")
def emulators() -> Iterator[dict[int, RunningEmulator]]:
    with ExitStack() as stack:
        yield {v: stack.enter_context(emulator_in_thread(version=v)) for v in VERSIONS}


@pytest.fixture(params=VERSIONS, ids=lambda v: f"odoo{v}")
def version(request: pytest.FixtureRequest) -> int:
    value: int = request.param
    return value


@pytest.fixture
async def emu(
    emulators: dict[int, RunningEmulator], version: int
) -> AsyncIterator[EmulatorUnderTest]:
    running = emulators[version]
    control = EmulatorControl(running.control_url)
    running.come_up()
    await control.set_behaviour(
        odoo16_dedup="late", odoo18_variant="late", partner_unlink_guard=True, json2=False
    )
    await control.reset()
    seed = await control.seed("demo")
    bot = seed["users"][1]
    rpc = OdooRpc(running.url, "demo", bot["uid"], bot["api_key"], version)
    try:
        yield EmulatorUnderTest(version, running, control, rpc, seed)
    finally:
        await control.aclose()
