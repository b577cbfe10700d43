"""pg_trgm lives in public, once per database; tenant schemas find it on their search_path."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [TrigramExtension()]
