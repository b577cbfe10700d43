"""The enquiry form on the dealer's own host (and embeddable on their website): a lead for sales."""

from django.urls import path

from . import lead_views

urlpatterns = [
    path("", lead_views.enquiry, name="enquiry"),
    path("embed/", lead_views.enquiry_embed, name="enquiry_embed"),
    path("thanks/", lead_views.enquiry_thanks, name="enquiry_thanks"),
]
