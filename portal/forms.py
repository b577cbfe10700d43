from django import forms
from django.utils.translation import gettext_lazy as _


class ClaimForm(forms.Form):
    vin = forms.CharField(label=_("VIN"), max_length=40, help_text=_(
        "17 letters and digits, on your registration document and at the bottom of the windscreen."))


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=6, min_length=6,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))
