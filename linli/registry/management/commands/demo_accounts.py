"""manage.py demo_accounts: the demo accounts, their scope and password, and where to open the site."""

from __future__ import annotations

import os
import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from linli.accounts.models import User
from linli.registry.demo import DEMO_ACCOUNTS, demo_password, demo_resident


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


class Command(BaseCommand):
    help = "列出演示账号 / List the demo accounts"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))

    def handle(self, *args: Any, **options: Any) -> None:
        password = demo_password()
        users = {u.username: u for u in User.objects.filter(username__in=[a.username for a in DEMO_ACCOUNTS])}
        resident = demo_resident()
        if not users and resident is None:
            self.stdout.write(
                "还没有演示账号：先运行 manage.py seed_demo / no demo accounts yet: run manage.py seed_demo"
            )
            return
        checked: dict[str, bool] = {}  # the seed gives every account one hash: check each hash once

        def shown_password(user: User) -> str:
            if user.password not in checked:
                checked[user.password] = user.check_password(password)
            return password if checked[user.password] else "（已修改 / changed）"

        rows = [("用户名 username", "角色 role", "范围 scope", "密码 password")]
        for spec in DEMO_ACCOUNTS:
            user = users.get(spec.username)
            if user is None:
                continue
            role = "超级管理员 superuser" if user.is_superuser else f"{user.get_role_display()} {user.role}"
            scope = " / ".join(str(node) for node in user.scope_path) or "—"
            if user.checkpoint_id:  # the gate guard's own checkpoint
                scope += f" / {user.checkpoint}"
            rows.append((user.username, role, scope, shown_password(user)))
        if resident is not None:
            scope = " / ".join(str(node) for node in resident.scope_path)
            rows.append(
                (resident.username, f"{resident.get_role_display()} {resident.role}", scope, shown_password(resident))
            )
        widths = [max(_width(row[i]) for row in rows) for i in range(4)]
        self.stdout.write("演示账号 / Demo accounts")
        for n, row in enumerate(rows):
            self.stdout.write("  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip())
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        if resident is not None:
            self.stdout.write(
                f"居民账号即户主手机号 {resident.phone}（{resident.display_name}）/ "
                f"the resident logs in with the householder's phone {resident.phone}"
            )
        self.stdout.write(f"打开 / Open: http://{options['host']}:{options['port']}/")
