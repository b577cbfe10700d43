from django.urls import path

from . import automation_views, screens, segment_views

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
    path("automations/", automation_views.automation_list, name="automations"),
    path("automations/new/", automation_views.automation_edit, name="automation_create"),
    path("automations/<int:pk>/", automation_views.automation_detail, name="automation_detail"),
    path("automations/<int:pk>/edit/", automation_views.automation_edit, name="automation_edit"),
    path("automations/<int:pk>/toggle/", automation_views.automation_toggle, name="automation_toggle"),
    path("segments/", segment_views.segment_list, name="segments"),
    path("segments/new/", segment_views.segment_edit, name="segment_create"),
    path("segments/<int:pk>/", segment_views.segment_detail, name="segment_detail"),
    path("segments/<int:pk>/edit/", segment_views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/freeze/", segment_views.segment_freeze, name="segment_freeze"),
    path("segments/<int:pk>/archive/", segment_views.segment_archive, name="segment_archive"),
    path("segments/<int:pk>/members/add/", segment_views.list_member_add, name="list_member_add"),
    path("segments/<int:pk>/members/<int:person_pk>/remove/", segment_views.list_member_remove,
         name="list_member_remove"),
    path("events/", screens.event_list, name="events"),
    path("events/new/", screens.event_create, name="event_create"),
    path("events/<int:pk>/", screens.event_detail, name="event_detail"),
    path("events/invitations/<int:pk>/check-in/", screens.event_check_in, name="event_check_in"),
]
