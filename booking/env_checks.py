"""Settings read from the environment (or .env), checked as they are read: a bad value stops
every command and the server at start with ImproperlyConfigured naming its variable, where
it would otherwise be read as something else (DEBUG=maybe as false) or fail later, request
by request, as a 500 (THROTTLE_ANON_RATE=abc on every anonymous request, REDIS_URL=x on
every request, /api/health included)."""

import difflib
import re
import shlex
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import environ
import phonenumbers
import redis
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "on", "ok", "y", "yes", "1"}  # django-environ's
_FALSE = {"false", "off", "n", "no", "0", ""}
# DRF's form, "<requests>/<period>". DRF reads the period's first letter alone (s, m, h or
# d), so only the periods that letter stands for are taken: 1000/month was 1000 a minute,
# and 5/ms 5 a minute.
_RATE = re.compile(r"[1-9][0-9]*/(s|secs?|seconds?|m|mins?|minutes?|h|hours?|d|days?)")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class Env(environ.Env):
    """django-environ's, with a value that isn't of its type refused naming its variable:
    CONN_MAX_AGE=abc stopped the start with a bare "invalid literal for int()". It keeps
    the names it was asked for (`read`): what a .env may set (unread_in_dotenv)."""

    def __init__(self, **scheme: Any) -> None:
        super().__init__(**scheme)
        self.read: set[str] = set()

    def get_value(self, var: str, cast: Any = None, default: Any = environ.Env.NOTSET, parse_default: bool = False):
        self.read.add(var)
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except ValueError:
            kind = {int: "a whole number", float: "a number"}.get(cast, "a value of its kind")
            raise ImproperlyConfigured(f"{var}={self.ENVIRON.get(var, '')!r}: give {kind}.") from None


# A line of .env django-environ reads: NAME=value (an "export " before it is taken).
_DOTENV_LINE = re.compile(r"(?:export )?(?P<name>[A-Za-z_0-9]+)=")


def read_dotenv(env: environ.Env, path: Path) -> list[str]:
    """The .env file, every line of it read or refused: django-environ passed over a line it
    can't read ("TIME_ZONE = Europe/London", spaces around the "="), with a warning among a
    command's output, and the service ran on that variable's default (the first migrate
    made the default venue in UTC; BOOKING_OPEN_TIMINGS = false left open timings on).
    Returns the names the file sets."""
    names = []
    for number, line in enumerate(path.read_text(encoding="utf8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not (match := _DOTENV_LINE.match(line)):
            raise ImproperlyConfigured(
                f"{path}, line {number}: {line.strip()!r} can't be read; write NAME=value, with no spaces around"
                " the = and none before the name."
            )
        names.append(match["name"])
    env.read_env(path)
    return names


# Read from the same .env by gunicorn.conf.py, and by the jobs' commands (jobcommand.py).
GUNICORN_VARIABLES = ("GUNICORN_BIND", "WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS")
READ_ELSEWHERE = (*GUNICORN_VARIABLES, "BOOKING_JOB_LOG")
# The beginnings of this service's own names: a name so begun that it doesn't read is a slip.
_OUR_PREFIXES = ("BOOKING_", "WEBHOOKS_", "GUNICORN_", "THROTTLE_", "ADMIN_LOGIN_", "AUDIT_", "REDIS_", "DATABASE_")


def unread_in_dotenv(in_dotenv: list[str], read: set[str]) -> list[str]:
    """What to say of each name the .env sets that the service (`read`, and READ_ELSEWHERE)
    doesn't read but looks like one of its own: begun as its names are, or close to one (a
    slip: TIMEZONE=Europe/London left the default venue in UTC, without a word). Other
    names (PGSSLROOTCERT, HTTPS_PROXY, TZ) are for the libraries, and pass."""
    known = read | set(READ_ELSEWHERE)
    said = []
    for name in dict.fromkeys(in_dotenv):
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        if close:
            said.append(f"{name}, which the service doesn't read: did you mean {close[0]}?")
        elif name.startswith(_OUR_PREFIXES):
            said.append(f'{name}, which the service doesn\'t read (README, "Configuration", lists what it does).')
    return said


def raw(env: environ.Env, name: str, default: str) -> str:
    """A value as it is written, unless it is $ and the name of another variable set
    (django-environ's reference, SECRET_KEY=$DJANGO_SECRET): django-environ reads any value
    that begins with $ as a name, and one secret key in about fifty that Django makes begins
    with $, which then fell back to the development key."""
    if isinstance(env, Env):
        env.read.add(name)
    value = env.ENVIRON.get(name, default)
    if value.startswith("$") and value[1:] in env.ENVIRON:
        return env.ENVIRON[value[1:]]
    return value


def names(env: environ.Env, name: str, default: list[str]) -> list[str]:
    """A list separated by commas, each item without the spaces around it: "a.com, b.com"
    gave " b.com", which no Host matches."""
    return [item.strip() for item in env.list(name, default=default) if item.strip()]


def hosts(values: list[str]) -> list[str]:
    """ALLOWED_HOSTS: names as Django compares them with a request's Host, its port left
    off. A scheme, a port or a path (https://tickets.example.com, tickets.example.com:443)
    never matched: every request was a 400, the front's health check too, and the front
    then answered every client 503."""
    for value in values:
        if "/" in value or ":" in value.rpartition("]")[2]:  # "[::1]" is an address, "x:443" a port
            raise ImproperlyConfigured(
                f"ALLOWED_HOSTS={value!r}: give host names alone, like tickets.example.com (no scheme, port or path)."
            )
    return values


def flag(env: environ.Env, name: str, default: bool) -> bool:
    """A true/false variable; anything else (DEBUG=maybe) is refused, not read as false."""
    value = env.str(name, default=str(default)).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r}: give true or false.")


def in_range(values: Mapping[str, Any], ranges: Mapping[str, tuple[int, int]]) -> None:
    """Whole numbers that a bad value would turn into nonsense: each within its range."""
    for name, (low, high) in ranges.items():
        if not low <= values[name] <= high:
            raise ImproperlyConfigured(f"{name}={values[name]}: give a whole number from {low} to {high}.")


def rate(name: str, value: str) -> str:
    if not _RATE.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={value!r}: give a rate like 60/min (requests per s or sec or second, m or min or minute,"
            " h or hour, d or day)."
        )
    return value


def redis_url(value: str, options: Mapping[str, Any]) -> str:
    """REDIS_URL read as the cache will read it, without connecting: Django splits it at
    commas and semicolons (a primary, then replicas), and redis-py makes a pool of each URL
    and its connections of the pool's options. A look at the scheme alone let a port out of
    range (637900) or an option redis-py can't take (?socket_timeout=abc) through, and then
    every request that touched the cache, /api/health included, was a 500."""
    if not value:
        return value
    for server in re.split("[;,]", value):
        if urlsplit(server).scheme not in _REDIS_SCHEMES:
            raise ImproperlyConfigured(f"REDIS_URL={value!r}: give a redis://, rediss:// or unix:// URL.")
        try:
            pool = redis.ConnectionPool.from_url(server, **options)
            pool.connection_class(**pool.connection_kwargs)  # made, not connected
        except (ValueError, TypeError, redis.RedisError) as exc:
            raise ImproperlyConfigured(
                f"REDIS_URL={value!r}: redis-py can't read it ({exc}); give a URL like redis://127.0.0.1:6379/0."
            ) from None
    return value


def database_url(env: environ.Env, value: str) -> dict[str, Any]:
    try:
        config = env.db_url_config(value)
    except (KeyError, ValueError):
        config = {}
    # An unknown scheme (postgress://) is taken as a backend's name, which Django then can't find.
    if "ENGINE" not in config or urlsplit(value).scheme not in env.DB_SCHEMES:
        raise ImproperlyConfigured(f"DATABASE_URL={value!r}: give a URL like postgres://user@host:5432/name.")
    # Django asks for the name only when it connects: the server started, and answered every
    # request 500, /api/health too.
    if not config.get("NAME") and "service" not in config.get("OPTIONS", {}):
        raise ImproperlyConfigured(f"DATABASE_URL={value!r}: name the database, like postgres://user@host:5432/name.")
    return config


def time_zone(value: str) -> str:
    if not value.strip():  # Django takes "" (the host's zone); the default venue would keep it for good
        raise ImproperlyConfigured("TIME_ZONE is empty: give an IANA time zone, like Europe/London.")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"TIME_ZONE={value!r}: give an IANA time zone, like Europe/London.") from None
    return value


