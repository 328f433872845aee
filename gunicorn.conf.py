"""gunicorn's settings, for production and `make bench`: `gunicorn -c gunicorn.conf.py booking.wsgi`.

Each value can be set from the environment (README, "Performance", says how to choose):
- WEB_CONCURRENCY: worker processes. The default, 2 x cores + 1, suits an app host of its
  own; on a box that also runs PostgreSQL one a core did as well or better (`make bench`).
- GUNICORN_WORKER_CLASS: sync (default) or gthread, with GUNICORN_THREADS threads. The
  work is CPU-bound Python: threads share one core per process, and gthread measured
  slower than sync for the search and the ticket list.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", 1))
keepalive = 5
timeout = 30
graceful_timeout = 30
# Recycle a worker now and then so that a slow leak can't grow without end; the jitter
# keeps the workers from restarting all at once.
max_requests = 10_000
max_requests_jitter = 1_000
