"""Reporting's use cases, one module per read side: projection, reports, chat settings.

api.py, consumer.py, notifications.py and bootstrap.py import them from here.
"""

from reporting.events import PRODUCER
from reporting.handlers.chat_commands import ChatCommands
from reporting.handlers.chat_settings import ChatSettings
from reporting.handlers.projection import Projector, rebuild
from reporting.handlers.reports import ReportQueries

__all__ = ["PRODUCER", "ChatCommands", "ChatSettings", "Projector", "ReportQueries", "rebuild"]
