"""Offline sync of two gates × 10,000 scans: every planted quota violation found, each scan once.

In a scratch database: one compound of ``BENCH_SYNC_HOUSEHOLDS`` (3,000) households with a pass
each, in closed management (1 outing per 2-day window), with two checkpoints (东门, 西门) and a
guard with an API token at each. Each gate worked offline for four windows (8 days) and decided by
itself: a household goes out once per window through one gate, comes back within the hours allowed,
and a second try at the same gate is refused there ("quota"). For ``violations_planted`` household
windows the household went out through *both* gates — each gate allowed it, knowing only its own
scans — which the server must find as one ``QuotaViolation`` per household and window.

The scans go through the production server (as ``make run`` starts it) to
``POST /api/v1/gate/checkpoints/<id>/sync`` in batches of 500: each gate's scans shuffled, cut
into batches, the batches shuffled; both gates send at once (one client each), and a few batches are
sent a second time. ``value`` is the seconds from the first batch sent to the last answered. Then
everything the sync wrote is deleted and the same scans are sent again in another order: the result
must be the same (same violations, same counts, 20,000 scans stored).
"""

from __future__ import annotations

import datetime
import http.client
import json
import os
import random
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bench.bench_gate_scan import issue_passes
from bench.common import is_postgres, scratch_database
from bench.wrk import serve

NAME = "gate_sync_20k"
SCANS_PER_GATE = 10_000
BATCH = 500
PERIODS = 4
PLANTED = 250
REFUSED_PER_GATE = 400
RESENT_BATCHES = 3


@dataclass
class Gate:
    checkpoint_id: int
    key: str
    scans: list[dict[str, Any]]


