"""Online gate scans through the production WSGI server: scans/s and p99 with 16 concurrent clients.

In a scratch database: the demo street (``BENCH_GATE_HOUSEHOLDS``, 2,000 households), one
checkpoint per compound in closed management, a pass for every household, and one guard per
checkpoint with an API token. Then the server ``make run`` starts (granian, same workers and
threads, read from the Makefile) serves that database with ``bench.settings`` (linli's settings
plus ``/bench/ping``), and wrk drives it with 16 connections:

* the ceiling: ``GET /bench/ping``, a minimal Django JSON view on the same server;
* ours: ``POST /api/v1/gate/checkpoints/<id>/scan`` as the checkpoint's guard (bearer token), a
  fresh uuid per request, a random household's QR pass at its compound's gate, a random direction
  and a time of day inside the allowed hours of one day.

Each is measured for ``BENCH_GATE_SECONDS`` (10) after a warm-up; the rounds alternate (ceiling,
scans, ceiling, scans, …: ``BENCH_GATE_ROUNDS``, 1) and the medians are reported. Afterwards the
rows are counted: every 200 answer must be one stored scan (the server may finish up to one request
per connection that wrk stopped waiting for at the end of a run).
"""

from __future__ import annotations

import datetime
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import is_postgres, median, scratch_database
from bench.wrk import LUA_COMMON, ensure_wrk, serve, server_command, wrk_run

NAME = "gate_scan"
CONNECTIONS = 16
TARGET_RATIO = 0.35
TARGET_P99_MS = 25.0
REPO = Path(__file__).resolve().parent.parent

# The load generator: one Lua state per wrk thread. Arguments after "--": mode (scan|ping), the
# file of "checkpoint<TAB>bearer key<TAB>pass" lines, the day (YYYY-MM-DD) and its UTC offset.
LUA = (
    LUA_COMMON
    + r"""
mode, entries, day, offset = "ping", {}, "", ""
ping_request = nil

function init(args)
  mode = args[1]
  seed_random()
  if mode == "ping" then
    ping_request = wrk.format("GET", "/bench/ping")
    return
  end
  for line in io.lines(args[2]) do
    local checkpoint, key, pass = line:match("^(%d+)\t(%S+)\t(%S+)$")
    table.insert(entries, {
      path = "/api/v1/gate/checkpoints/" .. checkpoint .. "/scan",
      headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key},
      pass = pass,
    })
  end
  day, offset = args[3], args[4]
end

function request()
  if mode == "ping" then return ping_request end
  local entry = entries[math.random(#entries)]
  local direction = "in"
  if math.random(2) == 1 then direction = "out" end
  local body = string.format(
    '{"uuid":"%s","credential":"%s","direction":"%s","device_time":"%sT%02d:%02d:%02d%s",' ..
    '"temperature":"36.%d","mask":true,"health_code":"green"}',
    uuid4(), entry.pass, direction, day, math.random(8, 17), math.random(0, 59), math.random(0, 59), offset,
    math.random(0, 9))
  return wrk.format("POST", entry.path, entry.headers, body)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  write_summary(summary, latency, "")
end
"""
)


@dataclass
class GateStreet:
    """The seeded street: per household with a pass, (checkpoint id, guard's bearer key, QR text)."""

    entries: list[tuple[int, str, str]]
    households: int
    compounds: int
    seconds: float


