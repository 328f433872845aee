"""The cron jobs through django-crontab and the real `crontab` binary (Debian's `cron`).

`manage.py crontab add` writes the user's crontab, so the test saves the crontab it
found and puts it back at the end, whatever happens. A job line is then run the way cron
runs it: through /bin/sh, with cron's bare environment plus the variables a deployment
keeps in its .env file, here pointing at the test database.
"""

import fcntl
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_crontab.app_settings import Settings as CrontabSettings

from api.models import Booking, Customer, Show, Ticket
from api.tests.crontab_helpers import STAMP, database_url, job_lines, run_as_cron

FOUND_CRONTAB = shutil.which("crontab")
CRONTAB = FOUND_CRONTAB or "crontab"  # only used when found: the tests are skipped otherwise

pytestmark = [
    pytest.mark.crontab,
    pytest.mark.skipif(FOUND_CRONTAB is None, reason="needs the crontab binary: apt-get install cron"),
    pytest.mark.django_db(transaction=True),  # the job runs in another process: data must be committed
]

OTHER_LINE = "# a line of someone else's, which the jobs must leave alone\n"
# The jobs in CRONJOBS' order, as `crontab show` lists them.
SCHEDULES = [
    "('*/5 * * * *', 'django.core.management.call_command', ['expire_tickets'])",
    "('*/10 * * * *', 'django.core.management.call_command', ['purge_expired_tickets'])",
    "('* * * * *', 'django.core.management.call_command', ['offer_waitlist_seats'])",
    "('* * * * *', 'django.core.management.call_command', ['deliver_webhooks'])",
]


def read_crontab() -> str:
    found = subprocess.run([CRONTAB, "-l"], capture_output=True, text=True)
    return found.stdout if found.returncode == 0 else ""  # 1: "no crontab for <user>"


def write_crontab(text: str) -> None:
    subprocess.run([CRONTAB, "-"], input=text, text=True, check=True)


@pytest.fixture
def user_crontab() -> Iterator[str]:
    """The crontab found, without jobs of this service, plus OTHER_LINE; restored after.

    The crontab belongs to the user, not to the test run: a file lock makes test runs
    started at the same time on this machine take turns.
    """
    with open(Path(tempfile.gettempdir()) / "booking-crontab-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = subprocess.run([CRONTAB, "-l"], capture_output=True, text=True)
        comment = CrontabSettings(settings).CRONTAB_COMMENT
        start = "".join(line for line in found.stdout.splitlines(keepends=True) if not line.endswith(f"# {comment}\n"))
        write_crontab(start + OTHER_LINE)
        try:
            yield start + OTHER_LINE
        finally:
            if found.returncode == 0:
                write_crontab(found.stdout)
            else:
                subprocess.run([CRONTAB, "-r"], capture_output=True)


def expired_show_with_tickets() -> Show:
    show = Show.objects.create(title="Last night", starts_at=timezone.now() - timedelta(hours=9))
    customer = Customer.objects.create(name="Ada Lovelace", phone_number="+914155550101")
    booking = Booking.objects.create(reference="CRON42", customer=customer)
    Ticket.objects.bulk_create(
        [Ticket(booking=booking, holder=customer, show=show, seat=seat) for seat in ("A1", "A2")]
    )
    return show


def test_crontab_add_show_run_remove(user_crontab, tmp_path, settings, capsys, monkeypatch):
    log = tmp_path / "cron.log"
    settings.CRONTAB_COMMAND_SUFFIX = f">> {log} 2>&1"
    expired_show_with_tickets()

    call_command("crontab", "add")
    call_command("crontab", "add")  # again: replaces its jobs, never doubles them
    crontab = read_crontab()
    jobs = job_lines(crontab)
    manage = Path(settings.BASE_DIR) / "manage.py"
    pattern = re.compile(
        rf"^(\*/5|\*/10|\*) \* \* \* \* BOOKING_JOB_LOG=1 {re.escape(sys.executable)} {re.escape(str(manage))} "
        rf"crontab run ([0-9a-f]{{32}}) "
        rf">> {re.escape(str(log))} 2>&1 # {re.escape(CrontabSettings(settings).CRONTAB_COMMENT)}$"
    )
    matches = [match for job in jobs if (match := pattern.match(job))]
    assert len(matches) == len(jobs), jobs
    assert [match.group(1) for match in matches] == ["*/5", "*/10", "*", "*"]
    assert crontab.startswith(user_crontab)  # the lines found are kept
    hashes = [match.group(2) for match in matches]

    capsys.readouterr()
    call_command("crontab", "show")
    # Each line's job, found by its hash. (django-crontab prints the command's fifth word
    # where the hash belongs: with BOOKING_JOB_LOG=1 before the command, `run`, its issue #90.)
    shown = capsys.readouterr().out.splitlines()
    assert shown[0] == "Currently active jobs in crontab:"
    assert [line.partition(" -> ")[2] for line in shown[1:]] == SCHEDULES

    # The expire job, exactly as cron would start it: its output goes to the log, each line
    # with the time and the job's name (it was the bare text, without either).
    done = run_as_cron(jobs[0], database_url(), tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    expired = rf"{STAMP} expire_tickets INFO Marked 2 tickets expired\.\n"
    assert re.fullmatch(expired, log.read_text())
    assert list(Ticket.objects.values_list("expired", flat=True)) == [True, True]
    # The waiting lists' offer job, the same way: no list waits, nothing to offer, and it
    # says nothing (it wrote "Made 0 offers of 0 seats; ..." every minute).
    done = run_as_cron(jobs[2], database_url(), tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert re.fullmatch(expired, log.read_text())

    # The purge job in this process: what `crontab run <hash>` does inside cron's process,
    # whose line sets BOOKING_JOB_LOG=1.
    monkeypatch.setenv("BOOKING_JOB_LOG", "1")
    call_command("crontab", "run", hashes[1])
    assert re.fullmatch(
        rf"{STAMP} purge_expired_tickets INFO Deleted 2 expired tickets, 1 bookings, 1 customers, 0 holds and 0"
        r" idempotency keys\.\n",
        capsys.readouterr().out,
    )
    assert not Ticket.objects.exists() and not Customer.objects.exists()

    call_command("crontab", "remove")
    assert read_crontab() == user_crontab


def test_a_failing_job_logs_its_error_and_cron_sees_exit_0(user_crontab, tmp_path, settings):
    """A job that fails (here: no database) leaves its traceback in the log, not in a mail:
    logged by the job itself, every line stamped (django-crontab's "Failed to complete
    cronjob at ..." was not)."""
    log = tmp_path / "cron.log"
    settings.CRONTAB_COMMAND_SUFFIX = f">> {log} 2>&1"
    call_command("crontab", "add")
    purge_job = job_lines(read_crontab())[1]

    done = run_as_cron(purge_job, f"sqlite:///{tmp_path}/no-such-directory/db.sqlite3", tmp_path)

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    lines = log.read_text().splitlines()
    assert all(re.match(rf"{STAMP} purge_expired_tickets ERROR ", line) for line in lines), lines
    assert lines[0].endswith(" ERROR Failed.")
    assert lines[-1].endswith(" ERROR django.db.utils.OperationalError: unable to open database file")
