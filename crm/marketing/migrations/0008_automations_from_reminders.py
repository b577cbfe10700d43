"""The birthday greeting, the care call after delivery and the declined-work follow-up were built into the
service reminders; they become automations the dealer can edit. The reminder rules of those kinds are
switched off everywhere.

A dealer group that already exists gets its automations here, as its rules were set (on or off; a
birthday message and/or call), in its language, counting from tomorrow in its time zone (today's
greetings and calls were the reminders' job). The template schema new groups are cloned from gets none:
provisioning creates them in the new group's language (``automations.automations_defaults_create``)."""

import zoneinfo
from datetime import datetime, timedelta

from django.db import connection, migrations

BIRTHDAY_TEXTS = {
    "en": ("Happy birthday, {{ given_name }}!",
           "Dear {{ name }},\n\nall of us at {{ dealer }} wish you a happy birthday and many good miles ahead.\n"),
    "ru": ("С днём рождения, {{ given_name }}!",
           "Уважаемый(ая) {{ name }},\n\nвся команда {{ dealer }} поздравляет вас с днём рождения и желает "
           "счастливого пути.\n"),
    "zh-hans": ("{{ given_name }}，生日快乐！", "尊敬的{{ name }}：\n\n{{ dealer }}全体员工祝您生日快乐，一路平安。\n"),
}
# preset: (trigger, delay, action, role, {language: (name, task title)})
PRESETS = {
    "birthday_greeting": ("birthday", 0, "message", "", {
        "en": ("Birthday greeting", ""), "ru": ("Поздравление с днём рождения", ""),
        "zh-hans": ("生日祝福", "")}),
    "birthday_call": ("birthday", 0, "task", "salesperson", {
        "en": ("Birthday call", "Call: birthday wishes"),
        "ru": ("Звонок в день рождения", "Позвонить: поздравить с днём рождения"),
        "zh-hans": ("生日电话", "致电：生日祝福")}),
    "care_call": ("delivery", 2, "task", "salesperson", {
        "en": ("Care call after delivery", "Call: how are the first days with the car?"),
        "ru": ("Звонок после выдачи автомобиля", "Позвонить: как первые дни с автомобилем?"),
        "zh-hans": ("交车后关怀电话", "致电：用车头几天感觉如何？")}),
    "declined_follow_up": ("declined_work", 0, "task", "service_advisor", {
        "en": ("Declined work follow-up", "Call: offer to book the work the customer declined"),
        "ru": ("Напоминание об отказанных работах", "Позвонить: предложить записаться на отказанные работы"),
        "zh-hans": ("未做项目跟进", "致电：邀请客户预约此前未做的项目")}),
}
KINDS = {"post_delivery": "care_call", "declined": "declined_follow_up"}


def _group() -> tuple[str, str] | None:
    """The dealer group of the schema being migrated: its language and time zone; None for the template."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT default_language, timezone FROM public.tenants_dealergroup WHERE schema_name = %s",
                       [connection.schema_name])
        return cursor.fetchone()


def forwards(apps, schema_editor):
    ReminderRule = apps.get_model("service", "ReminderRule")
    Automation = apps.get_model("marketing", "Automation")
    MessageTemplate = apps.get_model("marketing", "MessageTemplate")
    group = _group()
    if group is not None:
        language, zone = group[0] if group[0] in BIRTHDAY_TEXTS else "en", group[1] or "UTC"
        tomorrow = datetime.now(zoneinfo.ZoneInfo(zone)).date() + timedelta(days=1)

        def create(preset, **extra):
            trigger, delay, action, role, words = PRESETS[preset]
            name, title = words[language]
            return Automation.objects.create(name=name, preset=preset, trigger=trigger, delay_days=delay,
                                             action=action, task_role=role, task_title=title,
                                             active_since=tomorrow, **extra)

        for rule in ReminderRule.objects.filter(kind__in=["birthday", *KINDS], enabled=True):
            if rule.kind != "birthday":  # these kinds always made a task, whatever the message switch said
                create(KINDS[rule.kind])
                continue
            if rule.message:
                template = MessageTemplate.objects.create(name=PRESETS["birthday_greeting"][4][language][0],
                                                          channel="email", purpose="marketing")
                for text_language, (subject, body) in BIRTHDAY_TEXTS.items():
                    template.texts.create(language=text_language, subject=subject, body=body)
                create("birthday_greeting", template=template)
            if rule.task:
                create("birthday_call")
    ReminderRule.objects.filter(kind__in=["birthday", *KINDS]).update(enabled=False)


class Migration(migrations.Migration):
    dependencies = [("marketing", "0007_automations"), ("service", "0010_default_tyre_season_holiday_rule")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