def seed_gate_street(households: int, *, seed: int = 2022, today: datetime.date | None = None) -> GateStreet:
    """The demo street in closed management: a checkpoint per compound, passes, a guard per gate."""
    from django.utils import timezone

    from linli.accounts.choices import Role
    from linli.accounts.models import User
    from linli.accounts.services import api_token_create
    from linli.gate import services
    from linli.gate.choices import RiskLevel
    from linli.gate.models import GateRules
    from linli.registry.demo import seed_demo
    from linli.registry.models import Compound, Household, Person

    started = time.perf_counter()
    # Our own gate data (a checkpoint per compound, a guard per checkpoint, passes for all), not the demo's.
    seed_demo(households=households, seed=seed, gate=False)
    today = today or timezone.localdate()
    guards: dict[int, tuple[int, str]] = {}
    for compound in Compound.objects.order_by("pk"):
        checkpoint = services.checkpoint_create(compound=compound, name="东门")
        guard = User(username=f"bench_guard_{checkpoint.pk}", role=Role.GATE_GUARD, checkpoint=checkpoint)
        guard.set_scope(compound)
        guard.set_unusable_password()
        guard.save()
        _token, key = api_token_create(user=guard, name="bench")
        guards[compound.pk] = (checkpoint.pk, key)
    GateRules.objects.update(risk_level=RiskLevel.MEDIUM)
    members: dict[int, list[int]] = {}
    for person_id, household_id in Person.objects.order_by("household_id", "pk").values_list("pk", "household_id"):
        members.setdefault(household_id, []).append(person_id)
    households_with_people = [h for h in Household.objects.select_related("compound").order_by("pk") if h.pk in members]
    issued = issue_passes(households_with_people, members, today)
    entries = [(guards[h.compound_id][0], guards[h.compound_id][1], issued[h.pk]) for h in households_with_people]
    return GateStreet(entries, len(entries), len(guards), time.perf_counter() - started)


def issue_passes(
    households: list[Any], members: dict[int, list[int]], today: datetime.date, *, designated: int = 2
) -> dict[int, str]:
    """A first pass for each household, in bulk: what ``services.pass_issue`` writes (signed QR,
    unique number, designated members), without its per-household audit row. Household id → QR text."""
    from linli.gate import keys, passes
    from linli.gate.models import HouseholdPass, place_kwargs

    kid, private_key = keys.signing_key()
    valid_until = today + datetime.timedelta(days=90)
    numbers: set[str] = set(HouseholdPass.objects.values_list("number", flat=True))
    rows = []
    for household in households:
        chosen = tuple(sorted(members[household.pk][:designated]))
        payload = passes.Payload(
            kind=passes.Kind.HOUSEHOLD,
            kid=kid,
            subject=household.pk,
            issue_no=1,
            valid_from=today,
            valid_until=valid_until,
            members=chosen,
        )
        number = passes.new_number()
        while number in numbers:
            number = passes.new_number()
        numbers.add(number)
        rows.append(
            HouseholdPass(
                household_id=household.pk,
                issue_no=1,
                number=number,
                valid_from=today,
                valid_until=valid_until,
                kid=kid,
                token=passes.sign(payload, private_key),
                **place_kwargs(household.compound),
            )
        )
    HouseholdPass.objects.bulk_create(rows, batch_size=2000)
    created = {p.household_id: p for p in HouseholdPass.objects.filter(household_id__in=[h.pk for h in households])}
    through = HouseholdPass.members.through
    through.objects.bulk_create(
        [
            through(householdpass_id=created[h.pk].pk, person_id=person_id)
            for h in households
            for person_id in sorted(members[h.pk][:designated])
        ],
        batch_size=5000,
    )
    return {household_id: p.token for household_id, p in created.items()}


def settle() -> int:
    """The last scan's id once the server has finished what wrk stopped waiting for."""
    from django.db.models import Max

    from linli.gate.models import GateScan

    last = -1
    while True:
        current = GateScan.objects.aggregate(n=Max("pk"))["n"] or 0
        if current == last:
            return current
        last = current
        time.sleep(0.5)


