"""The webhook URLs that audit entries recorded before outbound.masked: their credentials
(a password, the query's values) masked, as the entries written since have them. The
endpoints themselves keep their URLs whole."""

from urllib.parse import urlsplit, urlunsplit

from django.db import migrations


def _masked(url: str) -> str:
    # outbound.masked as it was written with this migration (a migration keeps its own).
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    netloc = f"{user.partition(':')[0]}:***@{host}" if at and ":" in user else parts.netloc
    query = "&".join(
        f"{name}={'***' if value else ''}" if has_value else name
        for name, has_value, value in (field.partition("=") for field in parts.query.split("&") if field)
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def mask_urls(apps, schema_editor):
    AuditEntry = apps.get_model("api", "AuditEntry")
    entries = AuditEntry.objects.filter(action__in=["webhook.created", "webhook.changed"], changes__has_key="url")
    for entry in entries.iterator():
        url = entry.changes["url"]
        masked = [_masked(u) for u in url] if isinstance(url, list) else _masked(url)
        if masked != url:
            AuditEntry.objects.filter(pk=entry.pk).update(changes={**entry.changes, "url": masked})


class Migration(migrations.Migration):
    dependencies = [("api", "0025_ticket_type_key_lowercase")]

    operations = [migrations.RunPython(mask_urls, migrations.RunPython.noop, elidable=False)]
