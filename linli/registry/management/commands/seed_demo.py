"""manage.py seed_demo --households N [--seed S] [--if-empty] [--no-gate] [--no-health]: the demo street 和平街道."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from linli.registry.demo import DEFAULT_SEED, seed_demo
from linli.registry.models import Street


class Command(BaseCommand):
    help = "生成演示街道（和平街道）及演示账号 / Build the demo street and the demo accounts"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--households", type=int, default=2000, help="户数 / number of households")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子 / random seed")
        parser.add_argument(
            "--no-gate",
            action="store_true",
            help="不生成卡口、通行证（大规模基准测试用）/ leave out the gate: checkpoints, passes, holds",
        )
        parser.add_argument(
            "--no-health",
            action="store_true",
            help="不生成健康监测演示数据 / leave out the health demo: risk areas, key persons, a case and a seal",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="已有街道时不做任何事 / do nothing when any street exists"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and Street.objects.exists():
            if options["verbosity"] > 0:
                self.stdout.write("已有街道数据，跳过演示数据生成 / a street exists, demo seed skipped")
            return
        if options["households"] < 1:
            raise CommandError("户数至少为 1 / --households must be at least 1")
        say = self.stdout.write if options["verbosity"] > 0 else None
        try:
            seed_demo(
                households=options["households"],
                seed=options["seed"],
                progress=say,
                gate=not options["no_gate"],
                health=not options["no_gate"] and not options["no_health"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
