from django.contrib import admin
from django.urls import include, path

from linli import views
from linli.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("linli.accounts.urls")),
    path("registry/", include("linli.registry.urls")),
    path("survey/", include("linli.survey.urls")),
    path("org/", include("linli.organisation.urls")),
    path("rosters/", include("linli.rosters.urls")),
    path("audit/", include("linli.audit.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
