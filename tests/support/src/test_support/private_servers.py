"""A PostgreSQL cluster and a RabbitMQ node of a test's own, to stop, kill and restart at will.

The shared servers on this machine carry other people's tests and must never go down, so a test
that takes a server away starts a private one: its own data directory, ports and node name, its
processes in a session of their own so that a kill reaches all of them and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

_RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
_POSTGRES_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def free_port() -> int:
    """A port nobody listens on now (the usual race is harmless for a test's own server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _wait_until(ready: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s}s")
        time.sleep(0.1)


def _kill_group(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


class PrivateRabbitMQ:
    """A single RabbitMQ node under `base_dir`; its data survives `kill()` and `start()`.

    No plugins and no settings beyond the environment's, none of the machine's, unless given:
    `plugins` (the management and Prometheus ones listen on ports of their own, on 127.0.0.1)
    and `config`, lines of rabbitmq.conf.
    """

    def __init__(self, base_dir: Path, plugins: tuple[str, ...] = (), config: str = "") -> None:
        self.base_dir = base_dir
        self.node = f"pos-test-{secrets.token_hex(4)}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.management_port = free_port()
        self.prometheus_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        for name in ("home", "mnesia", "log"):
            (base_dir / name).mkdir(exist_ok=True)
        (base_dir / "rabbitmq-env.conf").touch()
        (base_dir / "enabled_plugins").write_text(f"[{','.join(plugins)}].\n" if plugins else "")
        listeners = [
            f"{plugin}.tcp.{key} = {value}"
            for plugin, port in (
                ("management", self.management_port),
                ("prometheus", self.prometheus_port),
            )
            if f"rabbitmq_{plugin}" in plugins
            for key, value in (("port", port), ("ip", "127.0.0.1"))
        ]
        (base_dir / "rabbitmq.conf").write_text("\n".join([config, *listeners]) + "\n")

    @staticmethod
    def available() -> bool:
        return (_RABBITMQ_BIN / "rabbitmq-server").exists()

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _environment(self) -> dict[str, str]:
        base = self.base_dir
        return {
            **os.environ,
            # The Erlang cookie lives in HOME; rabbitmqctl finds the same one there.
            "HOME": str(base / "home"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def start(self, timeout_s: float = 60) -> None:
        """Starts the node (again, with the same data) and returns once it takes connections."""
        if self.running:
            return
        output = (self.base_dir / "log" / "console.log").open("ab")
        self._process = subprocess.Popen(  # noqa: S603 - fixed binary, arguments we build
            [str(_RABBITMQ_BIN / "rabbitmq-server")],
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        output.close()
        try:
            _wait_until(self._answers_amqp, timeout_s, f"RabbitMQ node {self.node} start")
        except BaseException:
            self.kill(sync_first=False)
            raise

    def _answers_amqp(self) -> bool:
        if not self.running:
            raise RuntimeError(f"RabbitMQ node {self.node} exited; see {self.base_dir}/log")
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"AMQP\x00\x00\x09\x01")
                # Connection.Start: a method frame, type 1.
                return conn.recv(1) == b"\x01"
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self, *, sync_first: bool = True) -> None:
        """Kills every process of the node at once (SIGKILL), as a crash would.

        First, unless told not to, the node writes out the tables it only saves every few
        minutes, as a node that has run a while has. Among them is the registry of quorum
        queues: a queue declared moments before a crash comes back without a leader (3.10),
        and a test of a client's recovery would fail on the broker's account.
        """
        if sync_first and self.running:
            with contextlib.suppress(subprocess.SubprocessError):
                self.ctl("eval", "[dets:sync(Table) || Table <- dets:all()].")
        _kill_group(self._process)
        self._process = None

    def stop(self) -> None:
        """Stops the node cleanly."""
        if not self.running:
            return
        self.ctl("stop")
        assert self._process is not None
        try:
            self._process.wait(timeout=30)
        finally:
            self.kill()

    def ctl(self, *arguments: str) -> str:
        """Runs `rabbitmqctl -n <node> ...` against this node and returns its output."""
        result = subprocess.run(  # noqa: S603 - fixed binary, arguments we build
            [str(_RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, "-q", *arguments],
            env=self._environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def close_all_connections(self, reason: str = "closed by a test") -> None:
        self.ctl("close_all_connections", reason)


class PrivatePostgres:
    """A PostgreSQL cluster under `base_dir` (trust authentication, user postgres)."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.port = free_port()
        self._bin = _POSTGRES_BINS[0] if _POSTGRES_BINS else Path("/nonexistent")
        self._data = base_dir / "data"
        # The server refuses to run as root; as root, its files and processes go to postgres.
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(base_dir, owner.pw_uid, owner.pw_gid)

    @staticmethod
    def available() -> bool:
        return bool(_POSTGRES_BINS) and (_POSTGRES_BINS[0] / "initdb").exists()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *arguments: str) -> None:
        command = [str(self._bin / tool), *arguments]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(  # noqa: S603 - fixed binaries, arguments we build
            command, capture_output=True, timeout=120, check=True, cwd=self.base_dir
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self._data), "-A", "trust", "-U", "postgres", "--no-sync")

    def start(self) -> None:
        """Starts the cluster (again) and returns once it accepts connections."""
        options = f"-p {self.port} -k {self.base_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log_file = str(self.base_dir / "server.log")
        self._run("pg_ctl", "-D", str(self._data), "-l", log_file, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stops the cluster: `fast` closes sessions cleanly, `immediate` is as a crash."""
        self._run("pg_ctl", "-D", str(self._data), "-m", mode, "-w", "stop")

    @property
    def running(self) -> bool:
        pid_file = self._data / "postmaster.pid"
        return pid_file.exists()


def _private_dir(kind: str) -> Path:
    # Not under pytest's tmp_path: its parent is private to root, and postgres must reach this.
    return Path(tempfile.mkdtemp(prefix=f"pos-private-{kind}-"))


@contextlib.contextmanager
def private_rabbitmq_node(
    plugins: tuple[str, ...] = (), config: str = ""
) -> Iterator[PrivateRabbitMQ]:
    """A started private RabbitMQ node; killed and removed on exit, whatever happened."""
    base = _private_dir("rabbitmq")
    server = PrivateRabbitMQ(base, plugins, config)
    try:
        server.start()
        yield server
    finally:
        server.kill(sync_first=False)
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def private_postgres_cluster() -> Iterator[PrivatePostgres]:
    """A started private PostgreSQL cluster; stopped and removed on exit, whatever happened."""
    base = _private_dir("postgres")
    server = PrivatePostgres(base)
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running:
            with contextlib.suppress(Exception):
                server.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    """A RabbitMQ node of this test module's own (it starts in 5-10 s, so modules share one)."""
    if not PrivateRabbitMQ.available():
        pytest.skip("rabbitmq-server is not installed here")
    with private_rabbitmq_node() as server:
        yield server


@pytest.fixture
def running_private_rabbitmq(private_rabbitmq: PrivateRabbitMQ) -> PrivateRabbitMQ:
    """The module's node, started again if an earlier test left it down."""
    private_rabbitmq.start()
    return private_rabbitmq


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this test module's own."""
    if not PrivatePostgres.available():
        pytest.skip("PostgreSQL server binaries are not installed here")
    with private_postgres_cluster() as server:
        yield server


@pytest.fixture
def running_private_postgres(private_postgres: PrivatePostgres) -> PrivatePostgres:
    """The module's cluster, started again if an earlier test left it down."""
    if not private_postgres.running:
        private_postgres.start()
    return private_postgres
