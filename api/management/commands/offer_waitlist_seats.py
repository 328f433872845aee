from django.core.management.base import CommandError
from django.utils import timezone

from api.management.jobcommand import JobCommand
from api.services.waitlist import waitlist_offer_seats


class Command(JobCommand):
    help = "Offer the seats that came free to the waiting lists of sold-out shows, as holds, in joining order."

    def handle(self, *args: object, **options: object) -> None:
        run = waitlist_offer_seats(now=timezone.now())
        for offer in run.offers:
            self.stdout.write(
                f"Offered {', '.join(offer.seats)} at show {offer.show_id} to waiting-list entry {offer.entry_id}"
                f" until {timezone.localtime(offer.expires_at).isoformat(timespec='seconds')}."
            )
        if run.skipped and not (run.offers or run.expired or run.failed):
            self.stdout.write("Another host is offering waiting-list seats right now; nothing to do.")
            return
        seats = sum(len(offer.seats) for offer in run.offers)
        made = f"Made {len(run.offers)} offers of {seats} seats; {run.expired} lapsed offers expired."
        if run.offers or run.expired:
            self.stdout.write(made)
        else:
            self.idle(made)
        if run.passed:
            shows = ", ".join(map(str, run.passed))
            self.stdout.write(f"Passed over show {shows} (locked too long by other requests, or deleted); next run.")
        if run.skipped:
            self.stdout.write("Another host is offering waiting-list seats right now; left the rest to it.")
        if run.failed:
            for show_id, exc in run.failed.items():
                self.stderr.write(
                    f"Failed at show {show_id}: {type(exc).__name__}: {exc} (the traceback is in the log)."
                )
            shows = "1 show" if len(run.failed) == 1 else f"{len(run.failed)} shows"
            raise CommandError(f"{shows} failed; the others were served.")