def _build(households: int) -> tuple[list[Gate], int, datetime.date]:
    """The compound, its passes and two gates; the scans each gate took offline. Returns (gates,
    planted violations, first day)."""
    from linli.accounts.choices import Role
    from linli.accounts.models import User
    from linli.accounts.services import api_token_create
    from linli.gate import quota, services
    from linli.gate.choices import RiskLevel
    from linli.gate.models import GateRules
    from linli.registry import services as registry
    from linli.registry.models import Household, Person
    from linli.registry.services import household_code

    street = registry.street_create(code="310115901", name="基准街道")
    community = registry.community_create(street=street, name="基准社区")
    grid = registry.grid_create(community=community, name="第一网格")
    compound = registry.compound_create(grid=grid, name="基准小区")
    place = {"street_id": street.pk, "community_id": community.pk, "grid_id": grid.pk, "compound_id": compound.pk}
    rows: list[Household] = []
    building_count = (households + 99) // 100
    for b in range(1, building_count + 1):
        building = registry.building_create(compound=compound, name=f"{b}号楼")
        for u in range(1, 5):
            unit = registry.unit_create(building=building, name=f"{u}单元")
            for floor in range(1, 6):
                for door in range(1, 6):
                    if len(rows) < households:
                        room = f"{floor}0{door}"
                        rows.append(
                            Household(
                                code=household_code(unit, room),
                                building_id=building.pk,
                                unit_id=unit.pk,
                                room=room,
                                **place,
                            )
                        )
    Household.objects.bulk_create(rows, batch_size=2000)
    created = list(Household.objects.filter(compound_id=compound.pk).select_related("compound").order_by("pk"))
    Person.objects.bulk_create([Person(household_id=h.pk, name=f"住户{h.pk}") for h in created], batch_size=2000)
    members = {
        household_id: [person_id]
        for person_id, household_id in Person.objects.filter(household__compound_id=compound.pk).values_list(
            "pk", "household_id"
        )
    }
    gates: list[Gate] = []
    for name in ("东门", "西门"):
        checkpoint = services.checkpoint_create(compound=compound, name=name)
        guard = User(username=f"bench_sync_{checkpoint.pk}", role=Role.GATE_GUARD, checkpoint=checkpoint)
        guard.set_scope(compound)
        guard.set_unusable_password()
        guard.save()
        _token, key = api_token_create(user=guard, name="bench")
        gates.append(Gate(checkpoint.pk, key, []))
    GateRules.objects.filter(compound_id=compound.pk).update(risk_level=RiskLevel.MEDIUM)
    rules = services.quota_rules(services.rules_for(compound))
    zone = quota.local_zone()
    first_day = quota.period_start(rules, datetime.datetime.now(zone))
    tokens = issue_passes(created, members, first_day)

    rng = random.Random(20221123)
    pairs = [(h.pk, p) for h in created for p in range(PERIODS)]
    rng.shuffle(pairs)
    outings = SCANS_PER_GATE // 2 - REFUSED_PER_GATE // 2  # allowed outings per gate (out + in each)
    planted = pairs[:PLANTED]
    only = pairs[PLANTED : PLANTED + 2 * (outings - PLANTED)]
    if len(only) < 2 * (outings - PLANTED):
        raise ValueError(f"{households} households are too few for {SCANS_PER_GATE:,} scans per gate")
    per_gate: list[list[tuple[int, int]]] = [
        planted + only[: outings - PLANTED],
        planted + only[outings - PLANTED :],
    ]

    def moment(period: int, hour: int, minute: int, day: int) -> datetime.datetime:
        date = first_day + datetime.timedelta(days=period * rules.period_days + day)
        return datetime.datetime.combine(date, datetime.time(hour, minute), zone)

    def scan(household: int, when: datetime.datetime, direction: str, verdict: str, reason: str) -> dict[str, Any]:
        return {
            "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "credential": tokens[household],
            "direction": direction,
            "device_time": when.isoformat(),
            "temperature": "36.5",
            "mask": True,
            "health_code": "green",
            "verdict": verdict,
            "reason": reason,
        }

    for index, (gate, outs) in enumerate(zip(gates, per_gate, strict=True)):
        for household, period in outs:
            day = rng.randrange(rules.period_days)
            # The east gate lets its outings out in the morning, the west one in the afternoon, so
            # a household going out through both in one window is back before it leaves again.
            out = moment(period, 7 + 6 * index + rng.randrange(5), rng.randrange(60), day)
            back = out + datetime.timedelta(minutes=30 + rng.randrange(120))
            gate.scans.append(scan(household, out, "out", "allowed", "ok"))
            gate.scans.append(scan(household, back, "in", "allowed", "ok"))
        for household, period in rng.sample(outs, REFUSED_PER_GATE):
            again = moment(period, 18, rng.randrange(60), rng.randrange(rules.period_days))
            gate.scans.append(scan(household, again, "out", "refused", "quota"))
        assert len(gate.scans) == SCANS_PER_GATE
    return gates, len(planted), first_day


def _send(base: str, gates: list[Gate], seed: int) -> tuple[float, int, int]:
    """Every gate's scans in shuffled batches, both gates at once, a few batches twice; returns
    (seconds, stored, duplicates) as the server answered."""
    rng = random.Random(seed)
    plans: list[list[tuple[int, str, list[dict[str, Any]]]]] = []
    for gate in gates:
        scans = list(gate.scans)
        rng.shuffle(scans)
        batches = [(gate.checkpoint_id, gate.key, scans[i : i + BATCH]) for i in range(0, len(scans), BATCH)]
        rng.shuffle(batches)
        plans.append(batches)
    for _ in range(RESENT_BATCHES):  # resent: a gate that lost an answer sends the batch again
        plan = rng.choice(plans)
        plan.insert(rng.randrange(len(plan) + 1), rng.choice(plan))
    totals = {"stored": 0, "duplicates": 0}
    errors: list[str] = []
    lock = threading.Lock()
    host = urlsplit(base)

    def client(plan: list[tuple[int, str, list[dict[str, Any]]]]) -> None:
        connection = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=300)
        try:
            for checkpoint_id, key, batch in plan:
                body = json.dumps({"scans": batch})
                connection.request(
                    "POST",
                    f"/api/v1/gate/checkpoints/{checkpoint_id}/sync",
                    body=body,
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
                )
                answer = connection.getresponse()
                content = answer.read()
                if answer.status != 200:
                    raise RuntimeError(f"sync answered {answer.status}: {content[:500]!r}")
                result = json.loads(content)
                with lock:
                    totals["stored"] += result["stored"]
                    totals["duplicates"] += result["duplicates"]
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(repr(exc))
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise RuntimeError("; ".join(errors))
    return seconds, totals["stored"], totals["duplicates"]


