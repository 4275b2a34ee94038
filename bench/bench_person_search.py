"""Person search over a street of 400,000 households (~1.1M people): p95 must stay under 50 ms.

Seeds the demo street in a scratch database, then times searches drawn deterministically from the
data (full names, name prefixes, phone and ID tails, rooms, building-unit-room, full phones) as a
community worker (scoped) and as the street commander. ``BENCH_SEARCH_HOUSEHOLDS`` shrinks the
street for a quick run.
"""

from __future__ import annotations

import os
import random
import time
from collections import defaultdict
from typing import Any

from bench.common import median, percentile, scratch_database

NAME = "person_search_400k"
CEILING_MS = 50.0
SEARCHES_PER_USER = 200
# (kind, weight) of the queries a worker types
MIX = (
    ("name", 30),
    ("name_prefix", 10),
    ("phone_tail", 20),
    ("id_tail", 10),
    ("room", 20),
    ("address", 5),
    ("phone", 5),
)


def _query(kind: str, person: Any) -> str:
    household = person.household
    if kind == "name":
        return person.name
    if kind == "name_prefix":
        return person.name[:2]
    if kind == "phone_tail":
        return person.phone[-4:] if person.phone else person.name
    if kind == "id_tail":
        return person.id_number[-4:]
    if kind == "room":
        return household.room
    if kind == "address":
        return f"{household.building.number}-{household.unit.number}-{household.room}"
    return person.phone or person.id_number


def _sample(rng: random.Random, user: Any, count: int) -> list[tuple[str, str, int]]:
    """(kind, query, id of the person it was drawn from), from the people the user may see."""
    from django.db.models import Max, Min

    from linli.lib import scope
    from linli.registry.models import Person

    people = scope.visible(Person.objects.select_related("household__building", "household__unit"), user)
    bounds = people.aggregate(low=Min("pk"), high=Max("pk"))
    kinds = [kind for kind, weight in MIX for _ in range(weight)]
    drawn: list[tuple[str, str, int]] = []
    while len(drawn) < count:
        person = people.filter(pk__gte=rng.randint(bounds["low"], bounds["high"])).order_by("pk").first()
        if person is not None:
            kind = rng.choice(kinds)
            drawn.append((kind, _query(kind, person), person.pk))
    return drawn


def run() -> dict[str, Any]:
    from linli.accounts.models import User
    from linli.registry.demo import seed_demo
    from linli.registry.search import search_people

    households = int(os.environ.get("BENCH_SEARCH_HOUSEHOLDS", "400000"))
    with scratch_database("search"):
        seeded = seed_demo(households=households, seed=2022, gate=False, progress=lambda line: print(line, flush=True))
        rng = random.Random(20220401)
        users = [User.objects.get(username="shequ"), User.objects.get(username="jiedao")]
        plan = [(user, *query) for user in users for query in _sample(rng, user, SEARCHES_PER_USER)]
        for user, _kind, query, _pk in plan[:: max(1, len(plan) // 40)]:  # warm the caches
            search_people(user, query)
        timings: list[float] = []
        by_kind: dict[str, list[float]] = defaultdict(list)
        found = 0
        for user, kind, query, pk in plan:
            started = time.perf_counter()
            result = search_people(user, query)
            elapsed = (time.perf_counter() - started) * 1000
            timings.append(elapsed)
            by_kind[kind].append(elapsed)
            found += any(p.pk == pk for p in result)
    p95 = percentile(timings, 95)
    return {
        "value": round(median(timings), 2),
        "unit": "ms",
        "p95": round(p95, 2),
        "p99": round(percentile(timings, 99), 2),
        "max": round(max(timings), 2),
        "ceiling": CEILING_MS,
        "ratio": round(CEILING_MS / p95, 2),
        "households": seeded.households,
        "people": seeded.people,
        "searches": len(timings),
        "found_drawn_person": round(found / len(plan), 3),
        "p95_by_kind": {kind: round(percentile(values, 95), 2) for kind, values in sorted(by_kind.items())},
        "seed_s": round(seeded.seconds, 1),
    }
