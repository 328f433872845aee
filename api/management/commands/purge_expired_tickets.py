from django.core.management.base import BaseCommand

from api.services import tickets_purge


class Command(BaseCommand):
    help = "Delete expired tickets, lapsed holds, old idempotency keys and customers left without tickets."

    def handle(self, *args, **options) -> None:
        result = tickets_purge()
        self.stdout.write(
            f"Deleted {result.tickets} expired tickets, {result.bookings} bookings, {result.customers} customers, "
            f"{result.holds} holds and {result.idempotency_keys} idempotency keys."
        )
        if result.skipped:
            self.stdout.write("Another host is purging right now; left the rest to it.")
