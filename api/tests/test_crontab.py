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
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_crontab.app_settings import Settings as CrontabSettings

from api.models import Booking, Customer, Show, Ticket

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
    "('*/5 * * * *', 'django.core.management.call_command', ['expire_tickets', '--log'])",
    "('*/10 * * * *', 'django.core.management.call_command', ['purge_expired_tickets', '--log'])",
    "('* * * * *', 'django.core.management.call_command', ['offer_waitlist_seats', '--log'])",
    "('* * * * *', 'django.core.management.call_command', ['deliver_webhooks', '--log'])",
]
# A line of the log: the time (ISO 8601, UTC), the job's name, the level (test_job_log.py).
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


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


def job_lines(crontab: str) -> list[str]:
    comment = CrontabSettings(settings).CRONTAB_COMMENT
    return [line for line in crontab.splitlines() if line.endswith(f"# {comment}")]


def database_url() -> str:
    """DATABASE_URL of the test database, as a deployment's .env would give it."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    return f"postgres://{quote(db['USER'], safe='')}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def run_as_cron(line: str, database: str, home: Path) -> subprocess.CompletedProcess:
    """Run a crontab line's command as cron does: /bin/sh and a bare environment."""
    match = re.match(r"^(?:\S+\s+){5}(.*) # .*$", line)
    assert match is not None, line
    command = match.group(1)
    environment = {
        "HOME": str(home),
        "LOGNAME": "root",
        "PATH": "/usr/bin:/bin",
        "SHELL": "/bin/sh",
        # What a deployment's .env beside manage.py provides.
        "DATABASE_URL": database,
        "SECRET_KEY": "crontab-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
    }
    return subprocess.run(["/bin/sh", "-c", command], env=environment, capture_output=True, text=True, timeout=120)


def expired_show_with_tickets() -> Show:
    show = Show.objects.create(title="Last night", starts_at=timezone.now() - timedelta(hours=9))
    customer = Customer.objects.create(name="Ada Lovelace", phone_number="+914155550101")
    booking = Booking.objects.create(reference="CRON42", customer=customer)
    Ticket.objects.bulk_create(
        [Ticket(booking=booking, holder=customer, show=show, seat=seat) for seat in ("A1", "A2")]
    )
    return show


def test_crontab_add_show_run_remove(user_crontab, tmp_path, settings, capsys):
    log = tmp_path / "cron.log"
    settings.CRONTAB_COMMAND_SUFFIX = f">> {log} 2>&1"
    expired_show_with_tickets()

    call_command("crontab", "add")
    call_command("crontab", "add")  # again: replaces its jobs, never doubles them
    crontab = read_crontab()
    jobs = job_lines(crontab)
    manage = Path(settings.BASE_DIR) / "manage.py"
    pattern = re.compile(
        rf"^(\*/5|\*/10|\*) \* \* \* \* {re.escape(sys.executable)} {re.escape(str(manage))} "
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
    assert capsys.readouterr().out == "Currently active jobs in crontab:\n" + "".join(
        f"{job_hash} -> {schedule}\n" for job_hash, schedule in zip(hashes, SCHEDULES, strict=True)
    )

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

    # The purge job in this process: what `crontab run <hash>` does inside cron's process.
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