def _outcome(compound_id: int) -> dict[str, Any]:
    from linli.gate.models import GateScan, QuotaViolation

    violations = QuotaViolation.objects.filter(compound_id=compound_id)
    linked = QuotaViolation.scans.through.objects.filter(quotaviolation__compound_id=compound_id)
    return {
        "scans_stored": GateScan.objects.filter(compound_id=compound_id).count(),
        "violations": sorted(
            (v.household_id, v.period_start.isoformat(), v.counted) for v in violations.order_by("household_id")
        ),
        "scans_linked": linked.count(),
        "links_per_violation": sorted(set(Counter(linked.values_list("quotaviolation_id", flat=True)).values())),
    }


def _reset(compound_id: int) -> None:
    """Forget everything the sync wrote, for a second run in another order."""
    from linli.gate.models import GateAlert, GateScan, HouseholdGateState, QuotaViolation

    QuotaViolation.scans.through.objects.filter(quotaviolation__compound_id=compound_id).delete()
    QuotaViolation.objects.filter(compound_id=compound_id).delete()
    GateAlert.objects.filter(compound_id=compound_id).delete()
    HouseholdGateState.objects.filter(compound_id=compound_id).delete()
    GateScan.objects.filter(compound_id=compound_id).delete()


def run() -> dict[str, Any]:
    from linli.gate.models import Checkpoint

    households = int(os.environ.get("BENCH_SYNC_HOUSEHOLDS", "3000"))
    with scratch_database("gate_sync"), tempfile.TemporaryDirectory() as tmp:
        gates, planted, first_day = _build(households)
        compound_id = Checkpoint.objects.get(pk=gates[0].checkpoint_id).compound_id
        runs: list[dict[str, Any]] = []
        log_path = os.path.join(tmp, "server.log")
        with serve(log_path) as base:
            for seed in (1, 2):
                if runs:
                    _reset(compound_id)
                try:
                    seconds, stored, duplicates = _send(base, gates, seed)
                except RuntimeError as exc:
                    with open(log_path) as log:
                        raise RuntimeError(f"{exc}; server log tail:\n{log.read()[-3000:]}") from exc
                runs.append({"seconds": seconds, "stored": stored, "duplicates": duplicates, **_outcome(compound_id)})
                print(
                    f"  order {seed}: {seconds:.1f} s, stored {stored}, duplicates {duplicates}, "
                    f"violations {len(runs[-1]['violations'])}",
                    flush=True,
                )
    first, second = runs
    expected_scans = SCANS_PER_GATE * len(gates)
    same = first["violations"] == second["violations"] and first["scans_stored"] == second["scans_stored"]
    exact = all(
        r["scans_stored"] == expected_scans
        and r["stored"] == expected_scans
        and r["duplicates"] == RESENT_BATCHES * BATCH
        and len(r["violations"]) == planted
        and all(counted == 2 for _h, _p, counted in r["violations"])
        and r["links_per_violation"] == [2]
        for r in runs
    )
    return {
        "value": round(first["seconds"], 2),
        "unit": "s",
        "second_order_s": round(second["seconds"], 2),
        "scans_per_s": round(expected_scans / first["seconds"], 1),
        "violations_planted": planted,
        "violations_found": len(first["violations"]),
        "violations_found_second_order": len(second["violations"]),
        "scans_stored": first["scans_stored"],
        "scans_stored_second_order": second["scans_stored"],
        "duplicates_answered": [r["duplicates"] for r in runs],
        "same_result_both_orders": same,
        "met": exact and same,
        "batch": BATCH,
        "households": households,
        "first_day": first_day.isoformat(),
        "database": "postgresql" if is_postgres() else "sqlite",
    }
