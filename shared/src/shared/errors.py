"""Errors a use case raises, mapped once to problem+json statuses for every service's API."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response

from shared.problems import Problem, problem_response


class DomainError(Exception):
    """A request that breaks a rule; each subclass has its HTTP status."""

    status = 400
    title = "Bad request"
    type_ = "urn:pos:problem:bad-request"

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidRequestError(DomainError):
    status, title, type_ = 422, "Invalid request", "urn:pos:problem:validation"


class ConflictError(DomainError):
    status, title, type_ = 409, "Conflict", "urn:pos:problem:conflict"


class NotFoundError(DomainError):
    """No such thing in the caller's tenant (404; existence elsewhere never leaks)."""

    status, title, type_ = 404, "Not found", "urn:pos:problem:not-found"


class ForbiddenError(DomainError):
    status, title, type_ = 403, "Forbidden", "urn:pos:problem:forbidden"


class PreconditionFailedError(DomainError):
    """An If-Match that no longer holds: someone changed the thing first."""

    status, title, type_ = 409, "Conflict", "urn:pos:problem:stale-version"


class ServiceUnavailableError(DomainError):
    """Something the request needs is missing on this deployment (503)."""

    status, title, type_ = 503, "Unavailable", "urn:pos:problem:unavailable"


def install_domain_error_handler(app: FastAPI) -> None:
    async def on_domain_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        extra = {"errors": [{"field": exc.field, "message": exc.detail}]} if exc.field else {}
        return problem_response(
            Problem(exc.status, exc.title, exc.detail, type_=exc.type_, extra=extra)
        )

    app.add_exception_handler(DomainError, on_domain_error)
