from django.urls import path

from . import views

urlpatterns = [path("<str:token>/", views.answer_page, name="survey_answer")]
