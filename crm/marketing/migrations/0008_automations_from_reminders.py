"""The birthday greeting, the care call after delivery and the declined-work follow-up were built into the
service reminders; they become automations the dealer can edit, as each group had them set (on or off,
message and/or task). The reminder rules of those kinds are switched off."""

from django.db import migrations
from django.utils import timezone

BIRTHDAY_TEXTS = {
    "en": ("Happy birthday, {{ given_name }}!",
           "Dear {{ name }},\n\nall of us at {{ dealer }} wish you a happy birthday and many good miles ahead.\n"),
    "ru": ("С днём рождения, {{ given_name }}!",
           "Уважаемый(ая) {{ name }},\n\nвся команда {{ dealer }} поздравляет вас с днём рождения и желает "
           "счастливого пути.\n"),
    "zh-hans": ("{{ given_name }}，生日快乐！", "尊敬的{{ name }}：\n\n{{ dealer }}全体员工祝您生日快乐，一路平安。\n"),
}
TASKS = {
    "post_delivery": ("delivery", 2, "salesperson", "Care call after delivery", "Call: how are the first days with the car?"),
    "declined": ("declined_work", 0, "service_advisor", "Declined work follow-up",
                 "Call: offer to book the work the customer declined"),
}


def forwards(apps, schema_editor):
    ReminderRule = apps.get_model("service", "ReminderRule")
    Automation = apps.get_model("marketing", "Automation")
    MessageTemplate = apps.get_model("marketing", "MessageTemplate")
    today = timezone.now().date()
    for rule in ReminderRule.objects.filter(kind__in=["birthday", *TASKS], enabled=True):
        if rule.kind == "birthday":
            if rule.message:
                template = MessageTemplate.objects.create(name="Birthday greeting", channel="email",
                                                          purpose="marketing")
                for language, (subject, body) in BIRTHDAY_TEXTS.items():
                    template.texts.create(language=language, subject=subject, body=body)
                Automation.objects.create(name="Birthday greeting", trigger="birthday", delay_days=0,
                                          action="message", template=template, active_since=today)
            if rule.task:
                Automation.objects.create(name="Birthday call", trigger="birthday", delay_days=0, action="task",
                                          task_role="salesperson", task_title="Call: birthday wishes",
                                          active_since=today)
            continue
        trigger, delay, role, name, title = TASKS[rule.kind]
        if rule.task or not rule.message:  # these kinds only ever made tasks
            Automation.objects.create(name=name, trigger=trigger, delay_days=delay, action="task", task_role=role,
                                      task_title=title, active_since=today)
    ReminderRule.objects.filter(kind__in=["birthday", *TASKS]).update(enabled=False)


class Migration(migrations.Migration):
    dependencies = [("marketing", "0007_automations"), ("service", "0010_default_tyre_season_holiday_rule")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
