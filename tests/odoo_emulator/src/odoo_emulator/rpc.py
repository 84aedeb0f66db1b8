"""Odoo's RPC services (`common`, `object`, `db`) as `dispatch_rpc` runs them (1.2, 1.3)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from odoo_emulator.errors import (
    OdooError,
    access_denied,
    access_error,
    attribute_error,
    user_error,
)
from odoo_emulator.orm import Env

if TYPE_CHECKING:
    from odoo_emulator.emulator import Emulator
    from odoo_emulator.store import Database


def _unknown_database(name: Any) -> OdooError:
    return OdooError(
        "psycopg2.OperationalError",
        f'connection to server at "localhost" (127.0.0.1), port 5432 failed: '
        f'FATAL:  database "{name}" does not exist\n',
    )


class RpcServices:
    """The three services behind POST /jsonrpc; errors propagate as exceptions to serialise."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def dispatch(self, service: Any, method: Any, args: Any, logs: list[str]) -> Any:
        services: dict[str, Callable[[Any, list[Any], list[str]], Any]] = {
            "common": self._common,
            "db": self._db,
            "object": self._object,
        }
        if service not in services:
            raise KeyError(service)
        params = list(args) if isinstance(args, list | tuple) else args
        return services[service](method, params, logs)

    # ------------------------------------------------------------------ common

    def _common(self, method: Any, params: list[Any], logs: list[str]) -> Any:
        handlers: dict[str, Callable[..., Any]] = {
            "version": self.exp_version,
            "login": self.exp_login,
            "authenticate": self.exp_authenticate,
            "about": self.exp_about,
        }
        handler = handlers.get(method)
        if handler is None:
            raise Exception(f"Method not found: {method}")
        return handler(*params)

    def exp_version(self) -> dict[str, Any]:
        major = self.emulator.behaviour.version
        return {
            "server_version": f"{major}.0",
            "server_version_info": [major, 0, 0, "final", 0, ""],
            "server_serie": f"{major}.0",
            "protocol_version": 1,
        }

    def exp_about(self, extended: bool = False) -> Any:
        info = "See http://openerp.com"
        if extended:
            return [info, f"{self.emulator.behaviour.version}.0"]
        return info

    def exp_login(self, db: Any, login: Any, password: Any) -> int | bool:
        return self.exp_authenticate(db, login, password, None)

    def exp_authenticate(
        self, db: Any, login: Any, password: Any, user_agent_env: Any
    ) -> int | bool:
        database = self._database(db)
        users = database.table("res.users")
        for uid, row in users.rows.items():
            if row.get("login") == login and row.get("active", True):
                # A wrong password is AccessDenied inside Odoo, caught and answered as false.
                return uid if database.credentials.accepts(uid, password) else False
        return False

    # ------------------------------------------------------------------ db

    def _db(self, method: Any, params: list[Any], logs: list[str]) -> Any:
        if method == "list":
            return sorted(self.emulator.databases)
        if method == "server_version":
            return self.emulator.behaviour.server_version
        if method == "db_exist":
            return params[0] in self.emulator.databases
        raise KeyError(f"exp_{method}")

    # ------------------------------------------------------------------ object

    def _database(self, name: Any) -> Database:
        database = self.emulator.databases.get(name) if isinstance(name, str) else None
        if database is None:
            raise _unknown_database(name)
        return database

    def check_credentials(self, db: Any, uid: int, password: Any) -> Database:
        """security.check: every object call re-checks the uid and the password or API key."""
        database = self._database(db)
        user = database.table("res.users").get(uid)
        if user is None or not user.get("active", True):
            raise access_denied()
        if not database.credentials.accepts(uid, password):
            raise access_denied()
        return database

    def _object(self, method: Any, params: list[Any], logs: list[str]) -> Any:
        db, uid, password = params[0], int(params[1]), params[2]
        database = self.check_credentials(db, uid, password)
        if method == "execute":
            return self.execute_kw(database, uid, [params[3], params[4], list(params[5:])], logs)
        if method == "execute_kw":
            return self.execute_kw(database, uid, list(params[3:]), logs)
        raise NameError(f"Method not available {method}")

    def execute_kw(self, database: Database, uid: int, call: list[Any], logs: list[str]) -> Any:
        """Run one model method in one transaction: all of it commits, or none of it."""
        if len(call) < 3:
            names = ["obj", "method", "args"][len(call) :]
            quoted = " and ".join(repr(n) for n in names)
            plural = "s" if len(names) > 1 else ""
            raise TypeError(
                f"execute_kw() missing {len(names)} required positional argument{plural}: {quoted}"
            )
        if len(call) > 4:
            raise TypeError(
                "execute_kw() takes from 5 to 6 positional arguments "
                f"but {len(call) + 2} were given"
            )
        model, method, args = call[0], call[1], call[2]
        kw = call[3] if len(call) > 3 else None
        if not isinstance(method, str) or method.startswith("_") or method == "init":
            raise access_error(f"Private methods (such as {method}) cannot be called remotely.")
        registry = self.emulator.registry
        if not isinstance(model, str) or not registry.has_model(model):
            raise user_error(f"Object {model} doesn't exist")
        kwargs = dict(kw or {})
        context = kwargs.pop("context", None) or {}
        env = Env(registry, database, uid, dict(context), self.emulator.behaviour, logs)
        instance = env[model]
        function = self._public_method(instance, model, method)
        positional = list(args or [])
        if function._rpc_api == "records":
            # Record methods take the ids as their first positional argument.
            ids, positional = positional[0], positional[1:]
            call_args: list[Any] = [ids, *positional]
        else:
            call_args = positional
        bound = getattr(instance, method)
        try:
            inspect.signature(bound).bind(*call_args, **kwargs)
        except TypeError:
            try:
                bound(*call_args, **kwargs)  # fails while binding, with Python's own message
            except TypeError as exc:
                # Generic methods live on Odoo's BaseModel; the message names it so.
                message = str(exc)
                if message.startswith("Model."):
                    message = "Base" + message
                raise TypeError(message) from None
            raise
        try:
            with database.transaction():
                return bound(*call_args, **kwargs)
        finally:
            # Models point back at their env: break the cycle so memory is freed without the GC.
            env.release()

    def _public_method(self, instance: Any, model: str, method: str) -> Any:
        function = getattr(type(instance), method, None)
        api = getattr(function, "_rpc_api", None)
        versions = getattr(function, "_rpc_versions", None)
        version = self.emulator.behaviour.version
        if api is None or (versions is not None and version not in versions):
            if version == 16:
                raise attribute_error(f"type object {model!r} has no attribute {method!r}")
            raise attribute_error(f"The method {method!r} does not exist on the model {model!r}")
        return function
