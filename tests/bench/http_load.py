"""A lean HTTP/1.1 load generator: keep-alive connections, one request in flight on each.

A general-purpose client spends about as much CPU per request as the service under test (httpx
took 1.3-1.5 ms a request here), and on a 2-core machine that CPU is taken from the service. This
one sends request bytes serialised once, with only the ids patched in place per request, over an
asyncio protocol that reads a response by its Content-Length, and reports its own CPU so a reader
can check it stays small beside the service's.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ID_LENGTH = 36  # a UUID in its canonical text form


def placeholder_id(index: int) -> str:
    """An id no real request holds, marking where the index-th fresh id goes in a template."""
    return str(uuid.UUID(int=(0xBE7C << 112) | index))


@dataclass(frozen=True)
class RequestTemplate:
    """A request serialised once; `render` patches a fresh UUID into each id slot."""

    head: bytes
    body: bytes
    id_offsets: tuple[int, ...]

    @classmethod
    def post_json(
        cls, url: str, path: str, body: bytes, headers: dict[str, str], ids: int
    ) -> RequestTemplate:
        """A POST of `body`, whose ids are `placeholder_id(0)` … `placeholder_id(ids - 1)`."""
        offsets = []
        for index in range(ids):
            marker = placeholder_id(index).encode()
            offset = body.find(marker)
            if offset < 0 or body.find(marker, offset + 1) >= 0:
                raise ValueError(f"the body must hold placeholder id {index} exactly once")
            offsets.append(offset)
        host = urlsplit(url).netloc
        lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode()
        return cls(head=head, body=body, id_offsets=tuple(offsets))

    def render(self) -> bytes:
        body = bytearray(self.body)
        for offset in self.id_offsets:
            body[offset : offset + ID_LENGTH] = str(uuid.uuid4()).encode()
        return self.head + body


class _Exchange(asyncio.Protocol):
    """One keep-alive connection: writes a request, completes when the response is in."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None:
            return
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self._buffer[:end]).lower()
        length = _content_length(head)
        total = end + 4 + length
        if len(self._buffer) < total:
            return
        status = int(head[9:12])
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        waiter, self._waiter = self._waiter, None
        waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError(f"the server closed the connection: {exc}"))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


def _content_length(lowered_head: bytes) -> int:
    start = lowered_head.find(b"\r\ncontent-length:")
    if start < 0:
        raise ValueError(
            "a response came without Content-Length; this client reads no chunked bodies: "
            + lowered_head.decode(errors="replace")
        )
    start += len(b"\r\ncontent-length:")
    stop = lowered_head.find(b"\r\n", start)
    return int(lowered_head[start : stop if stop >= 0 else None])


# How many of the units a request carries (orders, say) its answer accepted.
Accepted = Callable[[int, bytes], int]


@dataclass
class LoadResult:
    requests: int = 0
    accepted: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    generator_cpu_s: float = 0.0
    # The first answer that was not a success, to say why when nothing was accepted.
    first_failure: tuple[int, bytes] | None = None

    def latency_ms(self, fraction: float) -> float:
        if not self.latencies_s:
            return 0.0
        if fraction == 0.5:
            return statistics.median(self.latencies_s) * 1000
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


async def load(
    url: str, templates: Sequence[RequestTemplate], duration_s: float, accepted: Accepted
) -> LoadResult:
    """One connection per template, each sending its template's requests back to back until
    `duration_s` has passed; every request sent is answered before this returns."""
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    connections = []
    for _ in templates:
        _, protocol = await loop.create_connection(_Exchange, host, port)
        connections.append(protocol)
    result = LoadResult()

    async def drive(connection: _Exchange, template: RequestTemplate, deadline: float) -> None:
        while time.perf_counter() < deadline:
            request = template.render()
            started = time.perf_counter()
            status, body = await connection.send(request)
            result.latencies_s.append(time.perf_counter() - started)
            result.statuses[status] += 1
            result.accepted += accepted(status, body)
            if status >= 400 and result.first_failure is None:
                result.first_failure = (status, body[:500])

    cpu_before, wall_before = time.process_time(), time.perf_counter()
    try:
        await asyncio.gather(
            *(
                drive(connection, template, wall_before + duration_s)
                for connection, template in zip(connections, templates, strict=True)
            )
        )
    finally:
        for connection in connections:
            connection.close()
    result.wall_s = time.perf_counter() - wall_before
    result.generator_cpu_s = time.process_time() - cpu_before
    result.requests = len(result.latencies_s)
    return result
