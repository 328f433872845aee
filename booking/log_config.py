"""The service's logging (settings.LOGGING): everything to the console (gunicorn's, cron's
log file), at LOG_LEVEL and above, with the few loggers below set apart."""

from typing import Any


def logging(level: str) -> dict[str, Any]:
    """LOGGING for the root's `level` (LOG_LEVEL, checked by env_checks.log_level)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "crontab": {"()": "api.joblog.JobFormatter", "job": "crontab"},
            "django.server": {
                "()": "django.utils.log.ServerFormatter",
                "format": "[{server_time}] {message}",
                "style": "{",
            },
        },
        "handlers": {
            "console": {"class": "logging.StreamHandler"},
            "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
            # django-crontab's own lines in CRONTAB_LOG (a job skipped while its last run goes on).
            "crontab": {"class": "logging.StreamHandler", "formatter": "crontab"},
        },
        "loggers": {
            "django_crontab": {"handlers": ["crontab"], "propagate": False},
            # django-axes' start-up banner at INFO: below WARNING, an unstamped line before every
            # cron run's in CRONTAB_LOG. Its lines about logins are its other loggers'.
            "axes.apps": {"level": "WARNING"},
            # httpx's line for each request, at INFO, names the whole URL: a webhook receiver's
            # credentials in it (http://user:pw@crm/h, ?token=) went into the log.
            "httpx": {"level": "WARNING"},
            # Django's own console handler (DEBUG only) dropped: its lines go to the root's
            # console alone, once (under make run, every 404 and 409 was written twice).
            # Naming "django" resets the loggers under it: runserver's request lines are
            # configured again as Django configures them.
            "django": {"handlers": [], "level": "INFO"},
            "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["console"], "level": level},
    }
