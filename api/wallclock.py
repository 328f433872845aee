"""A moment as a venue's clocks show it, for people to read (the admin, messages)."""

from datetime import datetime, tzinfo

from django.utils import timezone


def wall_clock(moment: datetime, zone: tzinfo) -> str:
    """YYYY-MM-DD HH:MM on the venue's clocks, with the UTC offset where they show that
    time twice (the hour they go back): the two 01:30 shows of that night read alike, and
    staff moved a ticket to the wrong one."""
    local = timezone.localtime(moment, zone)
    shown = f"{local:%Y-%m-%d %H:%M}"
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return f"{shown} ({local:%z})"
    return shown
