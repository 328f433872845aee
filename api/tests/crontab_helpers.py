"""What the cron tests share (test_crontab.py, test_crontab_upgrade.py): the jobs' lines in
a crontab, and a line run as cron runs it, against the test database."""

import re
import subprocess
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection
from django_crontab.app_settings import Settings as CrontabSettings

# A line of the log: the time (ISO 8601, UTC), the job's name, the level (test_job_log.py).
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


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


def run_as_cron(line: str, database: str, home: Path, **more: str) -> subprocess.CompletedProcess:
    """Run a crontab line's command as cron does: /bin/sh and a bare environment (plus
    `more` variables of the .env file)."""
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
        **more,
    }
    return subprocess.run(["/bin/sh", "-c", command], env=environment, capture_output=True, text=True, timeout=120)
