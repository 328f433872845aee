"""Deploy checks: `manage.py check --deploy` with production settings, settings out of
their range stopping the service at start, and what the logging settings write (each run in
a `manage.py` process of its own)."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

from api import seatmaps
from booking import env_checks


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "SECURE_HTTPS")}
    environment.update(env, DJANGO_SETTINGS_MODULE="booking.settings")
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


DEPLOY = {"DEBUG": "false", "ALLOWED_HOSTS": "booking.example.com", "NUM_PROXIES": "1"}
PG = "postgres://booking@db.internal:5432/booking"  # never connected to by `check`


def _deploy_check(**env: str) -> subprocess.CompletedProcess:
    """`check --deploy --fail-level WARNING` with DEBUG off, a real SECRET_KEY and HTTPS."""
    given = {**DEPLOY, "SECRET_KEY": secrets.token_urlsafe(50), "SECURE_HTTPS": "true", **env}
    return _manage("check", "--deploy", "--fail-level", "WARNING", **given)


def test_deploy_check_passes_with_debug_off_a_real_secret_and_https():
    result = _deploy_check()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_fails_without_https():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **DEPLOY, SECRET_KEY=secrets.token_urlsafe(50))
    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr, warning


def test_deploy_check_warns_when_no_proxy_is_trusted_for_the_clients_address():
    """Behind the front, which production requires, every request comes from 127.0.0.1: with
    NUM_PROXIES at its default 0 every customer was one client, sharing one throttle count
    (60 a minute) and one client's caps on seats (20 booked an hour, 10 held), so that the
    first busy on-sale answered nearly everyone 429 or refused their seats."""
    result = _deploy_check(NUM_PROXIES="0")
    assert result.returncode == 1
    assert "(booking.W001) NUM_PROXIES is 0" in result.stderr


def test_the_development_secret_is_refused_with_debug_off():
    result = _manage("check", **DEPLOY)
    assert result.returncode == 1
    assert "Set SECRET_KEY: the development key is refused when DEBUG is off." in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        # 800,000 days took the purge's cutoff out of the calendar: every run failed.
        ("AUDIT_KEEP_DAYS", "800000", "AUDIT_KEEP_DAYS=800000: give a whole number from 1 to 36600."),
        ("BOOKING_HOLD_MINUTES", "0", "BOOKING_HOLD_MINUTES=0: give a whole number from 1 to 1440."),
        ("BOOKING_CLEANING_MINUTES", "-5", "BOOKING_CLEANING_MINUTES=-5: give a whole number from 0 to 1440."),
        (
            "BOOKING_DEFAULT_CAPACITY",
            "3000",  # in rows of 10: 300 rows, which no seat map may have
            "BOOKING_DEFAULT_CAPACITY=3000 in rows of BOOKING_SEATS_PER_ROW=10 makes 300 rows of 3000 places: a"
            " seat map has at most 100 rows and 3000 places.",
        ),
        (
            "BOOKING_LOCK_TIMEOUT_SECONDS",
            "0",
            "BOOKING_LOCK_TIMEOUT_SECONDS=0.0: give a number of seconds above 0, at most 10 (a sale may wait for"
            " two locks in turn, and gunicorn ends a request at 30 s: a longer wait would never be answered 503 busy).",
        ),
        # Taken up to 60: a wait gunicorn cut off at 30 s was its HTML 500, the worker killed.
        ("BOOKING_LOCK_TIMEOUT_SECONDS", "31", "BOOKING_LOCK_TIMEOUT_SECONDS=31.0: give a number of seconds above 0"),
        ("BOOKING_LOCK_TIMEOUT_SECONDS", "10.5", "BOOKING_LOCK_TIMEOUT_SECONDS=10.5: give a number of seconds above"),
        # Every venue made without a currency, the default venue first, takes it.
        ("BOOKING_CURRENCY", "eur", "BOOKING_CURRENCY='eur': give an ISO 4217 currency code, like EUR."),
    ],
)
def test_a_whole_number_setting_out_of_its_range_stops_the_service_at_start(variable, value, message):
    result = _manage("check", DEBUG="true", **{variable: value})
    assert result.returncode == 1
    assert f"ImproperlyConfigured: {message}" in result.stderr


def test_the_longest_lock_wait_the_settings_take_is_answered_before_gunicorn_ends_the_request():
    gunicorn = runpy.run_path(str(Path(django_settings.BASE_DIR) / "gunicorn.conf.py"))
    # A sale that waits out its show's lock, then its client's, has 10 s left to answer.
    assert 2 * django_settings.LONGEST_LOCK_WAIT_SECONDS + 10 <= gunicorn["timeout"] == 30
    assert _manage("check", DEBUG="true", BOOKING_LOCK_TIMEOUT_SECONDS="10").returncode == 0


def test_the_largest_default_screen_the_settings_allow_is_a_seat_map():
    # booking/settings.py checks BOOKING_DEFAULT_CAPACITY and BOOKING_SEATS_PER_ROW against
    # the seat map's limits, written there as numbers.
    assert (seatmaps.MAX_ROWS, seatmaps.MAX_SEATS_PER_ROW, seatmaps.MAX_SEATS) == (100, 100, 3_000)
    assert seatmaps.parse(seatmaps.grid(100, 30)).capacity == 3_000
    assert _manage("check", DEBUG="true", BOOKING_DEFAULT_CAPACITY="3000", BOOKING_SEATS_PER_ROW="30").returncode == 0


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        # Each was taken and failed later, request by request, as a 500 (or silently).
        ({"THROTTLE_ANON_RATE": "abc"}, "THROTTLE_ANON_RATE='abc': give a rate like 60/min"),
        # DRF reads the period's first letter alone: each was 1000 (or 5) a minute.
        ({"THROTTLE_ANON_RATE": "1000/month"}, "THROTTLE_ANON_RATE='1000/month': give a rate like 60/min"),
        ({"THROTTLE_ANON_RATE": "5/ms"}, "THROTTLE_ANON_RATE='5/ms': give a rate like 60/min"),
        ({"REDIS_URL": "notaurl"}, "REDIS_URL='notaurl': give a redis://, rediss:// or unix:// URL."),
        # The scheme was all that was checked: each of these failed every request, /api/health too.
        (
            {"REDIS_URL": "redis://cache.internal:637900/0"},
            "REDIS_URL='redis://cache.internal:637900/0': redis-py can't read it (Port out of range 0-65535)",
        ),
        (
            {"REDIS_URL": "redis://cache.internal:6379/0?socket_timeout=abc"},
            "REDIS_URL='redis://cache.internal:6379/0?socket_timeout=abc': redis-py can't read it",
        ),
        ({"REDIS_URL": "redis://cache.internal/0?colour=blue"}, "REDIS_URL='redis://cache.internal/0?colour=blue'"),
        ({"REDIS_URL": "redis://a:6379/0,b:6379/0"}, "REDIS_URL='redis://a:6379/0,b:6379/0': give a redis://"),
        ({"REDIS_TIMEOUT_SECONDS": "-1"}, "REDIS_TIMEOUT_SECONDS=-1.0: give seconds above 0, at most 60."),
        ({"NUM_PROXIES": "-1"}, "NUM_PROXIES=-1: give a whole number from 0 to 10."),
        ({"WEBHOOKS_LANES": "0"}, "WEBHOOKS_LANES=0: give a whole number from 1 to 16."),  # no run would send
        ({"ADMIN_LOGIN_FAILURE_LIMIT": "0"}, "ADMIN_LOGIN_FAILURE_LIMIT=0: give a whole number from 1 to 1000."),
        ({"ADMIN_LOGIN_COOLOFF_MINUTES": "0"}, "ADMIN_LOGIN_COOLOFF_MINUTES=0: give a whole number from 1 to 10080."),
        ({"DATA_UPLOAD_MAX_MEMORY_SIZE": "0"}, "DATA_UPLOAD_MAX_MEMORY_SIZE=0: give a whole number from 1024"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe': give true or false."),
        ({"BOOKING_OPEN_TIMINGS": "nope"}, "BOOKING_OPEN_TIMINGS='nope': give true or false."),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud': give one of DEBUG, INFO, WARNING, ERROR, CRITICAL."),
        ({"DATABASE_URL": "notaurl"}, "DATABASE_URL='notaurl': give a URL like postgres://"),
        ({"TIME_ZONE": ""}, "TIME_ZONE is empty: give an IANA time zone"),
        ({"CRONTAB_LOG": " "}, "CRONTAB_LOG is empty"),
        # Quoted for the shell, ~ and $HOME are not expanded: cron's shell, in the home
        # directory, could not open the log, and no job ever started (cron's mail said why).
        ({"CRONTAB_LOG": "~/booking-cron.log"}, "CRONTAB_LOG='~/booking-cron.log': give the path itself"),
        ({"CRONTAB_LOG": "$HOME/cron.log"}, "CRONTAB_LOG='$HOME/cron.log': give the path itself"),
        ({"BOOKING_SEAT_CATEGORIES": ""}, "BOOKING_SEAT_CATEGORIES='': give lower-case names"),
        ({"BOOKING_SEAT_CATEGORIES": "vip,premium"}, "BOOKING_SEAT_CATEGORIES='vip,premium': give lower-case names"),
        ({**DEPLOY, "SECRET_KEY": ""}, "SECRET_KEY: give a long random value"),
        ({**DEPLOY, "SECRET_KEY": "<50 random characters>"}, "SECRET_KEY: give a long random value"),
        # Each stopped the start with Python's words, not naming the variable, or not at all.
        ({"BOOKING_HOLD_MINUTES": "ten"}, "BOOKING_HOLD_MINUTES='ten': give a whole number."),
        ({"REDIS_TIMEOUT_SECONDS": "abc"}, "REDIS_TIMEOUT_SECONDS='abc': give a number."),
        ({"DATABASE_URL": PG, "CONN_MAX_AGE": "abc"}, "CONN_MAX_AGE='abc': give a whole number."),
        (
            {"DATABASE_URL": PG, "DATABASE_PREPARE_THRESHOLD": "never"},
            "DATABASE_PREPARE_THRESHOLD='never': give a whole number, or off.",
        ),
        ({"DATABASE_URL": "postgress://x@db/booking"}, "DATABASE_URL='postgress://x@db/booking': give a URL like"),
        # No database named: the server started, and answered every request 500, /api/health too.
        (
            {"DATABASE_URL": "postgres://booking@db.internal:5432"},
            "DATABASE_URL='postgres://booking@db.internal:5432': name the database, like postgres://user@host:5432/name.",
        ),
        ({"TIME_ZONE": "Europe/Londn"}, "TIME_ZONE='Europe/Londn': give an IANA time zone, like Europe/London."),
        # Served, and every local number of a venue made without a country refused.
        ({"PHONENUMBER_DEFAULT_REGION": "XX"}, "PHONENUMBER_DEFAULT_REGION='XX': give a country's two-letter code"),
        # Never matched by a Host (Django compares the name alone): every request a 400, the
        # front's health check too, so the front took the host out and answered every client 503.
        (
            {"ALLOWED_HOSTS": "https://tickets.example.com"},
            "ALLOWED_HOSTS='https://tickets.example.com': give host names alone, like tickets.example.com",
        ),
        (
            {"ALLOWED_HOSTS": "localhost, tickets.example.com:443"},
            "ALLOWED_HOSTS='tickets.example.com:443': give host names alone, like tickets.example.com",
        ),
    ],
)
def test_a_bad_setting_stops_the_service_at_start_naming_its_variable(variables, message):
    result = _manage("check", **{"DEBUG": "true", **variables})
    assert result.returncode == 1, result.stdout
    assert f"ImproperlyConfigured: {message}" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "redis://:p%40ss@cache.internal:6379/2?socket_timeout=2&health_check_interval=30",
        "rediss://cache.internal:6380/0",
        "unix:///run/redis/redis.sock?db=3",
        "redis://primary.internal:6379/0,redis://replica.internal:6379/0",  # Django's primary, then replicas
    ],
)
def test_a_redis_url_redis_py_reads_is_taken_without_connecting(url):
    result = _manage("check", DEBUG="true", REDIS_URL=url)
    assert result.returncode == 0, result.stderr


class AnyRate(SimpleRateThrottle):
    rate = "1/s"  # a throttle of its own, to ask DRF how it reads a rate


def test_every_rate_the_settings_take_is_read_by_drf_as_written():
    seconds = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
    seconds |= {"d": 86400, "day": 86400, "seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
    seconds |= {"secs": 1, "mins": 60}
    for period, duration in seconds.items():
        assert env_checks.rate("THROTTLE_ANON_RATE", f"7/{period}") == f"7/{period}"
        assert AnyRate().parse_rate(f"7/{period}") == (7, duration)


def test_a_lower_case_log_level_is_taken_and_a_log_path_with_a_space_is_quoted():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.LOGGING['root']['level'], s.CRONTAB_COMMAND_SUFFIX)",
        DEBUG="true",
        LOG_LEVEL="debug",
        CRONTAB_LOG="/var/log/my booking/cron.log",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "DEBUG >> '/var/log/my booking/cron.log' 2>&1"


def test_a_relative_log_path_is_taken_as_before():
    # Cron starts its shell in the home directory, where it worked: an upgrade keeps it.
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.CRONTAB_COMMAND_SUFFIX)",
        DEBUG="true",
        CRONTAB_LOG="cron.log",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == ">> cron.log 2>&1"


def test_a_secret_key_beginning_with_a_dollar_and_lists_with_spaces_are_read_as_written():
    """django-environ read a value beginning with $ as another variable's name: one key in
    about fifty that Django makes fell back to the development key. "a.com, b.com" kept
    the space, and b.com's requests were refused as a bad Host; "standard, premium" stopped
    the service as no lower-case names."""
    key = "$" + secrets.token_urlsafe(50)
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SECRET_KEY, s.ALLOWED_HOSTS, s.PHONENUMBER_DEFAULT_REGION, s.BOOKING_SEAT_CATEGORIES)",
        **{**DEPLOY, "ALLOWED_HOSTS": "a.example.com, b.example.com"},
        SECRET_KEY=key,
        PHONENUMBER_DEFAULT_REGION="gb",
        BOOKING_SEAT_CATEGORIES="standard, premium, vip",
    )
    assert result.returncode == 0, result.stderr
    hosts, categories = "['a.example.com', 'b.example.com']", "['standard', 'premium', 'vip']"
    assert result.stdout.splitlines()[-1] == f"{key} {hosts} GB {categories}"


def test_a_secret_key_that_names_another_variable_is_read_from_it():
    """django-environ's reference, which a deployment may use: read as written, the key was
    the public text "$DJANGO_SECRET"."""
    key = secrets.token_urlsafe(50)
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECRET_KEY)",
        **DEPLOY,
        SECRET_KEY="$DJANGO_SECRET",
        DJANGO_SECRET=key,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == key


@pytest.mark.parametrize("line", ["TIME_ZONE = Europe/London", "BOOKING_OPEN_TIMINGS =false", "  DEBUG=false"])
def test_a_line_of_the_env_file_that_cant_be_read_stops_the_start_naming_it(tmp_path, line):
    """django-environ passed over such a line with a warning, and the service ran on the
    variable's default: the first migrate made the default venue in UTC, for good once it
    has shows. Comments, blank lines and "export NAME=value" are read as before."""
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"# production\n\nexport THEATRE_NAME=The Picture House\n{line}\n")

    with pytest.raises(ImproperlyConfigured) as refused:
        env_checks.read_dotenv(env_checks.Env(), dotenv)
    assert str(refused.value) == (
        f"{dotenv}, line 4: {line.strip()!r} can't be read; write NAME=value, with no spaces around the = and none"
        " before the name."
    )


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_line_of_djangos_loggers_is_written_once(debug):
    # Django's own "django" logger has a console handler of its own while DEBUG is on, and
    # passed its lines on to the root's console too: under make run every 404, 409 and the
    # reloader's start were written twice.
    result = _manage(
        "shell",
        "-c",
        "import logging; logging.getLogger('django.request').warning('Not Found: /favicon.ico');"
        " logging.getLogger('django.server').info('GET /favicon.ico', extra={'server_time': 'then'})",
        DEBUG=debug,
        SECRET_KEY=secrets.token_urlsafe(50),
    )
    assert result.returncode == 0, result.stderr
    # runserver's request lines keep their form.
    assert result.stderr.splitlines() == ["Not Found: /favicon.ico", "[then] GET /favicon.ico"]
