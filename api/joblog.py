"""The cron jobs' log lines: `2026-12-06T14:40:00.123Z expire_tickets INFO Marked 12
tickets expired.` (the time in ISO 8601, UTC; the job's name; the level; the text).

Plain logging, so that what a job says (its command's output, api/management/jobcommand.py)
and what the code it runs logs (a webhook's failed attempt, a traceback) read alike.
Standard library only: settings.LOGGING names JobFormatter before the apps load.
"""

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TextIO


class JobFormatter(logging.Formatter):
    """Every line of a record, a traceback's too, as `<time> <job> <LEVEL> <text>`, so
    that each line of the log says when and which job."""

    def __init__(self, job: str) -> None:
        super().__init__()
        self.job = job

    def format(self, record: logging.LogRecord) -> str:
        at = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        head = f"{at} {self.job} {record.levelname} "
        return "\n".join(head + line for line in super().format(record).splitlines() or [""])


class LogLines(io.TextIOBase):
    """A stream each of whose lines is a record of `logger` at `level`: a command's stdout
    or stderr, as a job."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        super().__init__()
        self.logger, self.level, self.partial = logger, level, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            self.logger.log(self.level, line)
        return len(text)

    def flush(self) -> None:
        if self.partial:
            self.logger.log(self.level, self.partial)
            self.partial = ""


@contextmanager
def job_log(job: str, stream: TextIO) -> Iterator[logging.Logger]:
    """While the job runs, every record logged in this process goes to `stream` (the log:
    cron appends the job's output to CRONTAB_LOG) as the job's lines, instead of to the
    handlers configured (unstamped). The logger given is the job's own: INFO, or DEBUG when
    LOG_LEVEL is, whatever the root's level (the job's lines are its report, not noise)."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JobFormatter(job))
    root = logging.getLogger()
    configured = list(root.handlers)
    for found in configured:
        root.removeHandler(found)
    root.addHandler(handler)
    logger = logging.getLogger(f"jobs.{job}")
    logger.setLevel(logging.DEBUG if root.isEnabledFor(logging.DEBUG) else logging.INFO)
    try:
        yield logger
    finally:
        root.removeHandler(handler)
        for found in configured:
            root.addHandler(found)
