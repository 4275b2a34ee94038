"""The roster API under /api/v1/rosters (SPEC R7): upload an import, follow it, template, export.

Same rules as the pages: only registry-editing roles (403 otherwise), jobs and export nodes
outside the user's scope are 404, ID numbers and phones in error reports are masked.
"""

from __future__ import annotations

import tempfile
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status
from ninja.errors import HttpError
from ninja.files import UploadedFile

from linli.lib.wording import listed
from linli.rosters import selectors, services
from linli.rosters.forms import MODE_CHECK, MODE_GOOD, MODES, check_upload
from linli.rosters.models import ImportJob
from linli.rosters.views import EXPORT_LEVELS, export_node, xlsx_response
from linli.rosters.workbooks import template_workbook

router = Router(tags=["rosters"])


class ImportErrorOut(Schema):
    row: int
    column: str
    cell: str = ""
    value: str = ""
    reason: str


class ImportJobOut(Schema):
    id: int
    file_name: str
    status: str
    status_label: str
    dry_run: bool
    only_good_rows: bool
    total_rows: int
    processed_rows: int
    percent: int
    error_count: int
    created_people: int
    updated_people: int
    created_households: int
    message: str
    notes: list[str]
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_status_label(obj: ImportJob) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_notes(obj: ImportJob) -> list[str]:
        return list((obj.summary or {}).get("notes", []))


class ImportJobDetail(ImportJobOut):
    errors: list[ImportErrorOut]


def _require_editor(user: Any) -> None:
    if not getattr(user, "can_edit_registry", False):
        raise HttpError(403, _("您的角色无权导入或导出台账"))


def _job(request: HttpRequest, job_id: int) -> ImportJob:
    _require_editor(request.user)
    try:
        return selectors.import_jobs_visible(request.user).get(pk=job_id)
    except ImportJob.DoesNotExist as exc:
        raise HttpError(404, _("未找到该导入，或不在您的负责范围内")) from exc


@router.post("/imports", response={201: ImportJobOut}, summary="上传台账（.xlsx）并导入")
def import_create(request: HttpRequest, file: File[UploadedFile], mode: Form[str] = "all") -> Any:
    """``mode``: all（全部正确才导入）、good（只导入正确的行）、check（仅校验）。大文件在后台导入，用 GET 查看进度。"""
    user = request.user
    _require_editor(user)
    if mode not in dict(MODES):
        raise HttpError(422, _("导入方式无效，可选：%(modes)s") % {"modes": listed(dict(MODES))})
    try:
        check_upload(file)
    except ValidationError as exc:
        raise HttpError(422, exc.messages[0]) from exc
    job = services.import_job_create(
        user=user,
        file_name=file.name or "roster.xlsx",
        upload=file,
        only_good_rows=mode == MODE_GOOD,
        dry_run=mode == MODE_CHECK,
    )
    services.import_job_start(job=job)
    job.refresh_from_db()
    return Status(201, job)


@router.get("/imports", response=list[ImportJobOut], summary="最近的导入")
def import_list(request: HttpRequest) -> Any:
    _require_editor(request.user)
    return list(selectors.import_jobs_visible(request.user)[:50])


@router.get("/imports/{job_id}", response=ImportJobDetail, summary="导入进度与错误报告")
def import_detail(request: HttpRequest, job_id: int) -> Any:
    return _job(request, job_id)


@router.get("/template", summary="下载导入模板（.xlsx）")
def template(request: HttpRequest) -> Any:
    _require_editor(request.user)
    stream = tempfile.SpooledTemporaryFile()
    template_workbook(stream, request.user)
    return xlsx_response(stream, _("人员台账模板.xlsx"))


@router.get("/export", summary="导出台账（.xlsx，与模板格式相同）")
def export(request: HttpRequest, level: str | None = None, id: int | None = None) -> Any:
    """``level``（community、grid、compound、building、unit）与 ``id`` 可把导出限于某个节点。"""
    user = request.user
    _require_editor(user)
    if not getattr(user, "can_reveal", False):
        raise HttpError(403, _("导出的台账含完整身份证号和手机号，您的角色无权导出"))
    if level is not None and level not in EXPORT_LEVELS:
        raise HttpError(422, _("层级无效，可选：%(levels)s") % {"levels": listed(EXPORT_LEVELS)})
    try:
        node = export_node(user, level, str(id) if id is not None else None)
    except Http404 as exc:
        raise HttpError(404, _("未找到该节点，或不在您的负责范围内")) from exc
    stream = tempfile.SpooledTemporaryFile(max_size=20 * 1024 * 1024)
    services.roster_export(
        user=user, stream=stream, level=level if node is not None else None, node=node, request=request
    )
    return xlsx_response(stream, _("人员台账.xlsx"))
