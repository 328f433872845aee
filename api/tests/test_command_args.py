"""The jobs' options refuse what the jobs can't run with, as argparse refuses any bad option:
`purge_expired_tickets --batch-size` takes a whole number of 1 to a million,
`deliver_webhooks --sleep` a number of seconds from 0 to a day, `seed_demo --days` 1 to 366
days. From the command line: the usage, the error and exit code 2, never a traceback;
through call_command: a CommandError. The jobs themselves: test_commands.py,
test_webhook_jobs.py."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from api.management.commands import deliver_webhooks, purge_expired_tickets, seed_demo
from api.tests.servers import production_env

# Before any of these was refused, each ran the job, on this test's database: hence the mark.
pytestmark = pytest.mark.django_db

REFUSED = [
    ("purge_expired_tickets", ["--batch-size", "0"], "argument --batch-size: must be 1 or more, not 0"),
    ("purge_expired_tickets", ["--batch-size", "-5"], "argument --batch-size: must be 1 or more, not -5"),
    ("purge_expired_tickets", ["--batch-size", "1.5"], "argument --batch-size: must be a whole number, not '1.5'"),
    ("deliver_webhooks", ["--loop", "--sleep", "-1"], "argument --sleep: must be 0 to 86400 seconds, not '-1'"),
    ("deliver_webhooks", ["--loop", "--sleep", "nan"], "argument --sleep: must be 0 to 86400 seconds, not 'nan'"),
    ("deliver_webhooks", ["--loop", "--sleep", "1e300"], "argument --sleep: must be 0 to 86400 seconds, not '1e300'"),
    ("deliver_webhooks", ["--loop", "--sleep", "soon"], "argument --sleep: must be a number of seconds, not 'soon'"),
    (
        "purge_expired_tickets",
        ["--batch-size", str(10**20)],
        f"argument --batch-size: must be at most 1000000, not {10**20}",
    ),
    ("seed_demo", ["--days", "0"], "argument --days: must be 1 to 366 days, not 0"),
    ("seed_demo", ["--days", "100000000"], "argument --days: must be 1 to 366 days, not 100000000"),
    ("seed_demo", ["--days", "week"], "argument --days: must be a whole number of days, not 'week'"),
]


@pytest.mark.parametrize("command, args, error", REFUSED)
def test_call_command_refuses_a_bad_option_before_the_job_runs(command, args, error):
    with pytest.raises(CommandError) as refused:
        call_command(command, *args)

    assert str(refused.value) == f"Error: {error}"


@pytest.mark.parametrize("command, args, error", [REFUSED[0], REFUSED[3]])
def test_from_the_command_line_a_bad_option_is_a_usage_error_with_exit_code_2(command, args, error):
    done = subprocess.run(
        [sys.executable, "manage.py", command, *args],
        cwd=settings.BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"usage: manage.py {command} ")
    assert done.stderr.endswith(f"manage.py {command}: error: {error}\n")


def test_the_bounds_themselves_are_taken():
    webhooks_parser = deliver_webhooks.Command().create_parser("manage.py", "deliver_webhooks")
    purge_parser = purge_expired_tickets.Command().create_parser("manage.py", "purge_expired_tickets")
    seed_parser = seed_demo.Command().create_parser("manage.py", "seed_demo")

    assert [webhooks_parser.parse_args(["--sleep", s]).sleep for s in ("0", "0.2", "86400")] == [0, 0.2, 86400]
    assert [purge_parser.parse_args(["--batch-size", n]).batch_size for n in ("1", "1000000")] == [1, 1_000_000]
    assert [seed_parser.parse_args(["--days", n]).days for n in ("1", "366")] == [1, 366]
