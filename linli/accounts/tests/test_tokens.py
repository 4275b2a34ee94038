from django.test import Client

from linli.accounts.models import ApiToken
from linli.accounts.services import api_token_create, api_token_revoke


def test_an_api_token_authenticates_as_its_owner(personas) -> None:  # type: ignore[no-untyped-def]
    _token, key = api_token_create(user=personas.grid_worker, name="对接")
    response = Client().get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert response.json()["username"] == "grid"
    assert response.json()["scope_path"] == ["和平街道", "幸福社区", "第一网格"]


def test_a_revoked_or_made_up_token_is_refused(personas) -> None:  # type: ignore[no-untyped-def]
    token, key = api_token_create(user=personas.grid_worker, name="对接")
    api_token_revoke(token=token)
    assert Client().get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    assert Client().get("/api/v1/accounts/me", HTTP_AUTHORIZATION="Bearer ll_madeup").status_code == 401


def test_only_the_hash_of_a_token_is_stored(personas) -> None:  # type: ignore[no-untyped-def]
    token, key = api_token_create(user=personas.grid_worker, name="对接")
    assert key not in token.key_hash
    assert ApiToken.objects.get(pk=token.pk).key_hash == ApiToken.hash(key)


def test_the_tokens_page_shows_a_new_key_once(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.community_worker)
    response = client.post("/accounts/tokens/", {"name": "区级对接"})
    assert response.context["new_key"].startswith("ll_")
    again = client.get("/accounts/tokens/")
    assert again.context["new_key"] is None
    assert "区级对接" in again.content.decode()


def test_one_cannot_revoke_another_users_token(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    token, _key = api_token_create(user=personas.grid_worker, name="对接")
    response = client_for(personas.outsider).post(f"/accounts/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_residents_have_no_tokens_page(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    assert client_for(personas.resident).get("/accounts/tokens/").status_code == 403
