"""Waiting for something that happens asynchronously, without fixed sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]], within_s: float = 10, what: str = "condition"
) -> T:
    deadline = time.monotonic() + within_s
    while True:
        result = await check()
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within_s}s")
        await asyncio.sleep(0.02)
