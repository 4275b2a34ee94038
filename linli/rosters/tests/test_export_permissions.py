"""An export carries full ID numbers and phones, so only the roles that may reveal them may export."""

from linli.accounts.services import api_token_create


def test_a_street_commander_may_import_but_not_export(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    client = client_for(personas.street_command)
    assert client.get("/rosters/").status_code == 200
    assert "不能导出台账" in client.get("/rosters/").content.decode()
    assert client.get("/rosters/export.xlsx").status_code == 403
    _token, key = api_token_create(user=personas.street_command, name="t")
    response = client.get("/api/v1/rosters/export", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 403
    assert "无权导出" in response.json()["detail"]


def test_a_grid_worker_exports_their_grid(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    response = client_for(personas.grid_worker).get("/rosters/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
