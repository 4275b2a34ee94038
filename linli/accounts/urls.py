from django.contrib.auth import views as auth_views
from django.urls import path

from linli.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.staff_login, name="login"),
    path("login/resident/", views.resident_login, name="resident_login"),
    path("login/resident/code/", views.resident_code, name="resident_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("outbox/", views.outbox, name="outbox"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]
