from django.utils import timezone

from api.management.jobcommand import JobCommand
from api.services.jobs import tickets_expire


class Command(JobCommand):
    help = "Mark tickets whose show started BOOKING_EXPIRE_AFTER_HOURS (8) hours ago or more as expired."

    def handle(self, *args: object, **options: object) -> None:
        marked = tickets_expire(now=timezone.now())
        if marked is None:
            self.stdout.write("Another host is expiring tickets right now; nothing to do.")
        elif marked:
            self.stdout.write(f"Marked {marked} tickets expired.")
        else:
            self.idle("Marked 0 tickets expired.")
