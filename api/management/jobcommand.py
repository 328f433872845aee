"""The base of the cron jobs' commands: `--log`, the way cron runs them, writes log lines
(api/joblog.py) instead of plain output. Cron's lines switch it on with the environment
variable BOOKING_JOB_LOG=1 (settings.CRONTAB_COMMAND_PREFIX, deploy/crontab.example): an
argument in settings.CRONJOBS would change the hashes django-crontab names the jobs by, and
the lines installed before would run jobs that no longer exist."""

import logging
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.joblog import LogLines, job_log

# The environment variable that gives every job --log (cron's lines set it).
LOG_VARIABLE = "BOOKING_JOB_LOG"


def log_from_environment() -> bool:
    return os.environ.get(LOG_VARIABLE, "").strip().lower() in {"1", "true", "yes", "on"}


class JobCommand(BaseCommand):
    """A job's command. With --log (or BOOKING_JOB_LOG=1), each line it writes, and every
    record logged while it runs, is a line of the log with the time and the job's name; a
    run with nothing to do says so at DEBUG only (most jobs run every minute); a failure is logged, traceback and
    all, rather than raised (from the command line, the exit status is 1 still)."""

    job_logger: logging.Logger | None = None  # the job's, under --log
    from_command_line = False  # manage.py <job>, not call_command (django-crontab)

    def run_from_argv(self, argv: list[str]) -> None:
        self.from_command_line = True
        super().run_from_argv(argv)

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument(
            "--log",
            action="store_true",
            help="Write log lines, as cron runs the job: each with the time (ISO 8601, UTC) and the job's name"
            f" (also with {LOG_VARIABLE}=1 in the environment).",
        )
        return parser

    def execute(self, *args: Any, **options: Any) -> str | None:
        if not (options.get("log") or log_from_environment()):
            return super().execute(*args, **options)
        job = type(self).__module__.rpartition(".")[2]  # the command's name
        with job_log(job, options.get("stdout") or sys.stdout) as logger:
            self.job_logger = logger
            lines = {"stdout": LogLines(logger, logging.INFO), "stderr": LogLines(logger, logging.ERROR)}
            try:
                return super().execute(*args, **{**options, **lines})
            except CommandError as exc:  # the job's own verdict: no traceback
                logger.error("%s", exc)
                status = exc.returncode
            except Exception:
                logger.exception("Failed.")
                status = 1
            finally:
                self.job_logger = None
                for stream in lines.values():
                    stream.flush()
        if self.from_command_line:
            sys.exit(status)
        return None

    def idle(self, text: str) -> None:
        """A line saying that the run had nothing to do: under --log, at DEBUG."""
        if self.job_logger is not None:
            self.job_logger.debug(text)
        else:
            self.stdout.write(text)
