import time
from argparse import ArgumentParser, ArgumentTypeError

from api.management.jobcommand import JobCommand
from api.services.webhook_lanes import RUN_SECONDS, webhooks_deliver_due
from api.services.webhooks import DeliveryResult

LONGEST_SLEEP = 24 * 3600.0  # a day; time.sleep refuses far longer ones (1e300) with a traceback


def pause(text: str) -> float:
    """argparse's type= for --sleep: seconds, 0 to a day."""
    try:
        seconds = float(text)
    except ValueError:
        raise ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not 0 <= seconds <= LONGEST_SLEEP:  # nan too
        raise ArgumentTypeError(f"must be 0 to {LONGEST_SLEEP:.0f} seconds, not {text!r}")
    return seconds


class Command(JobCommand):
    help = (
        f"Send the webhook events that are due (new ones and retries), batch after batch for up to {RUN_SECONDS:.0f}"
        " seconds, to several receivers at once (WEBHOOKS_LANES); --loop keeps doing it as a worker."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--loop", action="store_true", help="Run as a worker, polling until stopped.")
        parser.add_argument("--sleep", type=pause, default=1.0, help="Seconds between runs when nothing is due.")

    def handle(self, *args: object, loop: bool, sleep: float, **options: object) -> None:
        if not loop:
            self.report(webhooks_deliver_due())
            return
        while True:
            # Run after run, not batch after batch: within a run, a receiver with events due
            # gets a lane while the others' lanes send, not after the batch's slowest one.
            result = webhooks_deliver_due()
            if result.sent:
                self.report(result)
            else:
                time.sleep(sleep)

    def report(self, result: DeliveryResult) -> None:
        text = (
            f"Delivered {result.delivered} webhook events, {result.failed} failed"
            f" ({result.disabled} endpoints disabled)."
        )
        if result.sent:
            self.stdout.write(text)
        else:
            self.idle(text)
