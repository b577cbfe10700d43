"""Forms of the call-centre screens: building a list, sharing it out, recording a call."""

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from crm.customers.models import ConsentPurpose
from crm.marketing.segment_forms import AudienceForm

from .calllists import agents_available
from .models import WORKED_LEVELS, CallOutcome, Level

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CallListForm(AudienceForm):
    name = forms.CharField(label=_("Name"), max_length=200)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=ConsentPurpose.choices, initial=ConsentPurpose.MARKETING,
                                help_text=_("Only customers who agreed to phone calls for this purpose are listed."))
    script = forms.CharField(label=_("Script"), required=False, widget=forms.Textarea(attrs={"rows": 6}),
                             help_text=_("What the agents say: the opening, the offer, the questions."))

    field_order = ("name", "purpose", "script")


class AssignForm(forms.Form):
    agents = forms.ModelMultipleChoiceField(label=_("Agents"), queryset=User.objects.none(),
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = agents_available()


class ReassignForm(forms.Form):
    from_agent = forms.ModelChoiceField(label=_("Calls of"), queryset=User.objects.none())
    to_agent = forms.ModelChoiceField(label=_("Give them to"), queryset=User.objects.none(), required=False,
                                      empty_label=_("Nobody: back to the unassigned calls"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Someone who has left keeps calls until they are passed on, so inactive staff are offered too.
        self.fields["from_agent"].queryset = User.objects.exclude(role="").order_by("first_name", "last_name",
                                                                                    "email")
        self.fields["to_agent"].queryset = agents_available()


class CallOutcomeForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CallOutcome.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    call_back_at = forms.DateTimeField(label=_("Call back at"), required=False, widget=DATETIME,
                                       help_text=_("Required to call back later."))
    level = forms.ChoiceField(label=_("Purchase intent"), initial=Level.C, required=False,
                              choices=[(level.value, level.label) for level in WORKED_LEVELS],
                              help_text=_("For an interested customer: how soon they may buy."))
    model_interest = forms.CharField(label=_("Model of interest"), max_length=120, required=False)
    # The entry's attempts when the screen was shown: a second submit of the same call is noticed.
    attempts_seen = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cleaned["level"] = cleaned.get("level") or Level.C
        if cleaned.get("outcome") == CallOutcome.CALL_BACK:
            when = cleaned.get("call_back_at")
            if when is None and "call_back_at" not in self.errors:
                self.add_error("call_back_at", _("Say when to call back."))
            elif when is not None and when <= timezone.now():
                self.add_error("call_back_at", _("Choose a time that has not passed."))
            elif when is not None and when.year > timezone.now().year + 1:
                self.add_error("call_back_at", _("A call-back is at most a year ahead."))
        return cleaned
