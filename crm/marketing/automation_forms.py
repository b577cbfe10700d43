"""Forms of the automation screens and of the task list."""

from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import StaffRole

from .automations import TASK_ROLES
from .models import Automation, MessageTemplate


class AutomationForm(forms.ModelForm):
    class Meta:
        model = Automation
        fields = ("name", "trigger", "months", "delay_days", "action", "template", "task_role", "task_title",
                  "is_active")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["months"].help_text = _("Only for “no workshop visit”: how many months without one.")
        self.fields["delay_days"].help_text = _("0 is the same day. A birthday greeting is sent on the day itself.")
        self.fields["template"].queryset = MessageTemplate.objects.filter(
            Q(is_active=True) | Q(pk=self.instance.template_id))  # the rule's own, even if switched off since
        self.fields["template"].help_text = _("Sent only where the customer's consent allows it, outside quiet "
                                              "hours; marketing messages count towards the weekly cap.")
        self.fields["task_role"].choices = [("", "—"), *((role, StaffRole(role).label) for role in TASK_ROLES)]
        self.fields["task_role"].help_text = _("A salesperson or service advisor task goes to the customer's own "
                                               "salesperson or advisor; when they have none, to everyone in the role.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("trigger") == Automation.Trigger.NO_VISIT and not cleaned.get("months"):
            self.add_error("months", _("Say after how many months without a visit."))
        elif cleaned.get("trigger") and cleaned.get("trigger") != Automation.Trigger.NO_VISIT:
            cleaned["months"] = None
        if cleaned.get("action") == Automation.Action.MESSAGE:
            if not cleaned.get("template"):
                self.add_error("template", _("Choose the template to send."))
            elif not cleaned["template"].is_active and cleaned.get("is_active"):
                self.add_error("template", _("This template is switched off: switch it on or choose another."))
            cleaned["task_role"], cleaned["task_title"] = "", ""
        elif cleaned.get("action") == Automation.Action.TASK:
            if not cleaned.get("task_role"):
                self.add_error("task_role", _("Choose who gets the task."))
            if not (cleaned.get("task_title") or "").strip():
                self.add_error("task_title", _("Say what to do."))
            cleaned["template"] = None
        return cleaned


class TaskDoneForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), max_length=300)
