"""Traps an operator walked into: `make run` and `make staff-token` in a production checkout
(a `.env` with DEBUG off), gunicorn.conf.py ignoring the `.env` that settings.py reads, and
`manage.py staff_token` taking any name, making any user staff, and leaving no audit entry.

The make targets run for real in a scratch directory holding a copy of the Makefile and a
stand-in manage.py that only records how it was called; gunicorn reads a copy of its
configuration beside a scratch `.env` (never one in the checkout, which every test reads)."""

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from api.models import AuditEntry
from api.tests.servers import production_env

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent

FAKE_MANAGE = """\
import os, sys
with open("calls.log", "a") as log:
    log.write(f"DEBUG={os.environ.get('DEBUG')} {' '.join(sys.argv[1:])}\\n")
if sys.argv[1] == "staff_token":
    print("the-key")
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A directory where the Makefile runs as in the checkout, with this virtualenv taken as
    built (STAMP, BIN) and manage.py replaced by FAKE_MANAGE."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "cluster.mk").write_text("")
    for name in ("requirements.txt", "requirements-dev.txt"):
        (tmp_path / name).write_text("")
        os.utime(tmp_path / name, (0, 0))  # older than the stamp: nothing to install
    (tmp_path / "stamp").write_text("")
    (tmp_path / "manage.py").write_text(FAKE_MANAGE)
    return tmp_path


def make(checkout: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """make `args` in `checkout`, from a shell without DEBUG or a make of ours around it."""
    dropped = ("DEBUG", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        ["make", *args, "STAMP=stamp", f"BIN={BIN}"],
        cwd=checkout,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def calls(checkout: Path) -> list[str]:
    log = checkout / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_make_run_on_a_fresh_clone_writes_a_development_env_and_runs_with_debug_on(checkout):
    result = make(checkout, "run")

    assert result.returncode == 0, result.stderr
    assert "DEBUG=true" in (checkout / ".env").read_text().splitlines()
    assert calls(checkout) == [
        "DEBUG=true migrate --noinput",
        "DEBUG=true seed_demo",
        "DEBUG=true runserver 127.0.0.1:8000",
    ]


def test_make_staff_token_prints_the_key_alone_in_development(checkout):
    (checkout / ".env").write_text("DEBUG=true\n")

    result = make(checkout, "-s", "staff-token")

    assert (result.returncode, result.stdout) == (0, "the-key\n"), result.stderr
    assert calls(checkout) == ["DEBUG=true staff_token boxoffice"]


@pytest.mark.parametrize("target", ["run", "staff-token"])
@pytest.mark.parametrize(
    "dotenv",
    [
        "DEBUG=false\n",
        "DEBUG=0\n",
        "DEBUG=No\n",
        "DEBUG=OFF\n",
        "DEBUG='False'\n",
        "DEBUG=true\nDEBUG=false\n",  # the last line wins, as settings.py reads it
        "SECRET_KEY=abc\nDATABASE_URL=postgres://booking@db.internal/booking\n",  # DEBUG off by default
    ],
)
def test_make_refuses_a_production_env(checkout, target, dotenv):
    """The README's production recipe writes such a `.env`: `make run` seeded the demo shows
    and an admin/admin login into that database, and served it with DEBUG on."""
    (checkout / ".env").write_text(dotenv)

    result = make(checkout, target)

    assert result.returncode != 0
    assert "development" in result.stderr
    assert 'README.md, "Running in production"' in result.stderr
    assert calls(checkout) == []


@pytest.mark.parametrize("target", ["run", "staff-token"])
@pytest.mark.parametrize("debug", ["false", "0", "Off"])
def test_make_refuses_debug_off_in_the_environment(checkout, target, debug):
    result = make(checkout, target, DEBUG=debug)

    assert result.returncode != 0
    assert f"DEBUG={debug} in the environment" in result.stderr
    assert 'README.md, "Running in production"' in result.stderr
    assert calls(checkout) == []
    assert not (checkout / ".env").exists()  # cron jobs would have read its DEBUG=true


def test_debug_on_in_the_environment_does_not_make_a_production_env_development(checkout):
    (checkout / ".env").write_text("DEBUG=false\n")

    result = make(checkout, "run", DEBUG="true")

    assert result.returncode != 0
    assert ".env sets DEBUG=false" in result.stderr
    assert calls(checkout) == []


def gunicorn_config(config: Path, **env: str) -> dict[str, str]:
    """gunicorn's settings as `gunicorn -c config booking.wsgi --print-config` prints them."""
    environment = production_env(**env)
    for name in ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS"):
        if name not in env:
            environment.pop(name, None)
    result = subprocess.run(
        [str(BIN / "gunicorn"), "-c", str(config), "--print-config", "booking.wsgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))


def test_gunicorn_reads_the_env_beside_its_configuration_as_settings_does(tmp_path):
    """The README's production recipe puts GUNICORN_BIND and the rest in `.env`; gunicorn
    read only its environment, and bound 127.0.0.1:8000 with 2 x cores + 1 workers."""
    config = tmp_path / "gunicorn.conf.py"
    shutil.copy(ROOT / "gunicorn.conf.py", config)
    (tmp_path / ".env").write_text(
        "GUNICORN_BIND=10.0.0.5:8123\nWEB_CONCURRENCY=3\nGUNICORN_WORKER_CLASS=gthread\nGUNICORN_THREADS=4\n"
    )

    printed = gunicorn_config(config)
    assert (printed["bind"], printed["workers"], printed["worker_class"], printed["threads"]) == (
        "['10.0.0.5:8123']",
        "3",
        "gthread",
        "4",
    )
    # A real environment variable beats the file, as it does for settings.py.
    assert gunicorn_config(config, WEB_CONCURRENCY="5")["workers"] == "5"


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["", "  ", "x y/z", "a" * 151])
def test_staff_token_refuses_a_name_django_refuses(username):
    """An empty name made a staff user with a working token, audited as "staff:"."""
    with pytest.raises(CommandError, match="username"):
        call_command("staff_token", username, stdout=io.StringIO(), stderr=io.StringIO())

    assert not get_user_model().objects.exists()
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_staff_token_refuses_to_make_an_existing_user_staff_unasked():
    get_user_model().objects.create_user("alice", password="a password of hers")

    with pytest.raises(CommandError, match="alice exists and is not staff: --make-staff"):
        call_command("staff_token", "alice", stdout=io.StringIO(), stderr=io.StringIO())

    assert not get_user_model().objects.get(username="alice").is_staff
    assert not Token.objects.exists()


@pytest.mark.django_db
def test_staff_token_make_staff_makes_an_existing_user_staff_and_says_so(api_client):
    get_user_model().objects.create_user("alice", password="a password of hers")
    out, err = io.StringIO(), io.StringIO()

    call_command("staff_token", "alice", "--make-staff", stdout=out, stderr=err)

    assert "Made the user alice staff." in err.getvalue()
    alice = get_user_model().objects.get(username="alice")
    assert alice.is_staff and alice.check_password("a password of hers")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    assert api_client.get("/api/tickets").status_code == 200


@pytest.mark.django_db
def test_staff_token_records_the_user_and_tokens_it_makes_and_the_staff_it_makes():
    """Staff status is the API's one right, and a token its key: who gave them is in the
    audit trail, as for every other change (the admin's too), under job:staff_token."""
    get_user_model().objects.create_user("alice", password="a password of hers")
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}

    call_command("staff_token", "scanner", **quiet)
    call_command("staff_token", "scanner", **quiet)  # the same token again: no change
    call_command("staff_token", "scanner", "--reset", **quiet)
    call_command("staff_token", "alice", "--make-staff", **quiet)

    scanner, alice = (str(get_user_model().objects.get(username=name).pk) for name in ("scanner", "alice"))
    rows = AuditEntry.objects.order_by("id").values_list("actor", "action", "object_id", "changes")
    assert {actor for actor, *_ in rows} == {"job:staff_token"}
    assert [(action, key) for _, action, key, _ in rows] == [
        ("user.created", scanner),
        ("token.created", scanner),
        ("token.deleted", scanner),
        ("token.created", scanner),
        ("user.changed", alice),
        ("token.created", alice),
    ]
    made = rows[0][3]
    assert (made["username"], made["is_staff"], "password" in made) == ("scanner", True, False)
    assert rows[4][3] == {"is_staff": [False, True]}
