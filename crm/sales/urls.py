from django.urls import include, path

from . import views

app_name = "sales"

urlpatterns = [
    path("", views.my_day, name="my_day"),
    path("prospects/", views.prospect_list, name="prospects"),
    path("prospects/new/", views.prospect_create, name="prospect_create"),
    path("prospects/<int:pk>/", views.prospect_detail, name="prospect_detail"),
    path("prospects/<int:pk>/contacts/", views.contact_create, name="contact_create"),
    path("prospects/<int:pk>/level/", views.level_update, name="level_update"),
    path("prospects/<int:pk>/assign/", views.assign, name="assign"),
    path("prospects/<int:pk>/deals/", views.deal_create, name="deal_create"),
    path("prospects/<int:pk>/test-drives/", views.test_drive_create, name="test_drive_create"),
    path("prospects/<int:pk>/transfer/", views.transfer_create, name="transfer_create"),
    path("deals/<int:pk>/stage/", views.deal_stage, name="deal_stage"),
    path("deals/<int:pk>/offer.pdf", views.deal_offer, name="deal_offer"),
    path("deals/<int:pk>/delivery/", views.deal_deliver, name="deal_deliver"),
    path("test-drives/", views.demo_calendar, name="demo_calendar"),
    path("test-drives/<int:pk>/", views.test_drive_status, name="test_drive_status"),
    path("care/<int:pk>/done/", views.care_done, name="care_done"),
    path("transfers/", views.transfers, name="transfers"),
    path("handover/", views.handover, name="handover"),
    path("review/", views.review, name="review"),
    path("settings/", views.sales_settings, name="settings"),
    path("settings/schedules/", views.schedule_save, name="schedule_save"),
    path("settings/demo-cars/", views.demo_save, name="demo_save"),
    path("calls/", include("crm.sales.calllist_urls")),
    path("reports/", include("crm.sales.report_urls")),
]
