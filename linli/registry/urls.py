from django.http import HttpResponse
from django.urls import path

app_name = "registry"


def _todo(request, **kwargs):  # placeholder until the page is built
    return HttpResponse("TODO")


urlpatterns = [
    path("tree/", _todo, name="tree"),
    path("search/", _todo, name="search"),
    path("household/<int:pk>/", _todo, name="household"),
]
