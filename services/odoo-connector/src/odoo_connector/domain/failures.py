"""Failure kinds: what the retry policy must make of an Odoo answer or a missing mapping."""

from __future__ import annotations

from odoo_connector.odoo_errors import OdooError, OdooProtocolError, UnsupportedOdooVersion
from shared.consumer import PermanentHandlingError

# Failures Odoo itself retries server-side and a client should retry later (odoo-api.md 7).
_CONCURRENCY_ERRORS = frozenset(
    {
        "psycopg2.errors.SerializationFailure",
        "psycopg2.errors.DeadlockDetected",
        "psycopg2.errors.LockNotAvailable",
        "psycopg2.extensions.TransactionRollbackError",
        "psycopg2.OperationalError",
        "odoo.exceptions.ConcurrencyError",
    }
)
# Answers whose text does not change by waiting: the message is dead-lettered at once.
_PERMANENT_PREFIXES = ("odoo.exceptions.", "builtins.")
NO_OPEN_SESSION = "No open session available"


class OdooConcurrencyFailure(Exception):  # noqa: N818 - Odoo's own name for it
    """Odoo gave up on a serialization or lock conflict: transient."""


class OdooSessionGone(Exception):  # noqa: N818
    """The Odoo session we had for the register was closed under us: open another, retry."""


class OdooRejectedCallError(PermanentHandlingError):
    """Odoo refused the call for a reason that waiting cannot cure (validation, invalid field)."""

    def __init__(self, odoo_error: str, message: str) -> None:
        super().__init__(f"{odoo_error}: {message}")
        self.odoo_error = odoo_error
        self.odoo_message = message


class OdooValidationError(OdooRejectedCallError):
    pass


class OdooInvalidFieldError(OdooRejectedCallError):
    pass


class OdooUserError(OdooRejectedCallError):
    pass


class OdooCredentialsRejected(Exception):  # noqa: N818
    """Odoo refused the stored login or key; the tenant's messages wait until it is fixed."""


class MissingProductMappingError(PermanentHandlingError):
    pass


class MissingPaymentMappingError(PermanentHandlingError):
    pass


class OrderLeftInDraftError(PermanentHandlingError):
    """Odoo accepted the order but kept it as draft (underpaid): it is not a sale in Odoo."""


class UnsupportedVersionError(PermanentHandlingError):
    pass


class RefundNotMappableError(PermanentHandlingError):
    pass


class SessionCloseRefusedError(Exception):
    """Odoo refused to close a session (a missing loss or profit account, draft orders) or
    answered with the Force Close wizard (the closing entry does not balance). Transient: what
    Odoo needs is set up in Odoo, and the close is tried again on the retry schedule."""


class TemplatePosConfigMissingError(PermanentHandlingError):
    """The tenant's Odoo has no pos.config to clone a new register from."""


class CashJournalCodesExhaustedError(PermanentHandlingError):
    """No free short code is left for a new register's cash journal."""


class PosConfigMissingError(PermanentHandlingError):
    """The register's pos.config is not in Odoo (deleted there), or it never had one."""


def classify(error: Exception) -> Exception:
    """The error as the retry policy must see it: permanent, transient, or as it is."""
    if isinstance(error, UnsupportedOdooVersion):
        return UnsupportedVersionError(str(error))
    if isinstance(error, OdooProtocolError):
        return OdooRejectedCallError("protocol", str(error))
    if not isinstance(error, OdooError):
        return error
    if error.name in _CONCURRENCY_ERRORS or error.name.startswith("psycopg2."):
        return OdooConcurrencyFailure(f"{error.name}: {error.message.strip()}")
    if error.name == "odoo.exceptions.AccessDenied":
        return OdooCredentialsRejected("Odoo refused the stored credentials (Access Denied)")
    if NO_OPEN_SESSION in error.message:
        return OdooSessionGone(error.message)
    if error.name == "odoo.exceptions.ValidationError":
        return OdooValidationError(error.name, error.message)
    if error.name == "builtins.ValueError" and "Invalid field" in error.message:
        return OdooInvalidFieldError(error.name, error.message)
    if error.name == "odoo.exceptions.UserError":
        return OdooUserError(error.name, error.message)
    if error.name.startswith(_PERMANENT_PREFIXES):
        return OdooRejectedCallError(error.name, error.message)
    return error
