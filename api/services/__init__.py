"""Writes with rules, one module per domain: catalog (shows), sales (bookings, tickets,
holds), door (check-in), jobs (the cron jobs' expire and purge).

Each function is keyword-only, named <thing>_<action>, owns its transaction and its
locks, takes plain values (ids, labels, a required `now` wherever time decides) and
raises the domain errors of api/errors/; none knows about HTTP.
"""
