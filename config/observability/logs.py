"""One JSON object per log line, for production (``LOG_FORMAT=json``): what a log platform indexes without parsing.

A small formatter of our own rather than python-json-logger: the fields are fixed (timestamp, level, logger,
message, tenant, user id, request id, and task name and id inside a task), and twenty lines of the standard
library need no dependency to pin and follow through its renames.
"""

import json
import logging
from datetime import UTC, datetime
from typing import Any

from .context import log_context


class JsonFormatter(logging.Formatter):
    """Never the user's e-mail or name: a user is their id. Tenant is the schema name ("public" for the platform).

    Context is read when the line is formatted, which is in the thread that logged it (stream handlers write
    at once), so the tenant and request are the ones the line belongs to.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **log_context(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
