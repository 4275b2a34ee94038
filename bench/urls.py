"""linli's URLs plus ``/bench/ping``: the minimal Django JSON view that gives the gate benchmark its
ceiling, served by the same server, middleware and settings as the endpoint measured."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from linli.urls import urlpatterns as linli_urlpatterns


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/ping", ping), *linli_urlpatterns]
