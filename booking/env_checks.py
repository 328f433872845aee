"""Settings read from the environment (or .env), checked as they are read: a bad value stops
every command and the server at start with ImproperlyConfigured naming its variable, where
it would otherwise be read as something else (DEBUG=maybe as false) or fail later, request
by request, as a 500 (THROTTLE_ANON_RATE=abc on every anonymous request, REDIS_URL=x on
every request, /api/health included)."""

import re
import shlex
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "on", "ok", "y", "yes", "1"}  # django-environ's
_FALSE = {"false", "off", "n", "no", "0", ""}
# DRF's form, "<requests>/<period>": the period's first letter s, m, h or d.
_RATE = re.compile(r"[1-9][0-9]*/[smhd][a-z]*")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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
        raise ImproperlyConfigured(f"{name}={value!r}: give a rate like 60/min (requests per s, min, hour or day).")
    return value


def redis_url(value: str) -> str:
    if value and urlsplit(value).scheme not in _REDIS_SCHEMES:
        raise ImproperlyConfigured(f"REDIS_URL={value!r}: give a redis://, rediss:// or unix:// URL.")
    return value


def database_url(env: environ.Env, value: str) -> dict[str, Any]:
    try:
        config = env.db_url_config(value)
    except (KeyError, ValueError):
        config = {}
    if "ENGINE" not in config:  # no scheme it knows
        raise ImproperlyConfigured(f"DATABASE_URL={value!r}: give a URL like postgres://user@host:5432/name.")
    return config


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
    """The path the cron lines append to, quoted for the shell (a space split it)."""
    if not value.strip():
        raise ImproperlyConfigured("CRONTAB_LOG is empty: give the file the cron jobs append their output to.")
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
