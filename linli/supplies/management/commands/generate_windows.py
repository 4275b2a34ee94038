"""``manage.py generate_windows``: make the coming order windows of every active schedule (S2).

Run it once a day (cron, a systemd timer): each schedule gets its draft windows for the coming days
(``--days``, default the generator's own), at most once — a second run the same day makes nothing.
A schedule whose supplier stopped or no longer serves the community is reported and skipped.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from linli.lib.wording import sentences
from linli.supplies.models import WindowSchedule
from linli.supplies.services.catalogue import GENERATE_DAYS, schedule_generate


class Command(BaseCommand):
    help = "为每个启用的订购周期生成未来几天的订购窗口（草稿），可每天定时运行；重复运行不会重复生成。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=GENERATE_DAYS, help="生成未来几天的窗口")

    def handle(self, *args: Any, days: int, **options: Any) -> None:
        made = skipped = 0
        schedules = WindowSchedule.objects.filter(is_active=True).select_related("supplier", "community")
        for schedule in schedules.order_by("pk"):
            try:
                windows = schedule_generate(schedule, days=days)
            except ValidationError as error:
                skipped += 1
                reason = sentences(error.messages)
                self.stderr.write(f"{schedule.supplier.name} · {schedule.community.name}：{reason}")
                continue
            made += len(windows)
            for window in windows:
                self.stdout.write(f"{schedule.community.name}：{window}（{window.opens_at:%m-%d %H:%M}）")
        self.stdout.write(self.style.SUCCESS(f"生成 {made} 个窗口；跳过 {skipped} 个订购周期"))
