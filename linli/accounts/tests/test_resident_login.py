import re

import pytest
from django.test import Client, override_settings

from linli.accounts.choices import Role
from linli.accounts.models import OneTimeCode, SmsMessage, User
from linli.registry.models import Person

pytestmark = pytest.mark.usefixtures("null_sms")


@pytest.fixture
def null_sms(settings):  # type: ignore[no-untyped-def]
    settings.SMS_BACKEND = "linli.accounts.sms.NullBackend"


def _code_sent_to(phone: str) -> str:
    body = SmsMessage.objects.filter(phone=phone).latest("created_at").body
    match = re.search(r"\d{6}", body)
    assert match, body
    return match.group(0)


def test_a_registered_resident_logs_in_with_phone_and_code(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    person = Person.objects.filter(household=personas.tree.households[f"{personas.tree.b2.code}/1单元/102"]).first()
    assert person is not None and person.phone
    response = client.post("/accounts/login/resident/", {"phone": person.phone})
    assert response.status_code == 302
    code = _code_sent_to(person.phone)
    response = client.post("/accounts/login/resident/code/", {"phone": person.phone, "code": code})
    assert response.status_code == 302
    user = User.objects.get(phone=person.phone, role=Role.RESIDENT)
    assert user.household_id == person.household_id
    # a resident lands on their own household, and only theirs
    assert client.get("/").headers["Location"] == f"/registry/household/{person.household_id}/"


def test_full_width_phone_digits_are_accepted(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    phone = personas.resident.phone
    wide = "".join(chr(ord(c) + 0xFEE0) for c in phone)
    client.post("/accounts/login/resident/", {"phone": wide})
    assert SmsMessage.objects.filter(phone=phone).exists()


def test_an_unknown_phone_gets_the_same_answer_and_no_sms(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/accounts/login/resident/", {"phone": "13700000000"}, follow=True)
    assert "如果该手机号已在社区登记" in response.content.decode()
    assert not SmsMessage.objects.filter(phone="13700000000").exists()


def test_a_malformed_phone_is_explained(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/accounts/login/resident/", {"phone": "12345"})
    assert "11位" in response.content.decode()


def test_a_wrong_code_is_refused_and_counted(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    phone = personas.resident.phone
    client.post("/accounts/login/resident/", {"phone": phone})
    code = _code_sent_to(phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/login/resident/code/", {"phone": phone, "code": wrong})
    assert "验证码不正确" in response.content.decode()
    assert OneTimeCode.objects.get(phone=phone).attempts == 1


@override_settings(OTP_MAX_ATTEMPTS=2, LOGIN_MAX_FAILURES=100)
def test_the_code_dies_after_too_many_wrong_tries(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    phone = personas.resident.phone
    client.post("/accounts/login/resident/", {"phone": phone})
    code = _code_sent_to(phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(2):
        client.post("/accounts/login/resident/code/", {"phone": phone, "code": wrong})
    client.post("/accounts/login/resident/code/", {"phone": phone, "code": code})
    assert "_auth_user_id" not in client.session


def test_a_code_works_once(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    phone = personas.resident.phone
    client.post("/accounts/login/resident/", {"phone": phone})
    code = _code_sent_to(phone)
    assert client.post("/accounts/login/resident/code/", {"phone": phone, "code": code}).status_code == 302
    client.logout()
    response = client.post("/accounts/login/resident/code/", {"phone": phone, "code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@override_settings(OTP_TTL_SECONDS=-1)
def test_an_expired_code_is_refused(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    phone = personas.resident.phone
    client.post("/accounts/login/resident/", {"phone": phone})
    code = _code_sent_to(phone)
    client.post("/accounts/login/resident/code/", {"phone": phone, "code": code})
    assert "_auth_user_id" not in client.session


def test_codes_cannot_be_requested_back_to_back(personas, client: Client) -> None:  # type: ignore[no-untyped-def]
    phone = personas.resident.phone
    client.post("/accounts/login/resident/", {"phone": phone})
    response = client.post("/accounts/login/resident/", {"phone": phone})
    assert "秒后再试" in response.content.decode()
    assert SmsMessage.objects.filter(phone=phone).count() == 1


def test_the_outbox_shows_codes_to_the_community_and_not_to_others(personas, client_for) -> None:  # type: ignore[no-untyped-def]
    phone = personas.resident.phone
    Client().post("/accounts/login/resident/", {"phone": phone})
    code = _code_sent_to(phone)
    assert code in client_for(personas.community_worker).get("/accounts/outbox/").content.decode()
    assert code not in client_for(personas.outsider).get("/accounts/outbox/").content.decode()
    assert client_for(personas.grid_worker).get("/accounts/outbox/").status_code == 403
    assert client_for(personas.resident).get("/accounts/outbox/").status_code == 403
