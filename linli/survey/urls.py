from django.urls import path

from linli.survey import views

app_name = "survey"

urlpatterns = [
    path("", views.progress, name="progress"),
    path("household/<int:pk>/visit/", views.visit_create, name="visit_create"),
]
