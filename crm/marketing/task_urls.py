from django.urls import path

from . import automation_views

app_name = "tasks"

urlpatterns = [
    path("", automation_views.task_list, name="list"),
    path("<int:pk>/take/", automation_views.task_take, name="take"),
    path("<int:pk>/done/", automation_views.task_done, name="done"),
]
