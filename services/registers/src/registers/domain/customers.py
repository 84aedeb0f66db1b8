"""The customers' rules."""

from __future__ import annotations

from shared.errors import ConflictError


def customer_email_taken(email: str) -> ConflictError:
    return ConflictError(
        f"This tenant already has a customer with email {email!r} (in any case); find that "
        "customer (GET /v1/customers?search=...) instead of adding them twice.",
        field="email",
    )
