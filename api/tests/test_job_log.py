"""The cron jobs' log (README, "Scheduled jobs"): run as cron runs them (`--log`), every line
a job writes carries the time (ISO 8601, UTC) and the job's name; a run with nothing to do
writes nothing unless LOG_LEVEL is DEBUG; a failure is logged, traceback and all. Without
`--log` the commands write as ever (test_commands*.py). Through the real crontab:
test_crontab.py."""

import logging
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from api.joblog import JobFormatter
from api.management.commands import expire_tickets
from api.models import Booking, Customer, Show, Ticket
from api.tests.servers import production_env

pytestmark = pytest.mark.django_db

NOW = datetime(2031, 3, 15, 4, 0, 0, 250_000, tzinfo=UTC)
STAMP = "2031-03-15T04:00:00.250Z"
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [a-z_]+ (DEBUG|INFO|WARNING|ERROR) ")
JOBS = ["expire_tickets", "purge_expired_tickets", "offer_waitlist_seats", "deliver_webhooks"]


def as_cron(command: str) -> str:
    out = StringIO()
    call_command(command, "--log", stdout=out)
    return out.getvalue()


def two_tickets_of_last_night() -> None:
    show = Show.objects.create(title="Last night", starts_at=NOW - timedelta(hours=9))
    customer = Customer.objects.create(name="Ada Lovelace", phone_number="+914155550101")
    booking = Booking.objects.create(reference="LOG042", customer=customer)
    Ticket.objects.bulk_create([Ticket(booking=booking, holder=customer, show=show, seat=s) for s in ("A1", "A2")])


def test_each_line_a_job_writes_carries_the_time_and_the_jobs_name():
    two_tickets_of_last_night()

    with time_machine.travel(NOW, tick=False):
        expired = as_cron("expire_tickets")
        purged = as_cron("purge_expired_tickets")

    assert expired == f"{STAMP} expire_tickets INFO Marked 2 tickets expired.\n"
    assert purged == (
        f"{STAMP} purge_expired_tickets INFO Deleted 2 expired tickets, 1 bookings, 1 customers, 0 holds and 0"
        " idempotency keys.\n"
    )


def test_a_run_with_nothing_to_do_writes_nothing_unless_log_level_is_debug(caplog):
    with time_machine.travel(NOW, tick=False):
        quiet = {job: as_cron(job) for job in JOBS}
        caplog.set_level(logging.DEBUG)  # LOG_LEVEL=DEBUG: the root's level
        chatty = {job: as_cron(job) for job in JOBS}

    assert quiet == dict.fromkeys(JOBS, "")  # four lines a minute, every minute, before
    assert chatty == {
        "expire_tickets": f"{STAMP} expire_tickets DEBUG Marked 0 tickets expired.\n",
        "purge_expired_tickets": f"{STAMP} purge_expired_tickets DEBUG Deleted 0 expired tickets, 0 bookings,"
        " 0 customers, 0 holds and 0 idempotency keys.\n",
        "offer_waitlist_seats": f"{STAMP} offer_waitlist_seats DEBUG Made 0 offers of 0 seats; 0 lapsed offers"
        " expired.\n",
        "deliver_webhooks": f"{STAMP} deliver_webhooks DEBUG Delivered 0 webhook events, 0 failed"
        " (0 endpoints disabled).\n",
    }
    # Run by hand, without --log, a job still says what it did, nothing included.
    out = StringIO()
    call_command("expire_tickets", stdout=out)
    assert out.getvalue() == "Marked 0 tickets expired.\n"


def test_booking_job_log_in_the_environment_is_as_log(monkeypatch):
    """Cron's lines set BOOKING_JOB_LOG=1 (settings.CRONTAB_COMMAND_PREFIX): an argument in
    CRONJOBS would change the hashes the installed crontab names the jobs by."""
    two_tickets_of_last_night()
    with time_machine.travel(NOW, tick=False):
        monkeypatch.setenv("BOOKING_JOB_LOG", "1")
        logged, idle = StringIO(), StringIO()
        call_command("expire_tickets", stdout=logged)
        call_command("expire_tickets", stdout=idle)
        monkeypatch.setenv("BOOKING_JOB_LOG", "0")
        plain = StringIO()
        call_command("expire_tickets", stdout=plain)

    assert logged.getvalue() == f"{STAMP} expire_tickets INFO Marked 2 tickets expired.\n"
    assert idle.getvalue() == ""
    assert plain.getvalue() == "Marked 0 tickets expired.\n"


