"""The admin's log named each API token it recorded by its key (DRF's Token.__str__): in
django_admin_log's object_repr, shown in "Recent actions", and, for a token logged before
DRF's Tokens page went by user (3.12), in object_id too. They are renamed as the admin now
names a token (api/admin/accounts.py), by its user."""

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Concat


def forget_token_keys(apps, schema_editor) -> None:
    LogEntry = apps.get_model("admin", "LogEntry")
    tokens = LogEntry.objects.filter(content_type__app_label="authtoken")
    # A TokenProxy's id is its user's.
    tokens.filter(content_type__model="tokenproxy").update(
        object_repr=Concat(Value("API token of user #"), "object_id")
    )
    tokens.exclude(content_type__model="tokenproxy").update(object_repr="API token", object_id=None)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0019_show_cap_outlives_a_smaller_map"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forget_token_keys, migrations.RunPython.noop, elidable=True)]
