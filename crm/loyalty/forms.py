from django import forms
from django.forms import modelformset_factory
from django.utils.translation import gettext_lazy as _

from crm.dealerships.models import Rooftop

from .models import ClubRules, Reward, Tier


class AdjustForm(forms.Form):
    points = forms.IntegerField(label=_("Points"), min_value=-1_000_000, max_value=1_000_000,
                                help_text=_("Negative to take points away."))
    reason = forms.CharField(label=_("Reason"), max_length=300,
                             help_text=_("The member sees this in their points history."))


class VoucherFindForm(forms.Form):
    code = forms.CharField(label=_("Voucher code"), max_length=20)


class RedeemForm(forms.Form):
    rooftop = forms.ModelChoiceField(label=_("Rooftop"), queryset=Rooftop.objects.none(), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["rooftop"].queryset = Rooftop.objects.order_by("name")


class ClubRulesForm(forms.ModelForm):
    class Meta:
        model = ClubRules
        fields = ["name", "enabled", "terms", "spend_per_point", "tier_basis", "event_points", "referral_trigger",
                  "referral_reward", "referral_points", "referral_voucher", "voucher_valid_days"]
        widgets = {"terms": forms.Textarea(attrs={"rows": 5})}

    def clean(self) -> dict:
        data = super().clean()
        if data.get("referral_reward") == ClubRules.ReferralReward.VOUCHER and not data.get("referral_voucher"):
            self.add_error("referral_voucher", _("Say what the voucher for a referral gives."))
        return data


TierFormSet = modelformset_factory(Tier, fields=["name", "threshold", "benefits"], extra=1, can_delete=True,
                                   widgets={"benefits": forms.TextInput()})
RewardFormSet = modelformset_factory(Reward, fields=["name", "points_cost", "active"], extra=1, can_delete=True)
