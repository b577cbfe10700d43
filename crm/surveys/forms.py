from django import forms
from django.utils.translation import gettext_lazy as _


class AnswerForm(forms.Form):
    satisfaction = forms.TypedChoiceField(
        label=_("How satisfied are you with our work?"), coerce=int, widget=forms.RadioSelect,
        choices=[(n, str(n)) for n in range(1, 6)], help_text=_("1 = not at all, 5 = completely"))
    recommend = forms.TypedChoiceField(
        label=_("How likely are you to recommend us to a friend?"), coerce=int, widget=forms.RadioSelect,
        choices=[(n, str(n)) for n in range(11)], help_text=_("0 = not at all likely, 10 = extremely likely"))
    comment = forms.CharField(label=_("Anything we should know?"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))
