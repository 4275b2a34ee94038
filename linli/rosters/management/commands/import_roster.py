"""manage.py import_roster FILE [--dry-run] [--user USERNAME] [--only-good-rows]

Imports a roster .xlsx like the page does and prints the report in Chinese. Without --user the
operator imports anywhere in the tree (the 社区 column is then required). Exit status 1 when any
row is bad: then nothing is written, unless --only-good-rows was given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.rosters.models import ImportJob, ImportStatus
from linli.rosters.services import roster_import


def report_lines(job: ImportJob) -> list[str]:
    """The job's outcome and every error, one line each."""
    lines = [f"{job.get_status_display()}：{job.message}"]
    lines += [f"  {note}" for note in (job.summary or {}).get("notes", [])]
    for error in job.errors:
        where = _("第%(row)d行") % {"row": error["row"]}
        column = f" {error['column']}" if error.get("column") else ""
        cell = f"（{error['cell']}）" if error.get("cell") else ""
        value = f" “{error['value']}”" if error.get("value") else ""
        lines.append(f"  {where}{column}{cell}{value}：{error['reason']}")
    if job.error_count > len({error["row"] for error in job.errors}):
        lines.append(_("  ……共%(n)d行有错误，只列出了前面的部分") % {"n": job.error_count})
    return lines


class Command(BaseCommand):
    help = "导入人员台账（.xlsx）。有错误的行时退出码为 1，且不写入任何数据（除非使用 --only-good-rows）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="台账文件（.xlsx）")
        parser.add_argument("--dry-run", action="store_true", help="只校验，不写入")
        parser.add_argument("--user", help="以该账号的身份和负责范围导入（默认：不限范围的操作员）")
        parser.add_argument("--only-good-rows", action="store_true", help="只导入正确的行，跳过有错误的行")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("找不到文件：%(path)s") % {"path": path})
        user = None
        if options["user"]:
            try:
                user = User.objects.select_related("street", "community", "grid").get(username=options["user"])
            except User.DoesNotExist as exc:
                raise CommandError(_("没有账号 %(name)s") % {"name": options["user"]}) from exc
            if not user.can_edit_registry:
                raise CommandError(_("账号 %(name)s 的角色无权导入台账") % {"name": user.username})
        job = roster_import(path=path, user=user, only_good_rows=options["only_good_rows"], dry_run=options["dry_run"])
        self.stdout.write("\n".join(report_lines(job)))
        if job.status == ImportStatus.FAILED:
            raise CommandError(job.message, returncode=2)
        if job.error_count:
            raise CommandError(_("%(n)d行有错误") % {"n": job.error_count}, returncode=1)
