"""Roster pages (SPEC R7): upload and follow an import, download the template, export the roster.

Only roles that edit the registry may use them (others get 403); a job or a node outside the
user's scope answers 404 like a missing one.
"""

from __future__ import annotations

import tempfile
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from linli.lib import scope
from linli.lib.views import as_id
from linli.registry.selectors import NODE_MODELS
from linli.rosters import selectors, services
from linli.rosters.forms import MODE_CHECK, MODE_GOOD, RosterUploadForm
from linli.rosters.models import ImportJob
from linli.rosters.reader import RosterFileError
from linli.rosters.workbooks import template_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_ERRORS = 500
EXPORT_LEVELS = ("community", "grid", "compound", "building", "unit")


def require_roster_user(user: Any) -> None:
    if not getattr(user, "can_edit_registry", False):
        raise PermissionDenied


def require_exporter(user: Any) -> None:
    """An export carries full ID numbers and phones: only the roles that may reveal them may export."""
    require_roster_user(user)
    if not getattr(user, "can_reveal", False):
        raise PermissionDenied(_("导出的台账含完整身份证号和手机号，您的角色无权导出"))


def xlsx_response(stream: Any, filename: str) -> FileResponse:
    stream.seek(0)
    response = FileResponse(stream, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename) or ""
    return response


def export_node(user: Any, level: str | None, node_id: str | None) -> Any:
    """The node an export is limited to, when one is asked for; Http404 when it is not the user's."""
    if not level:
        return None
    pk = as_id(node_id)
    if level not in EXPORT_LEVELS or pk is None:
        raise Http404
    return scope.get_visible_or_404(NODE_MODELS[level].objects.all(), user, pk=pk)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    require_roster_user(user)
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        mode = form.cleaned_data["mode"]
        job = services.import_job_create(
            user=user,
            file_name=upload.name,
            upload=upload,
            only_good_rows=mode == MODE_GOOD,
            dry_run=mode == MODE_CHECK,
        )
        services.import_job_start(job=job)
        return redirect("rosters:job", pk=job.pk)
    compounds = scope.visible(NODE_MODELS["compound"].objects.all(), user).order_by("code")
    context = {
        "form": form,
        "jobs": selectors.import_jobs_visible(user)[:20],
        "compounds": compounds,
        "max_mb": settings.ROSTER_MAX_UPLOAD_BYTES // (1024 * 1024),
    }
    return render(request, "rosters/index.html", context, status=400 if form.errors else 200)


def _job(request: HttpRequest, pk: int) -> ImportJob:
    require_roster_user(request.user)
    return scope.get_visible_or_404(selectors.import_jobs_visible(request.user), request.user, pk=pk)


def _job_context(job: ImportJob) -> dict[str, Any]:
    return {"job": job, "errors": job.errors[:SHOWN_ERRORS], "more_errors": max(0, len(job.errors) - SHOWN_ERRORS)}


@login_required
def job(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "rosters/job.html", _job_context(_job(request, pk)))


@login_required
def job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar while the job runs, then its report: the part of the job page HTMX polls."""
    return render(request, "rosters/_job_status.html", _job_context(_job(request, pk)))


@login_required
def job_bad_rows(request: HttpRequest, pk: int) -> HttpResponseBase:
    # The rejected rows are the uploaded cells as they were: full ID numbers and phones.
    require_exporter(request.user)
    job = _job(request, pk)
    if not job.errors or job.is_running:
        raise Http404
    stream = tempfile.SpooledTemporaryFile(max_size=10 * 1024 * 1024)
    try:
        services.bad_rows_export(job=job, stream=stream)
    except (OSError, RosterFileError) as exc:
        raise Http404(_("上传的文件已不在，请重新导入")) from exc
    return xlsx_response(stream, _("错误行-%(name)s") % {"name": job.file_name})


@login_required
def template_download(request: HttpRequest) -> HttpResponseBase:
    require_roster_user(request.user)
    stream = tempfile.SpooledTemporaryFile()
    template_workbook(stream, request.user)
    return xlsx_response(stream, _("人员台账模板.xlsx"))


@login_required
def export_download(request: HttpRequest) -> HttpResponseBase:
    user = request.user
    require_exporter(user)
    level, _sep, node_id = request.GET.get("node", "").partition(":")
    node = export_node(user, level or None, node_id)
    stream = tempfile.SpooledTemporaryFile(max_size=20 * 1024 * 1024)
    services.roster_export(user=user, stream=stream, level=level or None, node=node, request=request)
    name = str(node) if node is not None else str(user.scope_node or _("全部"))  # type: ignore[union-attr]
    return xlsx_response(stream, _("人员台账-%(name)s-%(date)s.xlsx") % {"name": name, "date": timezone.localdate()})
