from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from linli import views
from linli.api import api

admin.site.site_header = _("邻里 · 后台管理")
admin.site.site_title = _("邻里后台")
admin.site.index_title = _("后台管理")


def admin_login(request: HttpRequest) -> HttpResponse:
    """The back office logs in through the one throttled login page."""
    return redirect(f"{reverse('accounts:login')}?{urlencode({'next': request.GET.get('next', '/admin/')})}")


urlpatterns = [
    # First: Django tries these in order, and the API's rush paths (linli.api.HOT_ROUTERS) are the
    # most frequent requests of all.
    path("api/v1/", api.urls),
    path("admin/login/", admin_login),
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico whatever the page links (and the checkpoint page, an installed
    # app, links its own icons): the static icon, not a 404 in the log for every new visitor.
    path("favicon.ico", RedirectView.as_view(url=static("linli/favicon.ico"), permanent=True), name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("linli.accounts.urls")),
    path("registry/", include("linli.registry.urls")),
    path("survey/", include("linli.survey.urls")),
    path("org/", include("linli.organisation.urls")),
    path("rosters/", include("linli.rosters.urls")),
    path("audit/", include("linli.audit.urls")),
    path("gate/", include("linli.gate.urls")),
    path("health/", include("linli.health.urls")),
    path("supplies/", include("linli.supplies.urls")),
    path("admin/", admin.site.urls),
]
