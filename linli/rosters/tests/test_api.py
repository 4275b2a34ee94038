"""The roster API under /api/v1/rosters."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from python_calamine import CalamineWorkbook

from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Person
from linli.rosters.models import ImportJob
from linli.rosters.services import roster_import
from linli.rosters.tests.conftest import HEADERS, person_row

BASE = "/api/v1/rosters"


def post_file(client: Any, path: Path, mode: str = "all") -> Any:
    return client.post(f"{BASE}/imports", {"file": SimpleUploadedFile(path.name, path.read_bytes()), "mode": mode})


def test_an_upload_returns_the_job_with_its_outcome(
    personas: Personas, client_for: Any, roster: Callable[..., Path]
) -> None:
    id_number = make_id_number()
    client = client_for(personas.community_worker)

    response = post_file(client, roster([person_row(身份证号=id_number)]))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["created_people"], body["percent"]) == ("done", 1, 100)
    assert Person.objects.filter(id_number=id_number).exists()
    listed = client.get(f"{BASE}/imports").json()
    assert [job["id"] for job in listed] == [body["id"]]


def test_the_job_reports_bad_rows_with_masked_values(
    personas: Personas, client_for: Any, roster: Callable[..., Path]
) -> None:
    client = client_for(personas.community_worker)
    job_id = post_file(client, roster([person_row(手机号="1390000123")])).json()["id"]

    body = client.get(f"{BASE}/imports/{job_id}").json()

    assert (body["status"], body["status_label"], body["error_count"]) == ("rejected", "有错误，未导入", 1)
    [error] = body["errors"]
    assert (error["row"], error["column"], error["cell"], error["value"]) == (2, "手机号", "I2", "139***0123")


@pytest.mark.parametrize("mode", ["check", "good"])
def test_modes_are_passed_through(personas: Personas, client_for: Any, roster: Callable[..., Path], mode: str) -> None:
    body = post_file(client_for(personas.community_worker), roster([person_row()]), mode).json()

    job = ImportJob.objects.get(pk=body["id"])
    assert (job.dry_run, job.only_good_rows) == (mode == "check", mode == "good")


def test_bad_uploads_and_modes_are_422(personas: Personas, client_for: Any, roster: Callable[..., Path]) -> None:
    client = client_for(personas.community_worker)

    assert post_file(client, roster([person_row()]), mode="everything").status_code == 422
    response = client.post(f"{BASE}/imports", {"file": SimpleUploadedFile("a.csv", b"a,b\n1,2\n")})
    assert response.status_code == 422 and "CSV" in response.json()["detail"]


@pytest.mark.parametrize("persona", ["building_lead", "gate_guard", "medic", "supplier", "resident"])
def test_roles_that_do_not_edit_the_registry_get_403(
    personas: Personas, client_for: Any, roster: Callable[..., Path], persona: str
) -> None:
    client = client_for(getattr(personas, persona))

    assert post_file(client, roster([person_row()])).status_code == 403
    for url in ("/imports", "/template", "/export"):
        assert client.get(f"{BASE}{url}").status_code == 403
    assert not ImportJob.objects.exists()


def test_another_communitys_job_is_404(personas: Personas, client_for: Any, roster: Callable[..., Path]) -> None:
    job = roster_import(path=roster([person_row(姓名="")]), user=personas.community_worker)
    outsider = client_for(personas.outsider)

    assert outsider.get(f"{BASE}/imports/{job.pk}").status_code == 404
    assert outsider.get(f"{BASE}/imports").json() == []


def test_template_and_export_download(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.grid_worker)

    template = client.get(f"{BASE}/template")
    export = client.get(f"{BASE}/export", {"level": "building", "id": personas.tree.b2.pk})

    assert CalamineWorkbook.from_filelike(io.BytesIO(b"".join(template.streaming_content))).sheet_names == [
        "台账",
        "说明",
    ]
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(b"".join(export.streaming_content))).get_sheet_by_index(0).to_python()
    )
    assert rows[0] == HEADERS and {row[3] for row in rows[1:]} == {"2号楼"} and len(rows) == 7


def test_an_export_of_another_communitys_node_is_404(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.outsider)

    assert client.get(f"{BASE}/export", {"level": "compound", "id": personas.tree.p1.pk}).status_code == 404
    assert client.get(f"{BASE}/export", {"level": "person", "id": 1}).status_code == 422
