"""The roster pages: upload, job progress and report, template, export — and who may use them."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from python_calamine import CalamineWorkbook

from linli.audit.models import AuditAction, AuditEvent
from linli.lib.testing import Personas, make_id_number
from linli.registry.models import Person
from linli.rosters.models import ImportJob, ImportStatus
from linli.rosters.services import roster_import
from linli.rosters.tests.conftest import HEADERS, person_row


def upload(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def sheet_rows(content: bytes) -> list[list[Any]]:
    return CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0).to_python()


def content_of(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("persona", ["building_lead", "gate_guard", "medic", "supplier", "resident"])
@pytest.mark.parametrize("url", ["rosters:index", "rosters:template", "rosters:export"])
def test_roles_that_do_not_edit_the_registry_are_refused(
    personas: Personas, client_for: Any, persona: str, url: str
) -> None:
    assert client_for(getattr(personas, persona)).get(reverse(url)).status_code == 403


def test_the_page_offers_upload_template_and_export(personas: Personas, client_for: Any) -> None:
    response = client_for(personas.grid_worker).get(reverse("rosters:index"))

    assert response.status_code == 200
    page = response.content.decode()
    assert reverse("rosters:template") in page and reverse("rosters:export") in page
    assert "阳光小区" in page and "和谐家园" not in page  # export choices: the grid worker's compounds only


def test_uploading_a_good_file_imports_it_and_shows_the_job(
    personas: Personas, client_for: Any, roster: Callable[..., Path]
) -> None:
    id_number = make_id_number()
    client = client_for(personas.community_worker)

    response = client.post(
        reverse("rosters:index"), {"file": upload(roster([person_row(身份证号=id_number)])), "mode": "all"}
    )

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("rosters:job", kwargs={"pk": job.pk})
    assert job.status == ImportStatus.DONE
    assert Person.objects.filter(id_number=id_number).exists()
    page = client.get(response["Location"]).content.decode()
    assert "已导入1行" in page and "hx-trigger" not in page


def test_a_bad_file_shows_every_error_and_offers_the_bad_rows(
    personas: Personas, client_for: Any, roster: Callable[..., Path]
) -> None:
    client = client_for(personas.community_worker)
    path = roster(
        [person_row(姓名=""), person_row(姓名="好人", 身份证号=make_id_number()), person_row(健康码="紫", 房号="302")]
    )

    response = client.post(reverse("rosters:index"), {"file": upload(path), "mode": "all"}, follow=True)

    page = response.content.decode()
    assert "有2行错误，没有导入任何数据" in page and "请填写姓名" in page and "无法识别“紫”" in page
    job = ImportJob.objects.get()
    bad = client.get(reverse("rosters:job_bad_rows", kwargs={"pk": job.pk}))
    rows = sheet_rows(content_of(bad))
    assert [row[0] for row in rows[1:]] == [2, 4]
    assert rows[1][-1] == "姓名：请填写姓名"


def test_only_good_rows_and_check_only_modes(personas: Personas, client_for: Any, roster: Callable[..., Path]) -> None:
    client = client_for(personas.community_worker)
    path = roster([person_row(姓名="好人", 身份证号=make_id_number()), person_row(姓名="", 房号="302")])

    client.post(reverse("rosters:index"), {"file": upload(path), "mode": "check"})
    assert not Person.objects.filter(name="好人").exists()
    client.post(reverse("rosters:index"), {"file": upload(path), "mode": "good"})

    assert Person.objects.filter(name="好人").exists()
    assert list(ImportJob.objects.order_by("pk").values_list("dry_run", "only_good_rows")) == [
        (True, False),
        (False, True),
    ]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "另存为” .xlsx"),
        ("list.csv", "姓名\n张三\n".encode(), "不支持 CSV"),
        ("photo.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "不是有效的 Excel"),
        ("empty.xlsx", b"", "空文件"),
    ],
)
def test_uploads_that_are_not_xlsx_are_refused_with_a_reason(
    personas: Personas, client_for: Any, name: str, content: bytes, message: str
) -> None:
    response = client_for(personas.community_worker).post(
        reverse("rosters:index"), {"file": SimpleUploadedFile(name, content), "mode": "all"}
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_upload_over_the_size_limit_is_refused(
    personas: Personas, client_for: Any, roster: Callable[..., Path], settings: Any
) -> None:
    settings.ROSTER_MAX_UPLOAD_BYTES = 1024 * 1024
    big = SimpleUploadedFile("big.xlsx", b"PK\x03\x04" + b"\0" * (1024 * 1024 + 1))

    response = client_for(personas.community_worker).post(reverse("rosters:index"), {"file": big, "mode": "all"})

    assert response.status_code == 400 and "文件太大：最大 1 MB" in response.content.decode()


def test_a_running_job_polls_its_progress(personas: Personas, client_for: Any) -> None:
    job = ImportJob.objects.create(
        created_by=personas.community_worker,
        community=personas.tree.c1,
        street=personas.tree.street,
        file_name="大文件.xlsx",
        status=ImportStatus.VALIDATING,
        total_rows=4000,
        processed_rows=1000,
    )
    client = client_for(personas.community_worker)

    page = client.get(reverse("rosters:job", kwargs={"pk": job.pk})).content.decode()
    partial = client.get(reverse("rosters:job_status", kwargs={"pk": job.pk}), HTTP_HX_REQUEST="true").content.decode()

    for html in (page, partial):
        assert 'hx-trigger="every 1s"' in html and "width:25%" in html and "已检查 1000 / 4000 行" in html
    assert "<html" not in partial


def test_jobs_of_another_community_are_not_found(
    personas: Personas, client_for: Any, roster: Callable[..., Path]
) -> None:
    job = roster_import(path=roster([person_row(姓名="")]), user=personas.community_worker)
    outsider = client_for(personas.outsider)

    for name in ("rosters:job", "rosters:job_status", "rosters:job_bad_rows"):
        assert outsider.get(reverse(name, kwargs={"pk": job.pk})).status_code == 404
    assert "幸福社区" not in outsider.get(reverse("rosters:index")).content.decode()


def test_a_community_job_is_hidden_from_the_grid_worker(
    personas: Personas, client_for: Any, roster: Callable[..., Path]
) -> None:
    job = roster_import(path=roster([person_row(姓名="")]), user=personas.community_worker)

    assert client_for(personas.grid_worker).get(reverse("rosters:job", kwargs={"pk": job.pk})).status_code == 404


def test_the_template_downloads_and_imports_back_cleanly(personas: Personas, client_for: Any, tmp_path: Path) -> None:
    response = client_for(personas.community_worker).get(reverse("rosters:template"))

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    content = content_of(response)
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
    assert workbook.sheet_names == ["台账", "说明"]
    rows = workbook.get_sheet_by_index(0).to_python()
    assert rows[0] == HEADERS and rows[1][0] == "幸福社区" and str(rows[1][6]).startswith("【示例】")
    path = tmp_path / "template.xlsx"
    path.write_bytes(content)
    job = roster_import(path=path, user=personas.community_worker)
    assert (job.status, job.error_count, job.created_people) == (ImportStatus.DONE, 0, 0)
    job = roster_import(path=path, user=personas.community_worker, dry_run=True)
    assert job.error_count == 0  # the example row is valid apart from being an example


def test_an_export_imports_back_with_no_changes(personas: Personas, client_for: Any, tmp_path: Path) -> None:
    Person.objects.filter(household__compound=personas.tree.p1).update(
        lives_alone=True, note="行动不便", helper_name="小李"
    )
    household = Person.objects.filter(household__compound=personas.tree.p2).first().household  # type: ignore[union-attr]
    household.landlord_name, household.landlord_phone = "周房东", "13600006666"
    household.save()
    Person.objects.create(household=household, name="无证老人", relation="parent")
    before = {p.pk: (p.updated_at, p.household_id) for p in Person.objects.all()}
    client = client_for(personas.community_worker)

    response = client.get(reverse("rosters:export"))
    path = tmp_path / "export.xlsx"
    path.write_bytes(content_of(response))
    job = roster_import(path=path, user=personas.community_worker)

    assert job.status == ImportStatus.DONE, job.errors
    people = Person.objects.filter(household__community=personas.tree.c1).count()
    assert (job.processed_rows, job.created_people, job.updated_people, job.created_households) == (people, 0, 0, 0)
    assert {p.pk: (p.updated_at, p.household_id) for p in Person.objects.all()} == before


def test_an_export_holds_only_the_users_scope_and_is_audited(personas: Personas, client_for: Any) -> None:
    response = client_for(personas.outsider).get(reverse("rosters:export"))

    rows = sheet_rows(content_of(response))[1:]
    assert {row[0] for row in rows} == {"团结社区"}
    assert len(rows) == Person.objects.filter(household__community=personas.tree.c2).count()
    event = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert (event.actor, event.changes["rows"], event.community_id) == (
        personas.outsider,
        len(rows),
        personas.tree.c2.pk,
    )


def test_an_export_of_one_compound(personas: Personas, client_for: Any) -> None:
    client = client_for(personas.community_worker)

    response = client.get(reverse("rosters:export"), {"node": f"compound:{personas.tree.p2.pk}"})

    rows = sheet_rows(content_of(response))[1:]
    assert {row[2] for row in rows} == {"和谐家园"} and len(rows) == 6
    assert (
        client_for(personas.outsider)
        .get(reverse("rosters:export"), {"node": f"compound:{personas.tree.p2.pk}"})
        .status_code
        == 404
    )
    assert client.get(reverse("rosters:export"), {"node": "person:1"}).status_code == 404
