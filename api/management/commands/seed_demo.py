from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.models import Show

DEMO_SHOWS = [
    (time(14, 0), "The Grand Budapest Hotel"),
    (time(17, 30), "Spirited Away"),
    (time(20, 45), "Dune: Part Two"),
]


class Command(BaseCommand):
    help = "Schedule demo shows for the next 7 days and, with DEBUG on, an admin/admin login. Safe to run again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=7)
        parser.add_argument("--no-admin", action="store_true", help="Don't create the admin/admin login.")

    def handle(self, *args, days: int, no_admin: bool, **options) -> None:
        today, now = timezone.localdate(), timezone.now()
        created = 0
        for offset in range(days):
            for at, title in DEMO_SHOWS:
                starts_at = timezone.make_aware(datetime.combine(today + timedelta(days=offset), at))
                if starts_at <= now:
                    continue
                _, new = Show.objects.get_or_create(starts_at=starts_at, defaults={"title": title})
                created += new
        self.stdout.write(f"Scheduled {created} demo shows.")
        if no_admin:
            return
        if not settings.DEBUG:
            raise CommandError("The admin/admin login is for development only (DEBUG=true); use createsuperuser.")
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", "admin")
            self.stdout.write("Created the admin login: user admin, password admin (development only).")
