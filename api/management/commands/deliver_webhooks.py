import time
from argparse import ArgumentParser

from django.core.management.base import BaseCommand
from django.utils import timezone

from api.services.webhooks import webhooks_deliver


class Command(BaseCommand):
    help = "Send the webhook events that are due (new ones and retries); --loop keeps doing it as a worker."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Run as a worker, polling until stopped.")
        parser.add_argument("--sleep", type=float, default=1.0, help="Seconds between polls when nothing is due.")

    def handle(self, *args: object, loop: bool, sleep: float, **options: object) -> None:
        while True:
            result = webhooks_deliver(now=timezone.now())
            if result.sent or not loop:
                self.stdout.write(
                    f"Delivered {result.delivered} webhook events, {result.failed} failed"
                    f" ({result.disabled} endpoints disabled)."
                )
            if not loop:
                return
            if not result.sent:
                time.sleep(sleep)
