from django.test import Client

from linli.accounts.choices import Role
from linli.accounts.models import User


def test_a_community_worker_sees_only_the_accounts_of_their_community(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    page = client_for(personas.community_worker).get("/admin/accounts/user/").content.decode()
    assert ">grid<" in page and ">medic<" in page
    assert ">outsider<" not in page and ">street<" not in page and ">admin<" not in page


def test_a_community_worker_cannot_open_an_account_outside_the_community(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(personas.community_worker).get(f"/admin/accounts/user/{personas.outsider.pk}/change/")
    assert response.status_code in (302, 403, 404)
    assert "outsider" not in response.content.decode() or response.status_code == 302


def test_a_community_worker_creates_a_grid_worker_in_scope(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    client: Client = client_for(personas.community_worker)
    response = client.post(
        "/admin/accounts/user/add/",
        {
            "username": "newgrid",
            "display_name": "新网格员",
            "phone": "",
            "role": Role.GRID_WORKER,
            "is_active": "on",
            "grid": personas.tree.g2.pk,
            "new_password": "a-strong-password-1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newgrid")
    assert (user.street_id, user.community_id, user.grid_id) == (
        personas.tree.street.pk,
        personas.tree.c1.pk,
        personas.tree.g2.pk,
    )
    assert not user.is_superuser


def test_a_community_worker_cannot_grant_street_command(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(personas.community_worker).post(
        "/admin/accounts/user/add/",
        {"username": "boss", "role": Role.STREET_COMMAND, "is_active": "on", "community": personas.tree.c1.pk},
    )
    assert response.status_code == 200  # the form comes back with an error
    assert not User.objects.filter(username="boss").exists()


def test_grid_workers_have_no_back_office(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(personas.grid_worker).get("/admin/accounts/user/")
    assert response.status_code == 302
