from django.urls import path

from linli.registry import views

app_name = "registry"

urlpatterns = [
    path("tree/", views.tree, name="tree"),
    path("node/<str:level>/<int:pk>/", views.node, name="node"),
    path("search/", views.search, name="search"),
    path("household/<int:pk>/", views.household, name="household"),
    path("household/<int:pk>/edit/", views.household_edit, name="household_edit"),
    path("household/<int:pk>/person/add/", views.person_add, name="person_add"),
    path("household/<int:pk>/travel/add/", views.travel_add, name="travel_add"),
    path("person/<int:pk>/edit/", views.person_edit, name="person_edit"),
    path("person/<int:pk>/delete/", views.person_delete, name="person_delete"),
    path("person/<int:pk>/reveal/<str:field>/", views.person_reveal, name="person_reveal"),
]
