from django.urls import include, path

urlpatterns = [
    path("", include("crm.core.urls")),
    path("customers/", include("crm.customers.urls")),
]
