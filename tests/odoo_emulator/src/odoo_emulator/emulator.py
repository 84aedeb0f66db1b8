"""The emulator's whole state: databases, version behaviour, injected faults and the call log."""

from __future__ import annotations

import copy
import itertools
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from odoo_emulator.behaviour import Behaviour
from odoo_emulator.errors import OdooError, from_python_exception
from odoo_emulator.faults import FaultPlan
from odoo_emulator.models import ALL_MODELS
from odoo_emulator.models.pos_session import pos_sessions
from odoo_emulator.orm import Env, now_string
from odoo_emulator.registry import Registry
from odoo_emulator.rpc import RpcServices
from odoo_emulator.seed import seed_database
from odoo_emulator.store import Database

SUPERUSER_ID = 1


@dataclass
class CallOutcome:
    """What one RPC call produced: a result, or the Odoo error to serialise."""

    result: Any = None
    error: OdooError | None = None
    entry: dict[str, Any] = field(default_factory=dict)


class CallLog:
    """Every Odoo call, newest last; bounded so that long benchmarks do not grow it forever."""

    def __init__(self, max_entries: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=max_entries or None)
        self._enabled = max_entries > 0
        self._sequence = itertools.count(1)

    @property
    def enabled(self) -> bool:
        return self._enabled

    def resize(self, max_entries: int) -> None:
        self._entries = deque(self._entries, maxlen=max_entries or None)
        self._enabled = max_entries > 0
        if not self._enabled:
            self._entries.clear()

    def append(self, entry: dict[str, Any]) -> None:
        entry["seq"] = next(self._sequence)
        if self._enabled:
            self._entries.append(entry)

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        return [e for e in self._entries if e["seq"] > since]

    def clear(self) -> None:
        self._entries.clear()


class Emulator:
    """One emulated Odoo server: one version, any number of databases."""

    def __init__(
        self,
        behaviour: Behaviour | None = None,
        databases: Iterable[str] = ("demo",),
        call_log_size: int = 10_000,
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.registry = Registry(self.behaviour.version, list(ALL_MODELS))
        self.databases: dict[str, Database] = {}
        self.seeds: dict[str, dict[str, Any]] = {}
        self.faults = FaultPlan()
        self.call_log = CallLog(call_log_size)
        self.services = RpcServices(self)
        self._initial_databases = list(databases)
        for name in self._initial_databases:
            self.create_database(name)

    # ------------------------------------------------------------------ databases and users

    def create_database(self, name: str, seed: bool = True) -> dict[str, Any]:
        if not name or not isinstance(name, str):
            raise ValueError("a database needs a name")
        if name in self.databases:
            raise ValueError(f"database {name!r} already exists")
        database = Database(name, self.registry.indexed_columns)
        self.databases[name] = database
        summary: dict[str, Any] = {"database": name}
        if seed:
            summary = seed_database(self.superuser_env(name))
        self.seeds[name] = summary
        return summary

    def drop_database(self, name: str) -> None:
        self.databases.pop(name)
        self.seeds.pop(name, None)

    def superuser_env(self, database: str) -> Env:
        return Env(self.registry, self.databases[database], SUPERUSER_ID, {}, self.behaviour)

    def add_user(
        self,
        database: str,
        login: str,
        password: str | None = None,
        api_key: str | None = None,
        name: str | None = None,
    ) -> int:
        env = self.superuser_env(database)
        partner = env["res.partner"].create_records([{"name": name or login}])[0]
        uid = env["res.users"].create_records(
            [{"name": name or login, "login": login, "partner_id": partner}]
        )[0]
        credentials = env.db.credentials
        if password:
            credentials.passwords[uid] = password
        if api_key:
            credentials.api_keys[api_key] = uid
        return uid

    def reset(self) -> None:
        """Back to the state at start: seeded databases, no faults, an empty call log."""
        self.registry = Registry(self.behaviour.version, list(ALL_MODELS))
        self.databases.clear()
        self.seeds.clear()
        for name in self._initial_databases:
            self.create_database(name)
        self.faults.clear()
        self.call_log.clear()

    def set_behaviour(self, changes: dict[str, Any]) -> Behaviour:
        new = self.behaviour.updated(changes)
        version_changed = new.version != self.behaviour.version
        self.behaviour = new
        if version_changed:
            self.reset()
        return new

    def records(
        self,
        database: str,
        model: str,
        domain: list[Any] | None = None,
        fields: list[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Every matching record, archived ones included, relations as bare ids."""
        env = self.superuser_env(database).with_context(active_test=False)
        instance = env[model]
        ids = instance.search_ids(domain or [], order="id")
        return instance.read_records(ids, fields, load=None)

    def session_books(self, database: str, session_id: int) -> dict[str, Any]:
        """What a session booked, or before it closes what its close would book."""
        # Read as an RPC call reads: a line's archived taxes are left out as at closing.
        return pos_sessions(self.superuser_env(database)).books(session_id)

    # ------------------------------------------------------------------ calls

    def call(self, service: Any, method: Any, args: Any) -> CallOutcome:
        """Run one RPC call and log it with its arguments as sent and its result."""
        started = time.perf_counter()
        logged_args = copy.deepcopy(args) if self.call_log.enabled else None
        logs: list[str] = []
        outcome = CallOutcome()
        try:
            outcome.result = self.services.dispatch(service, method, args, logs)
        except Exception as exc:  # every failure becomes an Odoo error answer, as in Odoo
            outcome.error = from_python_exception(exc)
        outcome.entry = self._log_entry(service, method, logged_args, outcome, logs, started)
        self.call_log.append(outcome.entry)
        return outcome

    def log_fault(self, service: Any, method: Any, args: Any, kind: str) -> dict[str, Any]:
        entry = self._log_entry(
            service, method, copy.deepcopy(args), CallOutcome(), [], time.perf_counter()
        )
        entry["outcome"] = "fault"
        entry["fault"] = kind
        self.call_log.append(entry)
        return entry

    @staticmethod
    def _log_entry(
        service: Any,
        method: Any,
        args: Any,
        outcome: CallOutcome,
        logs: list[str],
        started: float,
    ) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "at": now_string(),
            "service": service,
            "method": method,
            "database": None,
            "uid": None,
            "model": None,
            "model_method": None,
            "args": args,
            "kwargs": None,
            "outcome": "error" if outcome.error else "ok",
            "result": outcome.result,
            "error": None,
            "server_log": logs,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        }
        if service in ("object", "common") and isinstance(args, list) and len(args) > 2:
            # The call log is readable by tests and tools; the password or API key stays out.
            args = [*args[:2], "********", *args[3:]]
            entry["args"] = args
        if isinstance(args, list) and args:
            entry["database"] = args[0] if isinstance(args[0], str) else None
        if service == "object" and isinstance(args, list) and len(args) >= 5:
            entry["uid"] = args[1]
            entry["model"] = args[3]
            entry["model_method"] = args[4]
            entry["args"] = args[5] if len(args) > 5 and method == "execute_kw" else args[5:]
            entry["kwargs"] = args[6] if len(args) > 6 and method == "execute_kw" else None
        if outcome.error is not None:
            entry["error"] = {"name": outcome.error.name, "message": outcome.error.message}
        return entry
