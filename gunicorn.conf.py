"""gunicorn's settings, for production and `make bench`: `gunicorn -c gunicorn.conf.py booking.wsgi`.

Each value can be set from the environment (README, "Performance", says how to choose):
- WEB_CONCURRENCY: worker processes. The default, 2 x cores + 1, suits an app host of its
  own; on a box that also runs PostgreSQL one a core did as well or better (`make bench`).
- GUNICORN_WORKER_CLASS: sync (default) or gthread, with GUNICORN_THREADS threads. The
  work is CPU-bound Python: threads share one core per process, and gthread measured
  slower than sync for the search and the ticket list.

Like booking/settings.py, it reads the .env beside it (the README's production recipe keeps
every variable there), and a real environment variable beats the file.
"""

import gc
import os
from pathlib import Path

import environ

_dotenv = Path(__file__).resolve().parent / ".env"
if _dotenv.exists():
    environ.Env.read_env(_dotenv)


def _count(name: str, default: int) -> int:
    """A whole number from 1, refused at start naming its variable."""
    value = os.environ.get(name, str(default))
    if not value.strip().isdigit() or int(value) < 1:
        raise SystemExit(f"{name}={value!r}: give a whole number from 1.")
    return int(value)


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _count("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1)
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = _count("GUNICORN_THREADS", 1)
keepalive = 5
# A request still running after this is cut off (an HTML 500, the worker killed): the settings
# keep BOOKING_LOCK_TIMEOUT_SECONDS (each of a sale's two lock waits) at most 10 s within it,
# so that a lock waited out is a 503 busy.
timeout = 30
graceful_timeout = 30
# The app is loaded once, in the master, and each worker is forked from it: a worker that
# is recycled (below) or crashed is back at once, where loading Django itself left its
# share of the requests queued meanwhile: with workers recycled often, a same-run A/B
# showed the gain; with none, it showed none (bench/README.md, 2026-12-05).
# The master opens no database or Redis connection. New code needs a restart of gunicorn:
# a HUP forks new workers from the code already loaded.
preload_app = True
# Recycle a worker now and then so that a slow leak can't grow without end; the jitter
# keeps the workers from restarting all at once. At the bench's 500 to 700 requests a
# second per worker, 10,000 recycled each worker every 15 to 20 s.
max_requests = 100_000
max_requests_jitter = 10_000


def pre_fork(server, worker) -> None:
    """In the master, before each worker is forked from it (preload_app)."""
    if not server.cfg.preload_app:
        return
    from django.db import connections
    from django.urls import get_resolver

    # Every view, serializer and filter module imported once here, not in each worker.
    get_resolver().url_patterns  # noqa: B018 (the import is the point)
    # Workers never share a database socket with the master: should loading the app ever
    # open a connection, close it before forking. (redis-py's pools notice a fork.)
    connections.close_all()
    # The loaded app's objects out of the garbage collector's reach: a worker's full
    # collection, now and then, walked all of them while the requests queued on that
    # worker waited (bench/README.md). (The collector then no longer writes to the pages
    # the workers share with the master; reference counts still do.)
    # Python's gc documentation advises it before a fork, for the memory shared with the
    # master. A same-run A/B saw the slowest bookings a little faster with it, within the
    # VM's noise (bench/README.md, 2026-12-05).
    gc.freeze()