def run() -> dict[str, Any]:
    from django.db.models import Count

    from linli.gate.models import GateScan
    from linli.gate.quota import local_zone

    households = int(os.environ.get("BENCH_GATE_HOUSEHOLDS", "2000"))
    seconds = int(os.environ.get("BENCH_GATE_SECONDS", "10"))
    rounds = int(os.environ.get("BENCH_GATE_ROUNDS", "1"))
    ensure_wrk()
    with scratch_database("gate_scan"), tempfile.TemporaryDirectory() as tmp:
        today = datetime.datetime.now(local_zone()).date()
        street = seed_gate_street(households, today=today)
        entries_path = os.path.join(tmp, "entries.tsv")
        with open(entries_path, "w") as handle:
            handle.writelines(f"{cp}\t{key}\t{token}\n" for cp, key, token in street.entries)
        script = os.path.join(tmp, "gate.lua")
        with open(script, "w") as handle:
            handle.write(LUA)
        offset = datetime.datetime.combine(today, datetime.time(12), local_zone()).strftime("%z")
        scan_args = ["scan", entries_path, today.isoformat(), f"{offset[:3]}:{offset[3:]}"]
        log_path = os.path.join(tmp, "server.log")
        pings: list[dict[str, Any]] = []
        scans: list[dict[str, Any]] = []
        with serve(log_path) as base:
            wrk_run(base, script, ["ping"], 2, CONNECTIONS)  # warm-up: every worker thread imports, connects
            wrk_run(base, script, scan_args, 3, CONNECTIONS)
            first_measured = -1
            for _round in range(rounds):
                pings.append(wrk_run(base, script, ["ping"], seconds, CONNECTIONS))
                if first_measured < 0:
                    # After a ping round, not right after the warm-up: on a loaded machine a warm-up
                    # scan can still be on its way to the database when the rows stop changing for
                    # half a second, and would then count as measured.
                    first_measured = settle()
                scans.append(wrk_run(base, script, scan_args, seconds, CONNECTIONS))
                for label, summary in (("ceiling", pings[-1]), ("scans", scans[-1])):
                    print(
                        f"  {label}: {summary['rps']:.0f}/s, p50 {summary['p50_us'] / 1000:.1f} ms, "
                        f"p99 {summary['p99_us'] / 1000:.1f} ms, statuses {summary['statuses']}",
                        flush=True,
                    )
        # The server has stopped: every request it accepted is committed.
        measured = GateScan.objects.filter(pk__gt=first_measured)
        rows = measured.count()
        verdicts = {
            f"{row['verdict']}:{row['reason']}": row["n"]
            for row in measured.values("verdict", "reason").annotate(n=Count("id")).order_by("verdict", "reason")
        }
        server_log = Path(log_path).read_text()[-2000:]
    answered_ok = sum(int(s["statuses"].get("200", 0)) for s in scans)
    not_ok = sum(s["requests"] - int(s["statuses"].get("200", 0)) for s in scans)
    errors = {kind: sum(s["errors"][kind] for s in scans + pings) for kind in scans[0]["errors"]}
    if not_ok or not 0 <= rows - answered_ok <= CONNECTIONS * rounds:
        raise RuntimeError(
            f"scans answered 200: {answered_ok}, other answers: {not_ok}, rows stored: {rows}; "
            f"statuses {[s['statuses'] for s in scans]}; server log tail:\n{server_log}"
        )
    value = median([s["rps"] for s in scans])
    ceiling = median([p["rps"] for p in pings])
    p99 = median([s["p99_us"] / 1000 for s in scans])
    return {
        "value": round(value, 1),
        "unit": "scans/s",
        "p99": round(p99, 2),
        "p50": round(median([s["p50_us"] / 1000 for s in scans]), 2),
        "ceiling": round(ceiling, 1),
        "ratio": round(value / ceiling, 3),
        "ceiling_p99": round(median([p["p99_us"] / 1000 for p in pings]), 2),
        "targets": {"ratio": TARGET_RATIO, "p99_ms": TARGET_P99_MS},
        "met": value / ceiling >= TARGET_RATIO and p99 <= TARGET_P99_MS,
        "connections": CONNECTIONS,
        "seconds": seconds,
        "rounds": rounds,
        "server": " ".join(server_command(0)[1:]).replace("--port 0 ", ""),
        "database": "postgresql" if is_postgres() else "sqlite",
        "answered_200": answered_ok,
        "rows_stored": rows,
        "in_flight_at_stop": rows - answered_ok,
        "verdicts": verdicts,
        "wrk_errors": errors,
        "households": street.households,
        "checkpoints": street.compounds,
        "seed_s": round(street.seconds, 1),
    }
