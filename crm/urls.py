from django.urls import include, path

urlpatterns = [
    path("", include("crm.core.urls")),
    path("customers/", include("crm.customers.urls")),
    path("sales/", include("crm.sales.urls")),
    path("service/", include("crm.service.urls")),
    path("marketing/", include("crm.marketing.urls")),
    path("tasks/", include("crm.marketing.task_urls")),
    path("club/", include("crm.loyalty.urls")),
    path("analytics/", include("crm.analytics.urls")),
    path("surveys/", include("crm.surveys.urls")),
    path("settings/", include("crm.dealerships.urls")),
    path("settings/", include("crm.integrations.urls")),
]
