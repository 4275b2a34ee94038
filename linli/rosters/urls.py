from django.urls import path

from linli.rosters import views

app_name = "rosters"

urlpatterns = [
    path("", views.index, name="index"),
    path("template.xlsx", views.template_download, name="template"),
    path("export.xlsx", views.export_download, name="export"),
    path("job/<int:pk>/", views.job, name="job"),
    path("job/<int:pk>/status/", views.job_status, name="job_status"),
    path("job/<int:pk>/bad-rows.xlsx", views.job_bad_rows, name="job_bad_rows"),
]
