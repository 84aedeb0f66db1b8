"""Reporting service settings, read from REPORTING_* environment variables."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.secret_box import KeySetting
from shared.settings import ServiceSettings

SECRETS_KEY = KeySetting(
    "REPORTING_", "SECRETS_KEY", dev_key="ZGV2LW9ubHktcmVwb3J0aW5nLWtleS1ub3Qtc2VjcmU="
)


class ReportingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTING_", extra="ignore", frozen=True)

    http_port: int = 8003
    schema_name: str = "reporting"
    # Fernet keys of the chat bot tokens, comma-separated: the first seals, every one opens
    # (README, "Rotating the secret keys"). The published dev key is refused first outside dev
    # mode.
    secrets_key: SecretStr | None = None
    telegram_api_base: str = "https://api.telegram.org"
    telegram_timeout_s: float = Field(default=10.0, gt=0)
    # How often each replica looks for due daily reports and pending sends.
    notifier_interval_s: float = Field(default=15.0, gt=0)
    notify_retry_base_s: float = Field(default=5.0, gt=0)
    notify_retry_max_s: float = Field(default=900.0, gt=0)
    notify_max_attempts: int = Field(default=10, ge=1)
    # Whether this process projects events into the read models. Replicas that only serve
    # reports set it false, so no report waits behind a batch in the same event loop; at least
    # one process per deployment projects (README, "How far the reports trail the tills").
    projector_enabled: bool = True
    # The projector commits up to this many events per transaction, waiting at most this long
    # for a batch to fill (its consumer's prefetch is raised to twice the batch).
    projector_batch_max_events: int = Field(default=100, ge=1, le=1000)
    projector_batch_window_ms: float = Field(default=10.0, ge=0, le=1000)
    # Where Telegram reaches this service from the internet, such as https://pos.example.com:
    # connecting a tenant's chat commands (POST /v1/chat/webhook) registers <this>/v1/telegram/…
    public_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    # When a tenant has no chat set up, report.daily_ready still goes out at this local time.
    default_daily_report_time: str = Field(default="06:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
