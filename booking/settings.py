"""Settings of the booking service: one file, read from the environment.

Every variable and its default is listed in the README ("Configuration").
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import iso4217
from django.core.exceptions import ImproperlyConfigured

from booking import env_checks, log_config

BASE_DIR = Path(__file__).resolve().parent.parent
env = env_checks.Env()
# A deployment may keep its variables in a .env file beside manage.py; cron jobs, which
# start with an empty environment, then read the same configuration as the app.
# The names it sets are checked against those read, once all are (DOTENV_UNREAD, below).
IN_DOTENV = env_checks.read_dotenv(env, BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else []

# Running the test suite (pytest, or `manage.py test`, which runs pytest).
TESTING = "pytest" in sys.modules or sys.argv[1:2] == ["test"]

DEBUG = env_checks.flag(env, "DEBUG", False)
_DEV_SECRET_KEY = "django-insecure-development-key-never-use-in-production"
SECRET_KEY = env_checks.raw(env, "SECRET_KEY", _DEV_SECRET_KEY)
if SECRET_KEY == _DEV_SECRET_KEY and not (DEBUG or TESTING):
    raise ImproperlyConfigured("Set SECRET_KEY: the development key is refused when DEBUG is off.")
if not (DEBUG or TESTING):
    env_checks.secret_key(SECRET_KEY)

ALLOWED_HOSTS = env_checks.hosts(env_checks.names(env, "ALLOWED_HOSTS", ["localhost", "127.0.0.1"]))
if TESTING:
    ALLOWED_HOSTS += ["testserver"]

INSTALLED_APPS = [
    "api.apps.AdminConfig",  # Django's admin on the box office's site (api/admin_site.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by the service: /api/docs/ works offline
    "phonenumber_field",
    "django_crontab",
    "axes",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "api.middleware.NulInQueryRefused",
    # Errors under /api/ rendered as JSON, whatever the Accept header asks.
    "api.middleware.ApiErrorsAsJson",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the refusal of the login page.
    "axes.middleware.AxesMiddleware",
    "api.middleware.DatabaseTroubleAsPage",  # after axes: a view's exception reaches it first
]

ROOT_URLCONF = "booking.urls"
WSGI_APPLICATION = "booking.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "api.context_processors.theatre",
            ],
        },
    },
]

DATABASE_URL = env("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": env_checks.database_url(env, DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no row locks: IMMEDIATE takes its write lock at BEGIN, so two bookings
    # never interleave, and WAL lets readers go on meanwhile. DEFERRED gave "database is
    # locked" 500s under 5 workers; the timeout makes writers wait their turn instead.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file, not the shared-cache in-memory database, so that threads in the tests
    # lock it the way separate processes do; one per test process, so that two runs of
    # the suite on one machine don't share it.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / f"test_db_{os.getpid()}.sqlite3")}
    env.read |= {"CONN_MAX_AGE", "DATABASE_PREPARE_THRESHOLD"}  # PostgreSQL's, and so the service's
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's, with a health check that polls the connection's socket instead of
        # sending a SELECT 1 in every request (booking/postgresql/base.py).
        DATABASES["default"]["ENGINE"] = "booking.postgresql"
    # Parameters sent apart from the SQL, not quoted into it in Python, and each statement
    # prepared once it has run DATABASE_PREPARE_THRESHOLD times on a connection: PostgreSQL
    # then stops parsing and planning it. "off" turns preparing off, for a PgBouncer in
    # transaction mode older than 1.21. See README, "Performance".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True,
        prepare_threshold=env_checks.prepare_threshold(env("DATABASE_PREPARE_THRESHOLD", default="5")),
    )
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# redis-py waits forever by default: a hung Redis would hold every worker. A local Redis
# answers in well under a millisecond; past this, the call fails, and the service goes on
# without the cache for a few seconds (api/sharedcache.py).
REDIS_TIMEOUT_SECONDS = env.float("REDIS_TIMEOUT_SECONDS", default=0.5)
if not 0 < REDIS_TIMEOUT_SECONDS <= 60:
    raise ImproperlyConfigured(f"REDIS_TIMEOUT_SECONDS={REDIS_TIMEOUT_SECONDS}: give seconds above 0, at most 60.")
_redis_options = {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS}
if env_checks.redis_url(env("REDIS_URL", default=""), _redis_options):
    CACHES = {
        "default": {
            "BACKEND": "api.sharedcache.RedisCache",
            "LOCATION": env("REDIS_URL"),
            "OPTIONS": _redis_options,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Admin logins: django-axes refuses a username's logins from an address for AXES_COOLOFF_TIME
# once they have failed AXES_FAILURE_LIMIT times in a row (a correct password resets that
# count). Counted by address alone, staff logging in as themselves between guesses at
# another account reset the count for it too: guesses without end. The address is the
# throttle's (NUM_PROXIES), an IPv6 client's counted by its /64 as the throttle does.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
ADMIN_LOGIN_FAILURE_LIMIT = env.int("ADMIN_LOGIN_FAILURE_LIMIT", default=10)
ADMIN_LOGIN_COOLOFF_MINUTES = env.int("ADMIN_LOGIN_COOLOFF_MINUTES", default=15)
AXES_FAILURE_LIMIT = ADMIN_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=ADMIN_LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "api.throttling.login_address"
# Failed attempts are kept (they are the count); successful logins are not logged.
AXES_DISABLE_ACCESS_LOG = True

if TESTING:
    # Hashing a password costs a second; tests make many users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_checks.time_zone(env("TIME_ZONE", default="UTC"))
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Request bodies bigger than this are refused with 413 before a view sees them (a multipart
# body whole, its file parts too: api/parsers.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=64 * 1024)

THROTTLE_ANON_RATE = env_checks.rate("THROTTLE_ANON_RATE", env("THROTTLE_ANON_RATE", default="60/min"))
NUM_PROXIES = env.int("NUM_PROXIES", default=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.IsStaff"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.AnonThrottle"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    # Ordering is declared in the FilterSets (api/filters.py): DRF's OrderingFilter would
    # take any serializer field name (?ordering=name) and fail on it with a 500.
    "DEFAULT_FILTER_BACKENDS": ["api.filters.ListFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.BookingAutoSchema",
    "EXCEPTION_HANDLER": "api.views.base.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # DRF's three, the JSON one bounded in nesting (a deeply nested body is a 400, not a 500),
    # the form ones for clients with credentials only (api/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "api.parsers.FormParser",
        "api.parsers.MultiPartParser",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Behind a load balancer, the number of proxies whose X-Forwarded-For is trusted.
    # 0 by default: DRF's None would trust any X-Forwarded-For a client makes up, and
    # let it dodge the throttle and the per-client hold limit.
    "NUM_PROXIES": NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Movie theatre booking API",
    "DESCRIPTION": "Book, move, cancel and check in tickets; hold seats and confirm bookings.",
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the sidecar's static files, never a CDN: the docs work without internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No online validator badge (it would call validator.swagger.io).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # A waiting-list entry's status, beside a webhook delivery's: each enum by its own name.
    "ENUM_NAME_OVERRIDES": {"WaitlistStatusEnum": "api.models.WaitlistStatus"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.document_common_errors",
    ],
}

PHONENUMBER_DEFAULT_REGION = env_checks.phone_region(env("PHONENUMBER_DEFAULT_REGION", default="IN"))
PHONENUMBER_DB_FORMAT = "E164"

THEATRE_NAME = env("THEATRE_NAME", default="Movie Theatre")
BOOKING_DEFAULT_CAPACITY = env.int("BOOKING_DEFAULT_CAPACITY", default=20)
BOOKING_SEATS_PER_ROW = env.int("BOOKING_SEATS_PER_ROW", default=10)
BOOKING_EXPIRE_AFTER_HOURS = env.int("BOOKING_EXPIRE_AFTER_HOURS", default=8)
BOOKING_HOLD_MINUTES = env.int("BOOKING_HOLD_MINUTES", default=10)
# How long a waiting list's offer (a hold of the party's seats) lasts; never past the start.
BOOKING_WAITLIST_OFFER_MINUTES = env.int("BOOKING_WAITLIST_OFFER_MINUTES", default=10)
BOOKING_OPEN_TIMINGS = env_checks.flag(env, "BOOKING_OPEN_TIMINGS", True)
# How far ahead a booking may make an open timing (a show at a time that had none).
BOOKING_OPEN_TIMINGS_DAYS = env.int("BOOKING_OPEN_TIMINGS_DAYS", default=60)
BOOKING_CURRENCY = env("BOOKING_CURRENCY", default="EUR")
# A show without a film runs this long; every show is followed by the screen's cleaning.
BOOKING_DEFAULT_RUNTIME_MINUTES = env.int("BOOKING_DEFAULT_RUNTIME_MINUTES", default=120)
BOOKING_CLEANING_MINUTES = env.int("BOOKING_CLEANING_MINUTES", default=15)
# The service never leaves one free seat alone in a row when it can help it (API.md,
# "Choosing seats"); staff are exempt.
BOOKING_SINGLE_SEAT_RULE = env_checks.flag(env, "BOOKING_SINGLE_SEAT_RULE", True)
# The seat categories (price bands) a seat map may name.
BOOKING_SEAT_CATEGORIES = env_checks.seat_categories(
    env_checks.names(env, "BOOKING_SEAT_CATEGORIES", ["standard", "premium", "vip", "economy"])
)
# Seats one client (address or user) may hold at once over all shows, so that nobody can
# take a whole show off sale.
BOOKING_MAX_HELD_SEATS_PER_CLIENT = env.int("BOOKING_MAX_HELD_SEATS_PER_CLIENT", default=10)
# Seats one anonymous client may book an hour (tickets and bookings; 0: no cap), so that
# one client can't buy a show out. Staff are exempt.
BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR = env.int("BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR", default=20)
# How long a booking waits for its show's lock (PostgreSQL lock_timeout) before it is
# answered 503 busy: one stuck transaction on a show never stalls the other workers.
BOOKING_LOCK_TIMEOUT_SECONDS = env.float("BOOKING_LOCK_TIMEOUT_SECONDS", default=3)
# Check-in opens this many minutes before a show starts: earlier is 409 too_early.
BOOKING_CHECK_IN_OPENS_MINUTES = env.int("BOOKING_CHECK_IN_OPENS_MINUTES", default=90)
IDEMPOTENCY_KEY_HOURS = 24
# Anonymous show searches answered from the cache for this many seconds (0: never). Off in
# tests, so that a test reads what it just wrote; test_search_cache.py turns it on.
SHOW_SEARCH_CACHE_SECONDS = env.int("SHOW_SEARCH_CACHE_SECONDS", default=0 if TESTING else 1)
# The same for the staff ticket list (GET /api/tickets), per URL: the door's devices reload it.
STAFF_LIST_CACHE_SECONDS = env.int("STAFF_LIST_CACHE_SECONDS", default=0 if TESTING else 1)
# The same for a show's seat map (GET /api/shows/{id}/seats), which every customer's show
# page loads: a seat shown free may have been taken in the last second (a hold says so).
SEAT_MAP_CACHE_SECONDS = env.int("SEAT_MAP_CACHE_SECONDS", default=0 if TESTING else 1)

# Webhooks (api/services/webhooks.py): endpoints on private or loopback addresses are
# refused unless this is on (tests, a theatre's own network).
WEBHOOKS_ALLOW_PRIVATE = env_checks.flag(env, "WEBHOOKS_ALLOW_PRIVATE", False)
# How long a worker owns the events it claimed: longer than one send (10 s timeout) takes.
WEBHOOKS_CLAIM_SECONDS = env.int("WEBHOOKS_CLAIM_SECONDS", default=60)
# Receivers a delivery run sends to at once (api/services/webhook_lanes.py): a lane for
# each URL, so that a slow one holds up no other; 1 sends to them one after another.
WEBHOOKS_LANES = env.int("WEBHOOKS_LANES", default=4)
# Audit entries older than this many days are deleted by the purge job.
AUDIT_KEEP_DAYS = env.int("AUDIT_KEEP_DAYS", default=400)

# Whole numbers that a bad value would turn into nonsense (a hold that ends as it starts,
# a purge whose cutoff leaves the calendar and fails every run) stop the service at start.
DAY_MINUTES = 24 * 60
CAP = 1_000_000_000  # the caps' "as good as none" (0 is none)
env_checks.in_range(
    globals(),
    {
        "BOOKING_DEFAULT_CAPACITY": (1, 3_000),  # api/seatmaps.py: MAX_SEATS
        "BOOKING_SEATS_PER_ROW": (1, 100),  # MAX_SEATS_PER_ROW
        "BOOKING_EXPIRE_AFTER_HOURS": (1, 24 * 366),
        "BOOKING_HOLD_MINUTES": (1, DAY_MINUTES),
        "BOOKING_WAITLIST_OFFER_MINUTES": (1, DAY_MINUTES),
        "BOOKING_OPEN_TIMINGS_DAYS": (0, 3_660),
        "BOOKING_DEFAULT_RUNTIME_MINUTES": (1, DAY_MINUTES),
        "BOOKING_CLEANING_MINUTES": (0, DAY_MINUTES),
        "BOOKING_MAX_HELD_SEATS_PER_CLIENT": (0, CAP),
        "BOOKING_MAX_SEATS_PER_CLIENT_PER_HOUR": (0, CAP),
        "BOOKING_CHECK_IN_OPENS_MINUTES": (0, DAY_MINUTES),
        "SHOW_SEARCH_CACHE_SECONDS": (0, 3_600),
        "STAFF_LIST_CACHE_SECONDS": (0, 3_600),
        "SEAT_MAP_CACHE_SECONDS": (0, 3_600),
        "WEBHOOKS_CLAIM_SECONDS": (1, 3_600),
        "WEBHOOKS_LANES": (1, 16),
        "AUDIT_KEEP_DAYS": (1, 36_600),
        "NUM_PROXIES": (0, 10),
        "ADMIN_LOGIN_FAILURE_LIMIT": (1, 1_000),
        "ADMIN_LOGIN_COOLOFF_MINUTES": (1, 7 * DAY_MINUTES),
        "DATA_UPLOAD_MAX_MEMORY_SIZE": (1_024, 100 * 1024 * 1024),
    },
)
# The default screen: BOOKING_DEFAULT_CAPACITY seats in rows of BOOKING_SEATS_PER_ROW, a grid
# a seat map may be (api/seatmaps.py: at most MAX_ROWS rows, MAX_SEATS places).
_rows = -(-BOOKING_DEFAULT_CAPACITY // BOOKING_SEATS_PER_ROW)
if _rows > 100 or _rows * BOOKING_SEATS_PER_ROW > 3_000:
    raise ImproperlyConfigured(
        f"BOOKING_DEFAULT_CAPACITY={BOOKING_DEFAULT_CAPACITY} in rows of BOOKING_SEATS_PER_ROW="
        f"{BOOKING_SEATS_PER_ROW} makes {_rows} rows of {_rows * BOOKING_SEATS_PER_ROW} places: a seat map has at"
        " most 100 rows and 3000 places."
    )
if BOOKING_CURRENCY not in {currency.code for currency in iso4217.Currency}:
    raise ImproperlyConfigured(f"BOOKING_CURRENCY={BOOKING_CURRENCY!r}: give an ISO 4217 currency code, like EUR.")
# 0 would turn PostgreSQL's lock_timeout off (a booking waiting for ever). gunicorn ends a
# request at 30 s (gunicorn.conf.py, timeout), and a wait it cut off was its HTML 500 and a
# worker killed, never the 503 busy: a sale may wait out two locks in turn (its show's, then
# its client's, api/locking.py), so each wait is at most 10 s, with time left to answer.
LONGEST_LOCK_WAIT_SECONDS = 10
if not 0 < BOOKING_LOCK_TIMEOUT_SECONDS <= LONGEST_LOCK_WAIT_SECONDS:
    raise ImproperlyConfigured(
        f"BOOKING_LOCK_TIMEOUT_SECONDS={BOOKING_LOCK_TIMEOUT_SECONDS}: give a number of seconds above 0, at most"
        f" {LONGEST_LOCK_WAIT_SECONDS} (a sale may wait for two locks in turn, and gunicorn ends a request at 30 s:"
        " a longer wait would never be answered 503 busy)."
    )

# Cron jobs, installed on each host with `manage.py crontab add`. The jobs are safe to
# run on several hosts at once (see api/services/jobs.py). django-crontab names each job in
# the crontab by a hash of its entry here: a changed entry leaves the installed line running
# `crontab run <a hash no entry has>`, which fails every time until `crontab add` (and that,
# looking the old hashes up to print them, fails too). Keep the entries as they are.
CRONJOBS = [
    # Every 5 minutes: mark tickets whose show started 8 hours ago or more as expired.
    ("*/5 * * * *", "django.core.management.call_command", ["expire_tickets"]),
    # Every 10 minutes: delete expired tickets and the bookings and customers they leave,
    # spent holds, old idempotency keys, audit entries and delivered webhook events, the
    # waiting lists of expired shows, and open timings that passed without a ticket.
    ("*/10 * * * *", "django.core.management.call_command", ["purge_expired_tickets"]),
    # Every minute: offer the seats that came free to the waiting lists of sold-out shows.
    ("* * * * *", "django.core.management.call_command", ["offer_waitlist_seats"]),
    # Every minute: send the webhook events that are due (new ones, and retries).
    ("* * * * *", "django.core.management.call_command", ["deliver_webhooks"]),
]
# django-crontab skips a run while the previous run of the same job still goes on.
CRONTAB_LOCK_JOBS = True
# Each line a job writes to CRONTAB_LOG carries the time and the job's name, and a run with
# nothing to do writes none: the jobs' `--log`, switched on for cron's runs by this variable
# (api/management/jobcommand.py), not by CRONJOBS' arguments, which would change the hashes.
CRONTAB_COMMAND_PREFIX = "BOOKING_JOB_LOG=1"
# Taken as written, though it begins with $ (django-environ read "$HOME/cron.log" as the name
# of a variable, and, none set, used the default without a word).
_cron_log = env_checks.cron_log(env_checks.raw(env, "CRONTAB_LOG", "/tmp/booking-cron.log"))
CRONTAB_COMMAND_SUFFIX = ">> " + _cron_log + " 2>&1"

SECURE_HTTPS = env_checks.flag(env, "SECURE_HTTPS", False)
# The health check of the front (deploy/) and of a load balancer is plain HTTP from the
# proxy itself: redirected to https://, it reads as down, and every app host leaves rotation.
SECURE_REDIRECT_EXEMPT = [r"^api/health/?$"]
if SECURE_HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
CSRF_TRUSTED_ORIGINS = env_checks.names(env, "CSRF_TRUSTED_ORIGINS", [])

LOGGING = log_config.logging(env_checks.log_level(env("LOG_LEVEL", default="WARNING")))

TEST_RUNNER = "booking.test_runner.PytestTestRunner"

# A .env name the service doesn't read but that looks like one of its own (a slip:
# TIMEZONE=): said by the system check booking.W002 (api/checks.py). Last: every name is read.
DOTENV_UNREAD = env_checks.unread_in_dotenv(IN_DOTENV, env.read)
