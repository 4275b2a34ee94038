"""Regressions from the security review: secrets never reach staff, scopes follow the registry."""

import re

import pytest
from django.test import Client

from linli.accounts.models import SmsMessage, User
from linli.accounts.sms import BaseBackend
from linli.audit.models import AuditEvent
from linli.registry import services
from linli.registry.models import Person


class GatewayBackend(BaseBackend):
    """Stands in for a real SMS gateway (outside our code): delivers nothing, shows no codes."""

    name = "gateway"
    shows_codes_in_outbox = False
    sent: list[str] = []

    def send(self, phone: str, body: str) -> None:
        GatewayBackend.sent.append(body)


def test_with_a_real_gateway_the_stored_sms_has_no_login_code(personas, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SMS_BACKEND = "linli.accounts.tests.test_review_fixes.GatewayBackend"
    phone = personas.resident.phone
    Client().post("/accounts/login/resident/", {"phone": phone})
    code = re.search(r"\d{6}", GatewayBackend.sent[-1])
    assert code is not None
    stored = SmsMessage.objects.get(phone=phone).body
    assert code.group(0) not in stored and "******" in stored


@pytest.fixture
def null_sms(settings):  # type: ignore[no-untyped-def]
    settings.SMS_BACKEND = "linli.accounts.sms.NullBackend"


def _login_with_code(client: Client, phone: str) -> None:
    client.post("/accounts/login/resident/", {"phone": phone})
    body = SmsMessage.objects.filter(phone=phone).latest("created_at").body
    code = re.search(r"\d{6}", body)
    assert code is not None
    client.post("/accounts/login/resident/code/", {"phone": phone, "code": code.group(0)})


@pytest.mark.usefixtures("null_sms")
def test_a_resident_who_moved_is_scoped_to_the_new_household(personas) -> None:  # type: ignore[no-untyped-def]
    person = Person.objects.get(household=personas.resident_household, phone=personas.resident.phone)
    new_home = personas.tree.households[f"{personas.tree.b2.code}/1单元/102"]
    Person.objects.filter(pk=person.pk).update(household=new_home)
    client = Client()
    _login_with_code(client, person.phone)
    assert client.get("/").headers["Location"] == f"/registry/household/{new_home.pk}/"
    assert User.objects.get(pk=personas.resident.pk).household_id == new_home.pk


@pytest.mark.usefixtures("null_sms")
def test_a_resident_no_longer_registered_gets_no_code_and_no_login(personas) -> None:  # type: ignore[no-untyped-def]
    person = Person.objects.get(household=personas.resident_household, phone=personas.resident.phone)
    services.person_delete(person=person, actor=personas.community_worker)
    client = Client()
    client.post("/accounts/login/resident/", {"phone": personas.resident.phone})
    assert not SmsMessage.objects.filter(phone=personas.resident.phone).exists()
    assert "_auth_user_id" not in client.session


def test_password_hashes_never_reach_the_audit_log(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    client_for(personas.community_worker).post(
        "/admin/accounts/user/add/",
        {
            "username": "newgrid",
            "role": "grid_worker",
            "is_active": "on",
            "grid": personas.tree.g2.pk,
            "new_password": "a-strong-password-1",
        },
    )
    event = AuditEvent.objects.get(model="accounts.User", action="create")
    assert "password" not in event.changes


def test_a_node_cannot_be_moved_in_the_admin(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    grid = personas.tree.g2
    response = client_for(personas.street_command).post(
        f"/admin/registry/grid/{grid.pk}/change/", {"name": "改名网格", "community": personas.tree.c2.pk}
    )
    assert response.status_code == 302  # saved: the name changed, the community did not
    grid.refresh_from_db()
    assert grid.name == "改名网格"
    assert grid.community_id == personas.tree.c1.pk


def test_street_command_cannot_download_rejected_rows(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    from linli.rosters.models import ImportJob

    job = ImportJob.objects.create(
        created_by=personas.community_worker,
        street=personas.tree.street,
        community=personas.tree.c1,
        file_name="x.xlsx",
        status="rejected",
        errors=[{"row": 2, "column": "姓名", "reason": "请填写姓名"}],
    )
    assert client_for(personas.street_command).get(f"/rosters/job/{job.pk}/bad-rows.xlsx").status_code == 403


def test_the_secret_key_is_never_a_published_default() -> None:
    from django.conf import settings

    assert "insecure" not in settings.SECRET_KEY and len(settings.SECRET_KEY) >= 40
