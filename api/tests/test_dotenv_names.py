"""A .env name the service doesn't read, though it looks like one of its own, is a warning
(booking.W002): TIMEZONE=Europe/London was passed over without a word, and the first migrate
made the default venue in UTC."""

import os
import re
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.core import checks

from api.checks import dotenv_names_read
from api.management.jobcommand import LOG_VARIABLE
from booking import env_checks
from booking import settings as settings_module

READ = settings_module.env.read


def test_a_slip_in_a_dotenv_name_is_said_with_the_name_meant(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "TIMEZONE=Europe/London\nexport BOOKING_HOLD_MINS=5\nBOOKING_SEATING=best\n"
        # The service's own, gunicorn's, and the libraries' (libpq's, Python's): not a word.
        "TIME_ZONE=Europe/London\nWEB_CONCURRENCY=3\nBOOKING_JOB_LOG=1\nPGSSLMODE=require\nTZ=UTC\n"
    )

    # The file's variables go into the process's environment (django-environ's read_env):
    # taken back after, or PGSSLMODE=require broke every later connection of the run.
    with mock.patch.dict(os.environ):
        names = env_checks.read_dotenv(env_checks.Env(), dotenv)
    assert "PGSSLMODE" not in os.environ

    assert env_checks.unread_in_dotenv(names, READ) == [
        "TIMEZONE, which the service doesn't read: did you mean TIME_ZONE?",
        "BOOKING_HOLD_MINS, which the service doesn't read: did you mean BOOKING_HOLD_MINUTES?",
        'BOOKING_SEATING, which the service doesn\'t read (README, "Configuration", lists what it does).',
    ]


def test_the_check_warns_of_each(settings):
    settings.DOTENV_UNREAD = ["TIMEZONE, which the service doesn't read: did you mean TIME_ZONE?"]

    [warning] = dotenv_names_read()

    assert isinstance(warning, checks.Warning) and warning.id == "booking.W002"
    assert warning.msg == ".env sets TIMEZONE, which the service doesn't read: did you mean TIME_ZONE?"
    assert warning in checks.run_checks()  # registered


def test_every_variable_of_the_readme_is_one_the_service_reads():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", table, re.MULTILINE))
    assert len(documented) > 40, documented
    assert documented <= READ | set(env_checks.READ_ELSEWHERE), documented - READ - set(env_checks.READ_ELSEWHERE)
    # PostgreSQL's two count as read on SQLite too: a .env kept across a move is no slip.
    assert {"CONN_MAX_AGE", "DATABASE_PREPARE_THRESHOLD"} <= READ


def test_the_names_read_elsewhere_are_those_gunicorn_and_the_jobs_read():
    conf = (Path(settings.BASE_DIR) / "gunicorn.conf.py").read_text()
    read = re.findall(r'(?:os\.environ\.get|_count)\("([A-Z_]+)"', conf)
    assert set(env_checks.GUNICORN_VARIABLES) == set(read)
    assert LOG_VARIABLE in env_checks.READ_ELSEWHERE
