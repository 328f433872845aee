from django.core.management.base import BaseCommand

from api.services import tickets_expire


class Command(BaseCommand):
    help = "Mark tickets whose show started BOOKING_EXPIRE_AFTER_HOURS (8) hours ago or more as expired."

    def handle(self, *args, **options) -> None:
        marked = tickets_expire()
        if marked is None:
            self.stdout.write("Another host is expiring tickets right now; nothing to do.")
        else:
            self.stdout.write(f"Marked {marked} tickets expired.")
