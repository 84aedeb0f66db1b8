"""Reporting's SQL, beside the code that runs it, one module per read model; rows are frozen."""

from reporting.repository.event_log import READ_MODEL_TABLES

__all__ = ["READ_MODEL_TABLES"]
