"""A guard's phone on a bad network sends the same form or request twice: one record, one SMS."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from linli.accounts.models import SmsMessage
from linli.gate.models import Parcel, VehicleEntry, Visit
from linli.gate.tests.conftest import Gate
from linli.gate.tests.test_visitors import VISITOR_ID, login, visit_form

pytestmark = pytest.mark.django_db


def test_visit_form_sent_twice_records_one_visit(gate: Gate) -> None:
    guard = login(gate.personas.gate_guard)
    url = reverse("gate:visit_create", kwargs={"pk": gate.checkpoint.pk})
    page = guard.get(url).content.decode()
    assert 'name="client_uuid"' in page
    key = str(uuid.uuid4())
    for _ in range(2):
        assert guard.post(url, visit_form(gate, client_uuid=key)).status_code == 302
    assert Visit.objects.count() == 1
    # A new form is a new visit (another uuid); the same person is then "already inside".
    assert guard.post(url, visit_form(gate, client_uuid=str(uuid.uuid4()))).status_code == 200
    assert Visit.objects.count() == 1


def test_api_visit_parcel_and_vehicle_resent_with_the_same_uuid(gate: Gate) -> None:
    guard = login(gate.personas.gate_guard)
    base = f"/api/v1/gate/checkpoints/{gate.checkpoint.pk}"
    host = next(h for h in guard.get(f"{base}/hosts", {"room": "101"}).json() if h["room"] == "1号楼1单元101")
    visit = {
        "name": "冯访客",
        "id_number": VISITOR_ID,
        "temperature": "36.4",
        "coming_from": "本市",
        "purpose": "维修",
        "itinerary_checked": True,
        "host_household_id": host["id"],
        "host_person_id": host["members"][0]["id"],
        "uuid": str(uuid.uuid4()),
    }
    first = guard.post(f"{base}/visits", visit, content_type="application/json").json()
    again = guard.post(f"{base}/visits", visit, content_type="application/json").json()
    assert first["id"] == again["id"] and Visit.objects.count() == 1

    parcel = {"carrier": "顺丰", "uuid": str(uuid.uuid4())}
    url = f"/api/v1/gate/households/{gate.household.pk}/parcels"
    sms_before = SmsMessage.objects.count()
    one = guard.post(url, parcel, content_type="application/json").json()
    two = guard.post(url, parcel, content_type="application/json").json()
    assert one["id"] == two["id"] and Parcel.objects.count() == 1
    assert SmsMessage.objects.count() == sms_before + 1

    vehicle = {"plate": "沪A99999", "emergency": True, "uuid": str(uuid.uuid4())}
    for _ in range(2):
        assert guard.post(f"{base}/vehicles", vehicle, content_type="application/json").status_code in (200, 201)
    assert VehicleEntry.objects.count() == 1
