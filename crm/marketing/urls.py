from django.urls import path

from . import screens

app_name = "marketing"

urlpatterns = [
    path("", screens.campaign_list, name="campaigns"),
    path("campaigns/new/", screens.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", screens.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/action/", screens.campaign_action, name="campaign_action"),
    path("templates/", screens.template_list, name="templates"),
    path("templates/new/", screens.template_edit, name="template_create"),
    path("templates/<int:pk>/", screens.template_edit, name="template_edit"),
    path("rules/", screens.sending_rules, name="rules"),
    path("events/", screens.event_list, name="events"),
    path("events/new/", screens.event_create, name="event_create"),
    path("events/<int:pk>/", screens.event_detail, name="event_detail"),
    path("events/invitations/<int:pk>/check-in/", screens.event_check_in, name="event_check_in"),
]
