"""make bench: run the benchmarks and print one ``BENCH {json}`` line each.

Each module ``bench/bench_<name>.py`` defines ``NAME`` (the benchmark's name) and ``run() -> dict``
(or ``BENCHES``, a dict of name -> run function, for a module with several benchmarks),
returning at least ``value`` and ``unit`` (plus ``ceiling`` and ``ratio`` where a ceiling applies,
``ratio`` always higher-is-better). Benchmarks run against the database DATABASE_URL names and
build their own data in a scratch database, never in the one ``make run`` serves.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import sys
import time
import traceback


def main() -> int:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linli.settings")
    import django

    django.setup()
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    import bench

    failed = 0
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda m: m.name):
        if not info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        # A module runs one benchmark (NAME, run) or several (BENCHES: name -> run).
        benches = getattr(module, "BENCHES", None) or {
            getattr(module, "NAME", info.name.removeprefix("bench_")): module.run
        }
        for name, run in benches.items():
            if wanted and name not in wanted:
                continue
            started = time.perf_counter()
            try:
                result = run()
            except Exception:  # noqa: BLE001 - report the failure and go on with the next benchmark
                traceback.print_exc()
                failed += 1
                continue
            line = {"name": name, **result, "wall_s": round(time.perf_counter() - started, 1)}
            print("BENCH " + json.dumps(line, ensure_ascii=False), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
