"""Chat rules: what a stored bot token shows, and what becomes of a message whose send failed."""

from __future__ import annotations

from dataclasses import dataclass


def mask_secret(secret: str) -> str:
    """Enough of a bot token to recognise it, never enough to use it."""
    if len(secret) <= 8:
        return "****"
    return f"{secret[:4]}…{secret[-4:]}"


def retry_delay_s(attempts: int, base_s: float, max_s: float) -> float:
    """Exponential back-off for a chat send that failed `attempts` times."""
    return float(min(max_s, base_s * 2 ** max(attempts - 1, 0)))


@dataclass(frozen=True)
class SendRetryPolicy:
    max_attempts: int
    base_s: float
    max_s: float


@dataclass(frozen=True)
class FailedSend:
    """A failed send's fate: given up (`retry_in_s` None) or tried again after a delay."""

    retry_in_s: float | None

    @property
    def given_up(self) -> bool:
        return self.retry_in_s is None


def after_failed_send(
    attempts: int, policy: SendRetryPolicy, retry_after_s: float | None
) -> FailedSend:
    """A chat API that asks us to wait longer than our back-off is obeyed."""
    if attempts >= policy.max_attempts:
        return FailedSend(retry_in_s=None)
    backoff = retry_delay_s(attempts, policy.base_s, policy.max_s)
    return FailedSend(retry_in_s=max(retry_after_s or 0.0, backoff))