def test_what_the_code_logs_during_a_job_is_the_jobs_line_too(monkeypatch):
    def expire(*, now: datetime) -> int:
        logging.getLogger("api.services.jobs").warning("Slow: %s s", 3)
        return 1

    monkeypatch.setattr(expire_tickets, "tickets_expire", expire)
    handlers = list(logging.getLogger().handlers)

    with time_machine.travel(NOW, tick=False):
        out = as_cron("expire_tickets")

    assert out == f"{STAMP} expire_tickets WARNING Slow: 3 s\n{STAMP} expire_tickets INFO Marked 1 tickets expired.\n"
    assert logging.getLogger().handlers == handlers  # the process's logging as it was


def test_a_failure_is_logged_every_line_stamped_and_exits_1_from_the_command_line(monkeypatch, capsys):
    def expire(*, now: datetime) -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(expire_tickets, "tickets_expire", expire)

    out = as_cron("expire_tickets")  # as django-crontab calls it: logged, not raised
    with pytest.raises(SystemExit) as exited:
        expire_tickets.Command().run_from_argv(["manage.py", "expire_tickets", "--log"])

    lines = out.splitlines()
    assert len(lines) > 3 and all(LINE.match(line) for line in lines), out
    assert lines[0].endswith(" expire_tickets ERROR Failed.")
    assert lines[-1].endswith(" expire_tickets ERROR RuntimeError: the database went away")
    assert exited.value.code == 1
    by_hand = capsys.readouterr().out.splitlines()  # to stdout, as cron's `>> CRONTAB_LOG 2>&1` takes it
    assert all(LINE.match(line) for line in by_hand) and by_hand[-1].endswith(lines[-1][len(STAMP) :])


def test_a_command_error_is_one_line_with_its_exit_status(monkeypatch, capsys):
    def expire(*, now: datetime) -> int:
        raise CommandError("2 shows failed; the others were served.", returncode=3)

    monkeypatch.setattr(expire_tickets, "tickets_expire", expire)

    with pytest.raises(SystemExit) as exited:
        expire_tickets.Command().run_from_argv(["manage.py", "expire_tickets", "--log"])

    assert exited.value.code == 3
    (line,) = capsys.readouterr().out.splitlines()
    assert LINE.match(line) and line.endswith(" expire_tickets ERROR 2 shows failed; the others were served.")


def test_django_crontabs_own_lines_are_stamped_too():
    """Its one line in a run: a job skipped because its last run on this host goes on."""
    logger = logging.getLogger("django_crontab")
    (handler,) = [found for found in logger.handlers if isinstance(found.formatter, JobFormatter)]
    record = logging.LogRecord("django_crontab.crontab", logging.WARNING, __file__, 1, "Tried %s", ("x",), None)
    record.created = NOW.timestamp()

    assert handler.format(record) == f"{STAMP} crontab WARNING Tried x"
    assert not logger.propagate  # not a second, unstamped line from the root's handler


@pytest.mark.django_db(transaction=True)  # the job's process writes its audit entry: emptied after
def test_every_line_of_a_run_from_cron_is_stamped_at_any_log_level():
    """LOG_LEVEL=INFO (to see another host's run under way) or DEBUG put django-axes' start-up
    line, "AXES: BEGIN version ...", unstamped into the log before every run of every job."""
    result = subprocess.run(
        [sys.executable, "manage.py", "expire_tickets"],
        cwd=settings.BASE_DIR,
        env=production_env(LOG_LEVEL="DEBUG", BOOKING_JOB_LOG="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    lines = (result.stdout + result.stderr).splitlines()
    assert [line for line in lines if not LINE.match(line)] == []
    assert [line.split(" ", 2)[2] for line in lines] == ["DEBUG Marked 0 tickets expired."]
