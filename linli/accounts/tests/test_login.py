import pytest
from django.test import Client, override_settings

from linli.accounts.models import LoginFailure
from linli.lib.testing import PASSWORD


def test_staff_logs_in_with_a_password(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/accounts/login/", {"username": "grid", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_in_chinese(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/accounts/login/", {"username": "grid", "password": "wrong-password"})
    assert response.status_code == 200
    assert "用户名或密码不正确" in response.content.decode()
    assert LoginFailure.objects.filter(key="account:grid").count() == 1


@override_settings(LOGIN_MAX_FAILURES=3)
def test_repeated_failures_lock_the_account_even_for_the_right_password(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        client.post("/accounts/login/", {"username": "grid", "password": "guess"})
    response = client.post("/accounts/login/", {"username": "grid", "password": PASSWORD})
    assert response.status_code == 429
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(LOGIN_MAX_FAILURES=3, LOGIN_FAILURE_WINDOW_SECONDS=0)
def test_failures_outside_the_window_do_not_count(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        client.post("/accounts/login/", {"username": "grid", "password": "guess"})
    response = client.post("/accounts/login/", {"username": "grid", "password": PASSWORD})
    assert response.status_code == 302


def test_success_clears_the_account_failures(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.post("/accounts/login/", {"username": "grid", "password": "guess"})
    client.post("/accounts/login/", {"username": "grid", "password": PASSWORD})
    assert not LoginFailure.objects.filter(key="account:grid").exists()


def test_login_does_not_redirect_to_another_site(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/accounts/login/", {"username": "grid", "password": PASSWORD, "next": "https://evil.example.com/"}
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_a_resident_without_password_cannot_use_the_staff_login(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    personas.resident.set_unusable_password()
    personas.resident.save()
    response = client.post("/accounts/login/", {"username": personas.resident.username, "password": ""})
    assert "_auth_user_id" not in client.session
    assert response.status_code == 200
