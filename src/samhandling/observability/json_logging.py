"""Structured JSON logs on stderr (one object per line).

Every line written while a request is served carries its `request_id` and `client_id`
(`request_context`). Terminal colour codes never reach the JSON: uvicorn's `color_message`
extra is dropped and ANSI escape sequences are stripped from every text.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime

import orjson

from samhandling.observability.request_context import current_request

STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")


def without_colours(value: object) -> object:
    """A text without ANSI escape sequences; other values as they are. Every sequence
    begins with ESC, so a text without one is returned as it is, unsearched (each request's
    log line has half a dozen texts)."""
    if isinstance(value, str) and "\x1b" in value:
        return ANSI_ESCAPE.sub("", value)
    return value


class JsonFormatter(logging.Formatter):
    """Formats a record as JSON with its `extra` fields; never include tokens or full IDs."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": without_colours(record.getMessage()),
        }
        request = current_request()
        if request is not None:
            entry["request_id"] = request.request_id
            entry["client_id"] = request.client_id
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = without_colours(value)
        if record.exc_info:
            entry["exception"] = without_colours(self.formatException(record.exc_info))
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr at `level`. A record's caller, thread and process are not looked
    up (the logging HOWTO's "Optimization"): no line shows them, and a request's line would
    pay for them every time."""
    logging._srcfile = None  # no caller frame walk
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
