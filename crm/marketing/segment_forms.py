"""Forms of the segment screens, and the audience form campaigns, call lists and invitations share."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.dealerships.models import Rooftop

from .models import Segment
from .segments import OPEN_PROSPECT, criteria_clean, saved_segments, segment_choices

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class AudienceForm(forms.Form):
    """Who: a computed segment and/or filters, as call lists and campaigns choose their customers."""

    saved_segment = forms.ModelChoiceField(label=_("Saved segment"), required=False, queryset=Segment.objects.none(),
                                           empty_label=_("None"))
    segment = forms.ChoiceField(label=_("Computed segment"), required=False)
    rooftop = forms.ModelChoiceField(label=_("Rooftop"), required=False, queryset=Rooftop.objects.filter(
        is_active=True), empty_label=_("Any"))
    make = forms.CharField(label=_("Car make"), max_length=60, required=False)
    model = forms.CharField(label=_("Car model"), max_length=80, required=False)
    last_visit_before = forms.DateField(label=_("Last service visit before"), required=False, widget=DATE,
                                        help_text=_("Customers who came to the workshop, but not since this day."))
    open_prospect = forms.ChoiceField(label=_("Prospect"), required=False,
                                      choices=[("", _("Either")), *OPEN_PROSPECT.items()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["segment"].choices = [("", _("No segment")), *segment_choices()]
        self.fields["saved_segment"].queryset = saved_segments()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.errors:
            try:
                cleaned["criteria"] = criteria_clean(cleaned)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned




class SegmentForm(forms.ModelForm):
    class Meta:
        model = Segment
        fields = ("name", "description", "kind", "match")
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["description"].help_text = _("Who they are and what the segment is for, for colleagues.")
        if self.instance.pk:  # a list does not become rules, nor rules a list: freeze into a new list instead
            self.fields["kind"].disabled = True


class MemberAddForm(forms.Form):
    """Add everyone of another segment to a fixed list."""

    source = forms.ModelChoiceField(label=_("Everyone in"), queryset=Segment.objects.none())

    def __init__(self, *args: Any, segment: Segment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = saved_segments().exclude(pk=segment.pk)


class FreezeForm(forms.Form):
    name = forms.CharField(label=_("Name of the fixed list"), max_length=200)
