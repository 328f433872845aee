import logging
import time
from argparse import ArgumentParser, ArgumentTypeError

from django.db import InterfaceError, OperationalError, connections

from api.management.jobcommand import JobCommand
from api.services.webhook_delivery import DeliveryResult
from api.services.webhook_lanes import RUN_SECONDS, webhooks_deliver_due

LONGEST_SLEEP = 24 * 3600.0  # a day; time.sleep refuses far longer ones (1e300) with a traceback
# A worker that lost the database waits this long before its next run, twice as long after
# each run that lost it again, up to the longest: a failover is over in seconds, and a
# database down for an hour gets a line a minute, not ten a second.
DATABASE_PAUSE, LONGEST_DATABASE_PAUSE = 1.0, 60.0

logger = logging.getLogger(__name__)


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
        wait = DATABASE_PAUSE
        while True:
            # Run after run, not batch after batch: within a run, a receiver with events due
            # gets a lane while the others' lanes send, not after the batch's slowest one.
            try:
                result = webhooks_deliver_due()
            except (OperationalError, InterfaceError) as exc:
                # The connection dropped under the run (a restart, a failover, an idle
                # timeout at PgBouncer, pg_terminate_backend): Django opens a new one at the
                # next query only once the broken one is closed. What the run had claimed
                # is due again when its lease ends; any other error still ends the worker.
                reason = str(exc).strip().partition("\n")[0]  # the server's words, no query
                logger.warning("Lost the database (%s: %s); next run in %.0f s.", type(exc).__name__, reason, wait)
                connections.close_all()
                time.sleep(wait)
                wait = min(wait * 2, LONGEST_DATABASE_PAUSE)
                continue
            wait = DATABASE_PAUSE
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
