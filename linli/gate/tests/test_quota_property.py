"""Property: the quota rules against a simple model (A2, offline sync).

Any sequence of online outs and ins at any times — period edges, midnight, gates whose clocks
disagree so that device times arrive out of order — followed by offline scans from two gates synced
in batches in any order (and some batches sent twice) gives the verdicts and the violations that a
few lines of plain arithmetic say it should.
"""

from __future__ import annotations

import datetime
import uuid
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from linli.gate import services
from linli.gate.models import GateAlert, GateScan, HouseholdGateState, QuotaViolation
from linli.gate.tests.conftest import Gate

pytestmark = pytest.mark.django_db

ANCHOR = datetime.date(2020, 1, 1)
START = datetime.datetime(2026, 11, 20, tzinfo=services.quota.local_zone())
# Minutes over five days; the sampled points crowd around midnights and the 06:00/20:00 edges.
EDGES = [d * 1440 + m for d in range(5) for m in (0, 1, 359, 360, 361, 1199, 1200, 1439)]
minutes = st.one_of(st.integers(0, 5 * 1440 - 1), st.sampled_from(EDGES))


def model_period(moment: datetime.datetime, days: int) -> datetime.date:
    local_day = moment.astimezone(services.quota.local_zone()).date()
    offset = (local_day - ANCHOR).days
    return ANCHOR + datetime.timedelta(days=offset - offset % days)


def model_in_hours(moment: datetime.datetime) -> bool:
    local_time = moment.astimezone(services.quota.local_zone())
    return 6 <= local_time.hour < 20


online_scan = st.tuples(st.integers(0, 1), minutes, st.sampled_from(["out", "in"]))
offline_scan = st.tuples(st.integers(0, 1), minutes, st.sampled_from(["out", "in"]), st.booleans(), st.integers(0, 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    per_period=st.integers(1, 2),
    period_days=st.integers(1, 3),
    online=st.lists(online_scan, max_size=12),
    offline=st.lists(offline_scan, max_size=14),
    batch_size=st.integers(1, 5),
    data=st.data(),
)
def test_quota_matches_the_model(
    gate: Gate,
    per_period: int,
    period_days: int,
    online: list[tuple[int, int, str]],
    offline: list[tuple[int, int, str, bool, int]],
    batch_size: int,
    data: st.DataObject,
) -> None:
    for model in (GateAlert, QuotaViolation, HouseholdGateState, GateScan):
        model.objects.all().delete()
    gate.rules.outings_per_period = per_period
    gate.rules.period_days = period_days
    gate.rules.period_anchor = ANCHOR
    gate.rules.save()
    tree = gate.personas.tree
    other = tree.households[f"{tree.b1.code}/1单元/102"]
    passes = [gate.household_pass]
    other_pass = other.gate_passes.filter(is_active=True).first() or services.pass_issue(
        household=other, members=list(other.members.all()[:1]), today=datetime.date(2026, 11, 1)
    )
    passes.append(other_pass)
    households = [gate.household.pk, other.pk]
    second = services.checkpoint_create(compound=tree.p1, name=f"西门{uuid.uuid4().hex[:6]}")

    # Online: the server decides in arrival order.
    allowed: Counter[tuple[int, datetime.date]] = Counter()
    for who, minute, direction in online:
        when = START + datetime.timedelta(minutes=minute)
        period = model_period(when, period_days)
        expected = direction == "in" or (model_in_hours(when) and allowed[(households[who], period)] < per_period)
        if expected and direction == "out":
            allowed[(households[who], period)] += 1
        result = services.scan_record(
            gate.checkpoint,
            gate.personas.gate_guard,
            services.ScanInput(uuid=uuid.uuid4(), credential=passes[who].token, direction=direction, device_time=when),
        )
        assert (result.verdict == "allowed") == expected, (who, when, direction, result.message)

    # Offline: each gate decided for itself; the server keeps every scan and finds the excess.
    items = []
    for who, minute, direction, gate_allowed, gate_no in offline:
        when = START + datetime.timedelta(minutes=minute)
        verdict = "allowed" if gate_allowed else "refused"
        if verdict == "allowed" and direction == "out":
            allowed[(households[who], model_period(when, period_days))] += 1
        checkpoint = gate.checkpoint if gate_no == 0 else second
        items.append(
            (
                checkpoint,
                services.ScanInput(
                    uuid=uuid.uuid4(),
                    credential=passes[who].number,
                    direction=direction,
                    device_time=when,
                    verdict=verdict,
                    reason="ok" if gate_allowed else "quota",
                ),
            )
        )
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    order = data.draw(st.permutations(batches), label="arrival order")
    repeats = data.draw(st.lists(st.sampled_from(batches), max_size=2) if batches else st.just([]), label="resent")
    for batch in [*order, *repeats]:
        by_gate: dict[int, list[services.ScanInput]] = {}
        for checkpoint, item in batch:
            by_gate.setdefault(checkpoint.pk, []).append(item)
        for checkpoint_id, scans in by_gate.items():
            checkpoint = gate.checkpoint if checkpoint_id == gate.checkpoint.pk else second
            services.sync_scans(checkpoint, gate.personas.gate_guard, scans)

    assert GateScan.objects.count() == len(online) + len(offline)
    expected_violations = {key: n for key, n in allowed.items() if n > per_period}
    found = {(v.household_id, v.period_start): v.counted for v in QuotaViolation.objects.all()}
    assert found == expected_violations
    for violation in QuotaViolation.objects.all():
        assert violation.scans.count() == violation.counted
