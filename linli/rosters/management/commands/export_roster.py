"""manage.py export_roster FILE [--user USERNAME]

Writes the roster in the template's layout (it imports back unchanged). Without --user: every
person in the registry (an operator's tool); with --user: that account's scope. Audited.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from linli.accounts.models import User
from linli.rosters.services import roster_export


class Command(BaseCommand):
    help = "导出人员台账（.xlsx，与导入模板格式相同）。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="要写入的文件（.xlsx）")
        parser.add_argument("--user", help="只导出该账号负责范围内的人员（默认：全部）")

    def handle(self, *args: Any, **options: Any) -> None:
        user = None
        if options["user"]:
            try:
                user = User.objects.get(username=options["user"])
            except User.DoesNotExist as exc:
                raise CommandError(_("没有账号 %(name)s") % {"name": options["user"]}) from exc
        with open(options["file"], "wb") as stream:
            count = roster_export(user=user, stream=stream)
        self.stdout.write(_("已导出%(n)d人到 %(file)s") % {"n": count, "file": options["file"]})
