from django.urls import path

from linli.organisation import views

app_name = "org"

urlpatterns = [
    path("", views.index, name="index"),
    path("compound/<int:pk>/", views.compound_edit, name="compound_edit"),
    path("compound/<int:pk>/notice.pdf", views.notice_pdf, name="notice_pdf"),
    path("groups/", views.groups, name="groups"),
    path("groups/new/", views.group_create, name="group_create"),
    path("groups/seed/", views.groups_seed, name="groups_seed"),
    path("groups/<int:pk>/", views.group_edit, name="group_edit"),
    path("groups/<int:pk>/delete/", views.group_delete, name="group_delete"),
]
