from django.http import HttpResponse
from django.urls import path

app_name = "rosters"


def _todo(request, **kwargs):  # placeholder until the page is built
    return HttpResponse("TODO")


urlpatterns = [
    path("", _todo, name="index"),
]
