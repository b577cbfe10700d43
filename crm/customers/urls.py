from django.urls import path, re_path

from . import company_views, import_views, quality_views, views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("handover/", views.customers_handover, name="handover"),
    path("duplicates/", views.duplicates_review, name="duplicates"),
    path("duplicates/<int:pk>/", views.duplicate_decide, name="duplicate_decide"),
    path("merges/<int:pk>/undo/", views.merge_undo_view, name="merge_undo"),
    path("companies/", company_views.company_list, name="companies"),
    path("companies/new/", company_views.company_form, name="company_create"),
    path("companies/<int:pk>/", company_views.company_detail, name="company_detail"),
    path("companies/<int:pk>/edit/", company_views.company_form, name="company_edit"),
    path("companies/<int:pk>/contacts/", company_views.company_contact_create, name="company_contact_create"),
    path("companies/<int:pk>/contacts/<int:contact_pk>/end/", company_views.company_contact_end,
         name="company_contact_end"),
    path("companies/<int:pk>/vehicles/", company_views.company_vehicle_create, name="company_vehicle_create"),
    path("quality/", quality_views.quality_overview, name="quality"),
    path("to-verify/", quality_views.to_verify_list, name="to_verify"),
    path("<int:pk>/verify/", quality_views.contacts_verify, name="verify"),
    path("<int:pk>/archive/", quality_views.person_archive, name="archive"),
    path("<int:pk>/restore/", quality_views.person_restore, name="restore"),
    path("imports/", import_views.import_list, name="imports"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", import_views.import_progress, name="import_progress"),
    path("imports/<int:pk>/resume/", import_views.import_resume, name="import_resume"),
    path("imports/<int:pk>/rejected-rows.csv", import_views.import_problems, name="import_problems"),
    path("imports/profiles/<int:pk>/delete/", import_views.import_profile_delete, name="import_profile_delete"),
    re_path(r"^export\.(?P<file_format>csv|xlsx)$", views.customer_export, name="export"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/edit/", views.customer_edit, name="edit"),
    path("<int:pk>/notes/", views.note_create, name="note_create"),
    path("<int:pk>/consents/", views.consent_create, name="consent_create"),
    path("<int:pk>/vehicles/", views.vehicle_link_create, name="vehicle_create"),
    path("<int:pk>/vehicles/<int:link_pk>/end/", views.vehicle_link_end, name="vehicle_end"),
    path("<int:pk>/household/", views.household_member_add, name="household_add"),
    path("<int:pk>/household/<int:household_pk>/name/", views.household_rename, name="household_rename"),
    path("<int:pk>/household/<int:household_pk>/members/<int:member_pk>/remove/", views.household_member_remove,
         name="household_remove"),
]