def phone_region(value: str) -> str:
    """The country a phone number without a country code is read in: checked where the
    server and the cron jobs start, not only by `manage.py check`."""
    region = value.strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ImproperlyConfigured(
            f"PHONENUMBER_DEFAULT_REGION={value!r}: give a country's two-letter code (ISO 3166-1), like GB."
        )
    return region


def prepare_threshold(value: str) -> int | None:
    if value.strip().lower() == "off":
        return None
    if not value.strip().isdigit():
        raise ImproperlyConfigured(f"DATABASE_PREPARE_THRESHOLD={value!r}: give a whole number, or off.")
    return int(value)


def log_level(value: str) -> str:
    level = value.strip().upper()  # "debug" is Python's DEBUG
    if level not in LOG_LEVELS:
        raise ImproperlyConfigured(f"LOG_LEVEL={value!r}: give one of {', '.join(LOG_LEVELS)}.")
    return level


def secret_key(value: str) -> str:
    """Off DEBUG: not empty, and not a placeholder of the README's copied as it is."""
    if value.strip() in ("", "...") or (value.startswith("<") and value.endswith(">")):
        raise ImproperlyConfigured("SECRET_KEY: give a long random value (the README says how to make one).")
    return value


def cron_log(value: str) -> str:
    """The path the cron lines append to, quoted for the shell (a space split it). Quoted,
    "~" and "$HOME" are not expanded: cron's shell, in the home directory, could not open
    such a log, and no job started. A relative path is the home directory's, as before."""
    if not value.strip():
        raise ImproperlyConfigured("CRONTAB_LOG is empty: give the file the cron jobs append their output to.")
    if value.startswith("~") or "$" in value:
        raise ImproperlyConfigured(
            f"CRONTAB_LOG={value!r}: give the path itself, like /var/log/booking/cron.log (written as it is into"
            " the crontab: no ~ or $HOME is expanded)."
        )
    return shlex.quote(value)


def seat_categories(values: list[str]) -> list[str]:
    """The price bands a seat map may use: "standard" among them, the category of a seat
    its map gives none."""
    if "standard" not in values or any(not re.fullmatch(r"[a-z0-9_-]+", value) for value in values):
        raise ImproperlyConfigured(
            f"BOOKING_SEAT_CATEGORIES={','.join(values)!r}: give lower-case names separated by commas, "
            "standard among them (a seat's category when its map gives none)."
        )
    return values
