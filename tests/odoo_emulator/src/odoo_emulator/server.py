"""Serving the app with uvicorn on an Odoo port that can really stop accepting connections."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from collections.abc import Coroutine
from typing import Any

import uvicorn

from odoo_emulator.app import EmulatorApp


class _DroppedConnectionFilter(logging.Filter):
    """An injected connection drop returns without an answer on purpose; uvicorn need not shout."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without starting response" not in record.getMessage()


def _quiet_injected_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DroppedConnectionFilter) for f in logger.filters):
        logger.addFilter(_DroppedConnectionFilter())


def bind_socket(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets that say so,
    # and without it every keep-alive answer waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # Re-binding the same port after going down must not wait for TIME_WAIT to clear.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class EmulatorServer(uvicorn.Server):
    """uvicorn serving the Odoo port and a control port; only the Odoo port ever goes down."""

    def __init__(
        self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 0, control_port: int | None = 0
    ) -> None:
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
            loop="asyncio",
        )
        super().__init__(config)
        _quiet_injected_drops()
        self.app = app
        self.host = host
        self._odoo_socket = bind_socket(host, port)
        self.port: int = self._odoo_socket.getsockname()[1]
        self._control_socket = bind_socket(host, control_port) if control_port is not None else None
        self.control_port: int | None = (
            self._control_socket.getsockname()[1] if self._control_socket is not None else None
        )
        self._odoo_listener: asyncio.base_events.Server | None = None
        self._reopen: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        app.network = self

    @property
    def is_down(self) -> bool:
        return self._odoo_listener is None

    async def serve_both(self) -> None:
        self.loop = asyncio.get_running_loop()
        sockets = [self._odoo_socket]
        if self._control_socket is not None:
            sockets.append(self._control_socket)
        await self.serve(sockets=sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._odoo_listener = next(
            (
                s
                for s in self.servers
                if any(sock.getsockname()[1] == self.port for sock in s.sockets)
            ),
            None,
        )

    def _create_protocol(self, _loop: asyncio.AbstractEventLoop | None = None) -> asyncio.Protocol:
        # The same factory uvicorn's startup() builds, for re-opening the listener.
        protocol: asyncio.Protocol = self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config,
            server_state=self.server_state,
            app_state=self.lifespan.state,
            _loop=_loop,
        )
        return protocol

    async def go_down(self, for_seconds: float | None = None) -> None:
        """Close the Odoo listening socket and drop its open connections, like a dead server."""
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        listener, self._odoo_listener = self._odoo_listener, None
        if listener is not None:
            listener.close()
            if listener in self.servers:
                self.servers.remove(listener)
        for connection in list(self.server_state.connections):
            local = getattr(connection, "server", None)
            transport = getattr(connection, "transport", None)
            if local and local[1] == self.port and transport is not None:
                transport.abort()
        if for_seconds is not None:
            loop = asyncio.get_running_loop()
            self._reopen = loop.call_later(for_seconds, lambda: loop.create_task(self.come_up()))

    async def come_up(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        if self._odoo_listener is not None:
            return
        sock = bind_socket(self.host, self.port)
        listener = await asyncio.get_running_loop().create_server(
            self._create_protocol, sock=sock, backlog=self.config.backlog
        )
        self.servers.append(listener)
        self._odoo_listener = listener


class ServerThread:
    """An EmulatorServer on its own event loop in a daemon thread, for sync or async code."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self._thread = threading.Thread(
            target=self._run, name=f"odoo-emulator-{server.port}", daemon=True
        )
        self._failure: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve_both())
        except BaseException as exc:  # reported to the starting thread
            self._failure = exc

    def start(self, timeout: float = 10.0) -> None:
        self._thread.start()
        waited = 0.0
        while not self.server.started:
            if self._failure is not None or not self._thread.is_alive():
                raise RuntimeError("the Odoo emulator failed to start") from self._failure
            if waited > timeout:
                raise TimeoutError("the Odoo emulator did not start in time")
            threading.Event().wait(0.01)
            waited += 0.01

    def run_on_loop(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        loop = self.server.loop
        if loop is None:
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=10)

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
