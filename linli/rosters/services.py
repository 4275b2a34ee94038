"""Roster imports and exports (SPEC R7): the jobs, the all-or-nothing import, the audited export.

An import reads the file row by row and checks every cell (``validation.py``); the job's progress
is saved every ``PROGRESS_EVERY`` rows (at most every ``PROGRESS_SECONDS``), each save its own
short transaction outside the write transaction. Good rows go to a writer (``writer.py``) that
writes them in ONE transaction, committed only when no row was bad (or the user chose to import
the good rows only), together with one audit event. On PostgreSQL the writer works through
chunks while the rest of the file is still being checked; on SQLite it writes everything at the
end. Either way a bad row, a crash or a database error leaves the registry as it was.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from python_calamine import CalamineError

from linli.audit.models import AuditAction
from linli.audit.services import audit_record
from linli.lib import scope
from linli.lib.collector import collector_paused
from linli.lib.wording import listed
from linli.registry.models import Person
from linli.rosters.models import ImportJob, ImportStatus
from linli.rosters.reader import RosterFileError, RosterSheet
from linli.rosters.selectors import roster_people, roster_rows
from linli.rosters.staging import Staging
from linli.rosters.validation import Places, RowChecker, shown_value
from linli.rosters.workbooks import bad_rows_workbook, export_workbook
from linli.rosters.writer import InlineWriter, ThreadedWriter, WriteResult, WriteTarget, progress_connection

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1000
# The progress page polls every second: more saves than that are round trips nobody sees.
PROGRESS_SECONDS = 0.5
# Good rows go to the writer in chunks of this many (on PostgreSQL, written while the next are checked).
CHUNK_ROWS = 10000
# The first chunk is smaller, so that the writer starts soon after the file is read.
FIRST_CHUNK_ROWS = 2000
# While a writer thread runs, checking lets go of the GIL this often: the writer, back from the
# database, would otherwise wait for Python's switch interval (5 ms) after each statement.
YIELD_EVERY = 100
# The job keeps this many error entries for the page and the API; error_count counts every bad row.
MAX_REPORTED_ERRORS = 5000
# Says that the person is registered elsewhere, never where.
OUTSIDE_SCOPE_REASON = gettext_lazy("该身份证号已在其他辖区登记，不能导入到您的辖区；如确已搬迁，请联系原所在社区办理")


def upload_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "rosters"
    path.mkdir(parents=True, exist_ok=True)
    return path


def import_job_create(
    *,
    user: Any,
    file_name: str,
    upload: UploadedFile | None = None,
    path: str | Path | None = None,
    only_good_rows: bool = False,
    dry_run: bool = False,
) -> ImportJob:
    """A pending job for an uploaded file (kept under MEDIA_ROOT) or a file already on disk."""
    if upload is not None:
        target = upload_dir() / f"{uuid.uuid4().hex}.xlsx"
        with open(target, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        path = target
    if path is None:
        raise ValueError("an upload or a path is needed")
    job = ImportJob(
        created_by=user if getattr(user, "is_authenticated", False) else None,
        file_name=file_name[:255],
        file_path=str(path),
        only_good_rows=only_good_rows,
        dry_run=dry_run,
    )
    if user is not None and not scope.is_unrestricted(user):
        job.street_id, job.community_id, job.grid_id = user.street_id, user.community_id, user.grid_id
    job.save()
    return job


def import_job_start(*, job: ImportJob) -> None:
    """Run the job now, or in a background thread when ROSTER_IMPORT_IN_BACKGROUND is on."""
    if not settings.ROSTER_IMPORT_IN_BACKGROUND:
        import_job_run(job=job)
        return
    threading.Thread(target=_run_in_thread, args=(job.pk,), daemon=True, name=f"roster-import-{job.pk}").start()


def _run_in_thread(job_id: int) -> None:
    close_old_connections()
    try:
        import_job_run(job=ImportJob.objects.select_related("created_by").get(pk=job_id))
    finally:
        connection.close()


def roster_import(
    *, path: str | Path, user: Any = None, file_name: str = "", only_good_rows: bool = False, dry_run: bool = False
) -> ImportJob:
    """Import a file on disk now (the management command, the benchmark)."""
    job = import_job_create(
        user=user, file_name=file_name or Path(path).name, path=path, only_good_rows=only_good_rows, dry_run=dry_run
    )
    return import_job_run(job=job, user=user)


def _save(job: ImportJob, *, durable: bool = False, **fields: Any) -> None:
    """Save progress in its own short transaction, outside any write transaction.

    Losing a progress update in a crash is harmless, so on PostgreSQL it does not wait for the
    WAL flush; the outcome of a job (``durable``) does.
    """
    for key, value in fields.items():
        setattr(job, key, value)
    with transaction.atomic():
        if connection.vendor == "postgresql" and not durable:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        ImportJob.objects.filter(pk=job.pk).update(**fields)


def _finish(job: ImportJob, status: str, **fields: Any) -> ImportJob:
    _save(job, durable=True, status=status, finished_at=timezone.now(), **fields)
    if status == ImportStatus.DONE and not job.error_count:
        _discard_upload(job)
    return job


def _discard_upload(job: ImportJob) -> None:
    """An uploaded file holds personal data: once imported cleanly it is deleted (a command's file is not ours)."""
    path = Path(job.file_path)
    if path.parent == upload_dir() and path.exists():
        path.unlink()


def _scope_of(user: Any) -> tuple[str | None, int | None]:
    if user is None or scope.is_unrestricted(user):
        return None, None
    level = scope.user_level(user)
    return level, getattr(user, f"{level}_id")


def import_job_run(*, job: ImportJob, user: Any = None) -> ImportJob:
    """Check the job's file and, when allowed, write it. Never raises: the outcome is on the job.

    Python's cyclic garbage collector is off meanwhile (``linli.lib.collector``): it would walk
    every row and chunk the import holds again and again (~20% of a 100,000-row import).
    """
    with collector_paused():
        return _import_job_run(job, user if user is not None else job.created_by)


def _import_job_run(job: ImportJob, user: Any) -> ImportJob:
    _save(job, status=ImportStatus.VALIDATING)
    try:
        sheet = RosterSheet(job.file_path)
    except RosterFileError as exc:
        return _finish(job, ImportStatus.FAILED, message=str(exc))
    except OSError:
        return _finish(job, ImportStatus.FAILED, message=_("找不到上传的文件，请重新上传"))
    except Exception:
        logger.exception("roster import %s: the file could not be read", job.pk)
        return _finish(job, ImportStatus.FAILED, message=_("无法读取文件：文件已损坏、加密，或不是 .xlsx 文件"))
    header = sheet.header
    places = Places(user)
    checker = RowChecker(header=header, places=places, formulas=sheet.formulas)
    notes = []
    if header.ignored:
        notes.append(_("以下列无法识别，已忽略：%(columns)s") % {"columns": listed(header.ignored)})
    if header.duplicates:
        notes.append(_("以下列与前面的列重复，只读取了前面的列：%(columns)s") % {"columns": listed(header.duplicates)})
    missing = checker.missing_columns()
    if missing:
        errors = [
            {
                "row": header.row,
                "column": name,
                "cell": "",
                "value": "",
                "reason": _("缺少必填列“%(name)s”") % {"name": name},
            }
            for name in missing
        ]
        return _finish(
            job,
            ImportStatus.REJECTED,
            errors=errors,
            error_count=1,
            summary={"notes": notes},
            message=_("表头缺少必填列，未导入"),
        )
    _save(job, total_rows=sheet.total_rows, summary={"notes": notes})
    staging = Staging()
    try:
        staging.create()
        return _check_and_write(job, user, sheet, checker, staging, notes)
    except CalamineError:
        # A large sheet is parsed piece by piece while it is checked (reader.py): a piece that cannot be.
        logger.exception("roster import %s: the file could not be read", job.pk)
        return _finish(job, ImportStatus.FAILED, message=_("无法读取文件：文件已损坏、加密，或不是 .xlsx 文件"))
    except Exception:
        logger.exception("roster import %s failed", job.pk)
        return _finish(job, ImportStatus.FAILED, message=_("导入失败，没有写入任何数据。请稍后重试或联系管理员"))
    finally:
        try:
            staging.drop()
        except Exception:  # noqa: BLE001 - the connection may be gone; the temp tables go with it
            logger.warning("could not drop the staging tables of import %s", job.pk)


class _Progress:
    """Saves the job's progress: on the default connection, or on a second one while a writer thread holds it."""

    def __init__(self, job: ImportJob, *, separate: bool) -> None:
        self.job = job
        self.db = progress_connection() if separate else None

    def save(self, **fields: Any) -> None:
        if self.db is None:
            _save(self.job, **fields)
            return
        for key, value in fields.items():
            setattr(self.job, key, value)
        columns = {field.name: field.column for field in ImportJob._meta.concrete_fields}
        assignments = ", ".join(f"{columns[key]} = %s" for key in fields)
        with self.db.cursor() as cursor:
            if self.db.vendor == "postgresql":
                cursor.execute("SET synchronous_commit TO OFF")  # see _save
            cursor.execute(
                f"UPDATE {ImportJob._meta.db_table} SET {assignments} WHERE id = %s", [*fields.values(), self.job.pk]
            )

    def close(self) -> None:
        if self.db is not None:
            self.db.close()


def _check_and_write(
    job: ImportJob, user: Any, sheet: RosterSheet, checker: RowChecker, staging: Staging, notes: list[str]
) -> ImportJob:
    level, node_id = _scope_of(user)
    target = WriteTarget(
        places=checker.places,
        columns_in_file=set(sheet.header.columns),
        level=level,
        node_id=node_id,
        only_good_rows=job.only_good_rows,
    )
    threaded = connection.vendor == "postgresql" and not job.dry_run
    progress = _Progress(job, separate=threaded)
    writer: InlineWriter | ThreadedWriter = (
        ThreadedWriter(staging, target) if threaded else InlineWriter(staging, target)
    )
    errors: list[dict[str, Any]] = []
    bad_rows = 0
    processed = 0
    try:
        chunk: list[tuple[Any, ...]] = []
        touched: set[int] = set()
        limit = min(CHUNK_ROWS, FIRST_CHUNK_ROWS)
        next_save = 0.0
        for number, cells in sheet.rows():
            result = checker.check(number, cells)
            processed += 1
            if result.__class__ is tuple:
                chunk.append(result)  # type: ignore[arg-type]
                touched.add(result[1])  # type: ignore[arg-type,index]
                if len(chunk) >= limit:
                    writer.add(chunk, checker.household_rows(touched))
                    chunk, touched, limit = [], set(), CHUNK_ROWS
            elif result is not None:
                bad_rows += 1
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.extend(result)  # type: ignore[arg-type]
                if isinstance(writer, ThreadedWriter) and not job.only_good_rows:
                    writer.stop_writing()
            if threaded and processed % YIELD_EVERY == 0:
                time.sleep(0)
            if processed % PROGRESS_EVERY == 0 and time.monotonic() >= next_save:
                progress.save(processed_rows=processed, error_count=bad_rows)
                next_save = time.monotonic() + PROGRESS_SECONDS
        writer.add(chunk, checker.household_rows(touched))
        commit = not job.dry_run and (not bad_rows or job.only_good_rows)
        if commit:
            progress.save(status=ImportStatus.WRITING, processed_rows=processed, error_count=bad_rows)
    except BaseException:
        if isinstance(writer, ThreadedWriter):
            writer.finish(commit=False, audit=lambda result: None)
        raise
    finally:
        progress.close()

    def audit(result: WriteResult) -> None:
        audit_record(
            actor=user or "manage.py import_roster",
            action=AuditAction.IMPORT,
            model=ImportJob._meta.label,
            object_pk=str(job.pk),
            object_repr=job.file_name[:200],
            changes={
                "file": job.file_name,
                "rows": result.rows_written,
                "bad_rows": bad_rows + len(result.outside),
                "created_people": result.created_people,
                "updated_people": result.updated_people,
                "created_households": result.created_households,
                **result.places,
            },
            street_id=job.street_id,
            community_id=job.community_id,
        )

    written = writer.finish(commit=commit, audit=audit)
    for number, id_number in written.outside:
        if len(errors) < MAX_REPORTED_ERRORS:
            errors.append(
                {
                    "row": number,
                    "column": sheet.header.labels["id_number"],
                    "cell": sheet.header.cell("id_number", number),
                    "value": shown_value("id_number", id_number),
                    "reason": str(OUTSIDE_SCOPE_REASON),
                }
            )
    bad_rows += len(written.outside)
    errors.sort(key=lambda error: error["row"])
    if checker.skipped_examples:
        notes.append(_("已跳过模板中的示例行"))
    summary = {"notes": notes, "skipped_examples": checker.skipped_examples, **written.places}
    report = {"processed_rows": processed, "error_count": bad_rows, "errors": errors, "summary": summary}
    if written.committed and written.rows_written:
        message = _("已导入%(rows)d行：新增%(created)d人，更新%(updated)d人，新增%(households)d户") % {
            "rows": written.rows_written,
            "created": written.created_people,
            "updated": written.updated_people,
            "households": written.created_households,
        }
        if bad_rows:
            message += _("；%(n)d行有错误，未导入") % {"n": bad_rows}
        return _finish(
            job,
            ImportStatus.DONE,
            message=message,
            created_people=written.created_people,
            updated_people=written.updated_people,
            created_households=written.created_households,
            **report,
        )
    if job.dry_run:
        good = staging.people - len(written.outside)
        message = _("仅校验：%(good)d行可以导入，%(bad)d行有错误，没有写入数据") % {"good": good, "bad": bad_rows}
        return _finish(job, ImportStatus.REJECTED if bad_rows else ImportStatus.DONE, message=message, **report)
    if bad_rows:
        return _finish(
            job, ImportStatus.REJECTED, message=_("有%(n)d行错误，没有导入任何数据") % {"n": bad_rows}, **report
        )
    return _finish(job, ImportStatus.DONE, message=_("没有可导入的行"), **report)


def roster_export(
    *, user: Any, stream: IO[bytes], level: str | None = None, node: Any = None, request: Any = None
) -> int:
    """Write the roster of the user's scope (or of one node in it) to ``stream``; one audit event."""
    people = roster_people(user, level, node.pk if node is not None else None)
    count = export_workbook(stream, roster_rows(people))
    street_id = community_id = None
    if node is not None:
        street_id = getattr(node, "street_id", None) if level != "street" else node.pk
        community_id = node.pk if level == "community" else getattr(node, "community_id", None)
    elif user is not None:
        street_id, community_id = user.street_id, user.community_id
    audit_record(
        actor=user or "manage.py export_roster",
        action=AuditAction.EXPORT,
        model=Person._meta.label,
        object_repr=str(node) if node is not None else _("台账"),
        changes={"rows": count, "scope": f"{level}:{node.pk}" if node is not None else ""},
        street_id=street_id,
        community_id=community_id,
        request=request,
    )
    return count


def bad_rows_export(*, job: ImportJob, stream: IO[bytes]) -> int:
    """The job's bad rows as an .xlsx (the uploaded file is kept while it has errors)."""
    return bad_rows_workbook(stream, job.file_path, job.errors)
