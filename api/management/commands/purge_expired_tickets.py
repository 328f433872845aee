from argparse import ArgumentParser, ArgumentTypeError

from django.utils import timezone

from api.management.jobcommand import JobCommand
from api.services.jobs import PURGE_BATCH_SIZE, tickets_purge

# A batch is one transaction: a million rows is already far past what keeps one short, and
# a larger number overflowed the query's LIMIT (a traceback, where a usage error belongs).
MOST_ROWS_PER_BATCH = 1_000_000


def rows_per_batch(text: str) -> int:
    """argparse's type= for --batch-size: a whole number, 1 to MOST_ROWS_PER_BATCH."""
    try:
        rows = int(text)
    except ValueError:
        raise ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if rows < 1:
        raise ArgumentTypeError(f"must be 1 or more, not {rows}")
    if rows > MOST_ROWS_PER_BATCH:
        raise ArgumentTypeError(f"must be at most {MOST_ROWS_PER_BATCH}, not {rows}")
    return rows


class Command(JobCommand):
    help = (
        "Delete expired tickets, bookings and customers left without one, lapsed holds, old keys, entries, "
        "events, the waiting lists of expired shows, and open timings that passed without a ticket."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch-size", type=rows_per_batch, default=PURGE_BATCH_SIZE, help="Rows per transaction.")

    def handle(self, *args: object, batch_size: int, **options: object) -> None:
        result = tickets_purge(now=timezone.now(), batch_size=batch_size)
        counts = (
            result.tickets,
            result.bookings,
            result.customers,
            result.holds,
            result.idempotency_keys,
            result.audit_entries,
            result.webhook_events,
            result.waitlist_entries,
            result.shows,
        )
        if result.skipped and not any(counts):
            self.stdout.write("Another host is purging right now; nothing to do.")
            return
        deleted = (
            f"Deleted {result.tickets} expired tickets, {result.bookings} bookings, {result.customers} customers, "
            f"{result.holds} holds and {result.idempotency_keys} idempotency keys."
        )
        if any(counts):
            self.stdout.write(deleted)
        else:
            self.idle(deleted)
        if result.audit_entries or result.webhook_events:
            self.stdout.write(
                f"Deleted {result.audit_entries} old audit entries and {result.webhook_events} old webhook events."
            )
        if result.waitlist_entries:
            self.stdout.write(f"Deleted {result.waitlist_entries} waiting-list entries of expired shows.")
        if result.shows:
            self.stdout.write(f"Deleted {result.shows} open timings that passed without a ticket.")
        if result.skipped:
            self.stdout.write("Another host is purging right now; left the rest to it.")
