"""The gate's back office shows a community its own gate records only, and never edits them."""

from __future__ import annotations

import uuid

import pytest

from linli.gate import services
from linli.gate.models import GateScan
from linli.gate.tests.conftest import Gate, at

pytestmark = pytest.mark.django_db


def test_community_sees_its_scans_and_not_another_communitys(gate: Gate, client_for) -> None:  # type: ignore[no-untyped-def]
    services.scan_record(
        gate.checkpoint,
        gate.personas.gate_guard,
        services.ScanInput(
            uuid=uuid.uuid4(), credential=gate.household_pass.token, direction="out", device_time=at(23, 9)
        ),
    )
    scan = GateScan.objects.get()
    own = client_for(gate.personas.community_worker)
    assert own.get(f"/admin/gate/gatescan/{scan.pk}/change/").status_code == 200
    assert own.post(f"/admin/gate/gatescan/{scan.pk}/delete/", {"post": "yes"}).status_code == 403
    other = client_for(gate.personas.outsider)
    page = other.get("/admin/gate/gatescan/")
    assert page.status_code == 200
    assert f"/admin/gate/gatescan/{scan.pk}/change/" not in page.content.decode()
    assert other.get(f"/admin/gate/gatescan/{scan.pk}/change/").status_code in (302, 403, 404)
    assert GateScan.objects.count() == 1


def test_signing_keys_are_not_in_the_admin(gate: Gate, client_for) -> None:  # type: ignore[no-untyped-def]
    assert client_for(gate.personas.admin).get("/admin/gate/signingkey/").status_code == 404
