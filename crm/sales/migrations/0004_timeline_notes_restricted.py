"""Prospect notes already on customers' timelines become readable only by whoever may open the prospect
(``customers.timeline``), like those written from now on. The entries were written with exactly the
values of their source rows, so they are found by them: a logged contact by its customer, time, author and
note; a level change by its reason and author within seconds of the history row; a web enquiry by its text."""

from django.db import migrations

CONTACTS = """
UPDATE customers_timelineentry AS entry SET restricted_to = 'prospect:' || prospect.id
FROM sales_contact AS contact JOIN sales_prospect AS prospect ON prospect.id = contact.prospect_id
WHERE entry.restricted_to = '' AND entry.kind = 'contact' AND contact.done_at IS NOT NULL
  AND entry.person_id = prospect.person_id AND entry.occurred_at = contact.done_at
  AND entry.author_id IS NOT DISTINCT FROM contact.by_id AND entry.body = contact.note
"""

LEVELS = """
UPDATE customers_timelineentry AS entry SET restricted_to = 'prospect:' || prospect.id
FROM sales_history AS history JOIN sales_prospect AS prospect ON prospect.id = history.prospect_id
WHERE entry.restricted_to = '' AND entry.kind = 'system' AND history.kind = 'level'
  AND entry.person_id = prospect.person_id AND entry.author_id IS NOT DISTINCT FROM history.by_id
  AND entry.body = history.note AND entry.body <> ''
  AND entry.occurred_at BETWEEN history.at - interval '5 seconds' AND history.at + interval '5 seconds'
"""

ENQUIRIES = """
UPDATE customers_timelineentry AS entry SET restricted_to = 'prospect:' || prospect.id
FROM sales_prospect AS prospect
WHERE entry.restricted_to = '' AND entry.kind = 'message' AND entry.author_id IS NULL AND entry.body <> ''
  AND entry.person_id = prospect.person_id
  AND (entry.body = prospect.notes OR EXISTS (
      SELECT 1 FROM sales_history AS history
      WHERE history.prospect_id = prospect.id AND history.kind = 'enquiry' AND history.note = entry.body))
"""

FORGET = "UPDATE customers_timelineentry SET restricted_to = '' WHERE restricted_to LIKE 'prospect:%'"


class Migration(migrations.Migration):

    dependencies = [
        ("sales", "0003_contact_planned_index"),
        ("customers", "0009_timeline_restricted_to"),
    ]

    operations = [
        migrations.RunSQL(CONTACTS, migrations.RunSQL.noop),
        migrations.RunSQL(LEVELS, migrations.RunSQL.noop),
        migrations.RunSQL(ENQUIRIES, FORGET),
    ]
