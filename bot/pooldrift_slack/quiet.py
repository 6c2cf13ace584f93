"""The logger handed to Bolt and slack_sdk: warnings and above only, whatever the log level.

Their debug and info lines carry request bodies, payloads and response URLs (live credentials
for posting into a channel); none of that may reach a log.
"""

from __future__ import annotations

import logging

__all__ = ["library_logger"]

_NAME = "pooldrift.slack.library"


class _WarningsOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_FILTER = _WarningsOnly()


def library_logger() -> logging.Logger:
    """Pass it as ``logger=``: Bolt copies its level and filters onto each logger it makes, and
    slack_sdk's clients skip their debug lines when its level says so."""
    logger = logging.getLogger(_NAME)
    logger.setLevel(logging.WARNING)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
