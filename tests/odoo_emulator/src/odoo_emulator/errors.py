"""Odoo's server-side exceptions, as a JSON-RPC client sees them (odoo-api.md, section 1.4)."""

from __future__ import annotations

from typing import Any

# The frames a real Odoo 16-18 traceback starts with; `debug` is free text clients only log.
_TRACEBACK_HEAD = (
    "Traceback (most recent call last):\n"
    '  File "/usr/lib/python3/dist-packages/odoo/service/model.py", line 156, in retrying\n'
    "    result = func()\n"
    '  File "/usr/lib/python3/dist-packages/odoo/service/model.py", line 135, in execute_cr\n'
    "    result = retrying(partial(odoo.api.call_kw, recs, method, args, kw), recs.env)\n"
)

# JSON-2 (odoo-api.md 1.6 and item 26): the status follows each exception's `http_status`.
_HTTP_STATUS = {
    "odoo.exceptions.UserError": 422,
    "odoo.exceptions.ValidationError": 422,
    "odoo.exceptions.RedirectWarning": 422,
    "odoo.exceptions.AccessDenied": 403,
    "odoo.exceptions.AccessError": 403,
    "odoo.exceptions.MissingError": 404,
    "werkzeug.exceptions.Unauthorized": 401,
}


class OdooError(Exception):
    """An exception that Odoo would serialise as `error.data` (name, message, arguments)."""

    def __init__(self, name: str, message: str, arguments: list[Any] | None = None) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.arguments: list[Any] = [message] if arguments is None else arguments

    @property
    def is_database_error(self) -> bool:
        """Odoo lets only psycopg2.DatabaseError escape the order validation's catch-all."""
        return self.name.startswith("psycopg2.")

    @property
    def http_status(self) -> int:
        return _HTTP_STATUS.get(self.name, 500)

    def debug(self) -> str:
        short = self.name.removeprefix("builtins.")
        return f"{_TRACEBACK_HEAD}{short}: {self.message}\n"

    def as_data(self) -> dict[str, Any]:
        """The `error.data` object of a JSON-RPC answer, and the body of a JSON-2 error."""
        return {
            "name": self.name,
            "message": self.message,
            "arguments": self.arguments,
            "context": {},
            "debug": self.debug(),
        }


def from_python_exception(exc: Exception) -> OdooError:
    """Odoo serialises a built-in exception raised by its code as `builtins.<Class>`."""
    if isinstance(exc, OdooError):
        return exc
    cls = type(exc)
    module = "builtins" if cls.__module__ == "builtins" else cls.__module__
    return OdooError(f"{module}.{cls.__name__}", str(exc), list(exc.args))


def user_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.UserError", message)


def validation_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.ValidationError", message)


def access_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.AccessError", message)


def access_denied() -> OdooError:
    return OdooError("odoo.exceptions.AccessDenied", "Access Denied")


def missing_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.MissingError", message)


def value_error(message: str) -> OdooError:
    return OdooError("builtins.ValueError", message)


def attribute_error(message: str) -> OdooError:
    return OdooError("builtins.AttributeError", message)


def type_error(message: str) -> OdooError:
    return OdooError("builtins.TypeError", message)


def serialization_failure() -> OdooError:
    message = "could not serialize access due to concurrent update\n"
    return OdooError("psycopg2.errors.SerializationFailure", message)


def invalid_field(field: str, model: str) -> OdooError:
    return value_error(f"Invalid field {field!r} on model {model!r}")
