"""An upgrade keeps the crontab's lines working: django-crontab names each job in the
crontab by a hash of its CRONJOBS entry (`crontab run <hash>`), so a changed entry (an
argument added, `--log`) left every installed line failing each minute with "No job with
hash ... found", and `crontab add` itself failing while it removed them (it looks their
hashes up to print them). The jobs' log format is switched on by the lines' prefix,
BOOKING_JOB_LOG=1 (settings.CRONTAB_COMMAND_PREFIX), not by their entries.

Through a stand-in for the crontab program (a file), not the user's crontab: the real one
is test_crontab.py's.
"""

import re
import stat
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django_crontab.crontab import Crontab

from api.tests.crontab_helpers import STAMP, database_url, job_lines, run_as_cron

# settings.CRONJOBS as it was before the jobs' log lines (51ffb56), and as the crontabs of
# hosts set up then still name them.
INSTALLED_CRONJOBS = [
    ("*/5 * * * *", "django.core.management.call_command", ["expire_tickets"]),
    ("*/10 * * * *", "django.core.management.call_command", ["purge_expired_tickets"]),
    ("* * * * *", "django.core.management.call_command", ["offer_waitlist_seats"]),
    ("* * * * *", "django.core.management.call_command", ["deliver_webhooks"]),
]
JOBS = ["expire_tickets", "purge_expired_tickets", "offer_waitlist_seats", "deliver_webhooks"]


def job_hash(job: tuple) -> str:
    """django-crontab's name for a job in the crontab, by its own function."""
    return Crontab()._Crontab__hash_job(job)


def test_the_jobs_keep_the_hashes_the_installed_crontabs_name_them_by():
    assert [job_hash(job) for job in settings.CRONJOBS] == [job_hash(job) for job in INSTALLED_CRONJOBS]


@pytest.fixture
def stand_in_crontab(tmp_path, settings) -> Path:
    """settings.CRONTAB_EXECUTABLE: a program that, like crontab, lists (`-l`) or installs
    (a file's path) the user's crontab, kept in the file it returns."""
    table = tmp_path / "crontab"
    table.write_text("# a line of someone else's\n")
    program = tmp_path / "stand-in-crontab"
    program.write_text(f'#!/bin/sh\nif [ "$1" = -l ]; then cat {table}; else cp "$1" {table}; fi\n')
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    settings.CRONTAB_EXECUTABLE = str(program)
    return table


@pytest.mark.django_db(transaction=True)  # the jobs run in other processes: data must be committed
def test_crontab_add_over_the_lines_installed_before_the_upgrade(stand_in_crontab, tmp_path, settings, capsys):
    log = tmp_path / "cron.log"
    settings.CRONTAB_COMMAND_SUFFIX = f">> {log} 2>&1"
    # A host set up before the upgrade: its lines, as `crontab add` wrote them then.
    upgraded = settings.CRONJOBS
    settings.CRONJOBS, settings.CRONTAB_COMMAND_PREFIX = INSTALLED_CRONJOBS, ""
    call_command("crontab", "add")
    installed = job_lines(stand_in_crontab.read_text())
    settings.CRONJOBS, settings.CRONTAB_COMMAND_PREFIX = upgraded, "BOOKING_JOB_LOG=1"

    # The lines installed before run the upgrade's jobs, as they are: with plain lines.
    done = run_as_cron(installed[0], database_url(), tmp_path)
    assert (done.returncode, log.read_text()) == (0, "Marked 0 tickets expired.\n")
    log.unlink()

    capsys.readouterr()
    call_command("crontab", "add")  # at the default verbosity: it names each line it removes
    out = capsys.readouterr().out
    assert out.count("removing cronjob: ") == 4 and out.count("adding cronjob: ") == 4

    table = stand_in_crontab.read_text()
    assert table.startswith("# a line of someone else's\n")
    lines = job_lines(table)
    hashes = [re.search(r" crontab run ([0-9a-f]{32}) ", line).group(1) for line in lines]  # type: ignore[union-attr]
    assert hashes == [job_hash(job) for job in INSTALLED_CRONJOBS]
    assert all(re.match(r"\S+ \* \* \* \* BOOKING_JOB_LOG=1 ", line) for line in lines), lines
    # Each of the four lines runs its job, as cron would, with the log's lines: at
    # LOG_LEVEL=DEBUG a run with nothing to do writes its line, at DEBUG.
    for job, line in zip(JOBS, lines, strict=True):
        done = run_as_cron(line, database_url(), tmp_path, LOG_LEVEL="DEBUG")
        assert done.returncode == 0
        # (At DEBUG, django-axes says "AXES: BEGIN ..." first, as the process starts.)
        assert re.search(rf"^{STAMP} {job} DEBUG [^\n]+\n\Z", log.read_text(), re.MULTILINE), log.read_text()
        log.unlink()
