"""A rush of supplies orders through the production WSGI server on PostgreSQL (SPEC S3; docs/supplies.md).

Two benchmarks (``make bench ONLY=order_rush_hot,order_rush_spread``):

* ``order_rush_hot``: 32 connections submit orders of one hot item (1 unit each), every request a
  resident's own household, a fresh ``Idempotency-Key``; the item's stock is split over
  ``BENCH_ORDER_BUCKETS`` (8) rows. Ceiling: pgbench, 32 clients, a custom transaction that is the
  bare SQL of the rush — a conditional UPDATE of one hot row and an INSERT — on the same server.
* ``order_rush_spread``: the same with 200 items and a basket of 3 random items per order. Ceiling:
  pgbench's simple-update script (``-N``) at 4 clients.

In a scratch database: one street with ``BENCH_ORDER_HOUSEHOLDS`` (40,000) households, each with a
resident account and an API token. The server is the one ``make run`` starts (granian, flags read
from the Makefile; ``bench.bench_gate_scan.serve``); wrk drives it. Each measured run gets its own
published window (a household orders once per window). Rounds alternate ceiling and ours
(``BENCH_ORDER_ROUNDS``, 3; ``BENCH_ORDER_SECONDS``, 8 s each) and medians are reported.

Afterwards the database is checked: ``oversold`` counts units in live orders beyond what the
buckets lost (and negative buckets), ``lost`` counts orders answered 201 that are not stored.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from bench.common import is_postgres, median, scratch_database
from bench.wrk import LUA_COMMON, ensure_wrk, serve, server_command, wrk_run

CONNECTIONS = 32
HOT_TARGET_RATIO = 0.70
HOT_TARGET_P99_MS = 50.0
SPREAD_TARGET_RATIO = 0.40
SPREAD_ITEMS = 200
BASKET = 3

# Arguments after "--": mode (order|ping), entries file ("household<TAB>bearer key" lines), the
# window id, the offer ids (comma-separated), the basket size, the number of wrk threads.
LUA = (
    LUA_COMMON
    + r"""
mode, entries, window, offers, basket, nthreads = "ping", {}, "", {}, 1, 1
acked, next_index = {}, 0
ping_request = nil

function init(args)
  mode = args[1]
  seed_random()
  if mode == "ping" then
    ping_request = wrk.format("GET", "/bench/ping")
    return
  end
  window = args[3]
  for id in string.gmatch(args[4], "%d+") do table.insert(offers, id) end
  basket = tonumber(args[5])
  nthreads = tonumber(args[6])
  local n = 0
  for line in io.lines(args[2]) do
    n = n + 1
    if (n - 1) % nthreads == thread_id - 1 then
      local household, key = line:match("^(%d+)\t(%S+)$")
      table.insert(entries, {household = household, auth = "Bearer " .. key})
    end
  end
end

function request()
  if mode == "ping" then return ping_request end
  next_index = next_index + 1
  local entry = entries[(next_index - 1) % #entries + 1]
  local chosen, lines = {}, {}
  while #lines < basket do
    local offer = offers[math.random(#offers)]
    if not chosen[offer] then
      chosen[offer] = true
      table.insert(lines, string.format('{"offer":%s,"quantity":1}', offer))
    end
  end
  local body = string.format('{"window":%s,"household":%s,"lines":[%s]}', window, entry.household,
    table.concat(lines, ","))
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = entry.auth,
    ["Idempotency-Key"] = uuid4()}
  return wrk.format("POST", "/api/v1/supplies/orders", headers, body)
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
  if status == 201 then
    local id = body:match('"id":%s*(%d+)')
    if id then table.insert(acked, id) end
  end
end

function done(summary, latency, requests)
  local ids = {}
  for _, thread in ipairs(threads) do
    for _, id in ipairs(thread:get("acked") or {}) do table.insert(ids, id) end
  end
  write_summary(summary, latency, string.format(', "acked": [%s]', table.concat(ids, ",")))
end
"""
)


@dataclass
class Street:
    entries: list[tuple[int, str]]
    community: Any
    supplier: Any
    seconds: float


def seed_street(households: int) -> Street:
    """One street, community, compound and building; ``households`` households, each with a resident
    account and a bearer token; a designated supplier serving the community."""
    from linli.accounts.choices import Role
    from linli.accounts.models import ApiToken, User
    from linli.registry import services as registry
    from linli.registry.models import Household
    from linli.supplies.models import Supplier

    started = time.perf_counter()
    street = registry.street_create(code="310115901", name="保供压测街道")
    community = registry.community_create(street=street, name="压测社区")
    grid = registry.grid_create(community=community, name="第一网格")
    compound = registry.compound_create(grid=grid, name="压测小区")
    building = registry.building_create(compound=compound, name="1号楼")
    per_unit = 1000
    rows = []
    for u in range((households + per_unit - 1) // per_unit):
        unit = registry.unit_create(building=building, name=f"{u + 1}单元")
        for i in range(min(per_unit, households - u * per_unit)):
            room = f"R{i:04d}"
            rows.append(
                Household(
                    room=room,
                    code=registry.household_code(unit, room),
                    unit=unit,
                    street_id=unit.street_id,
                    community_id=unit.community_id,
                    grid_id=unit.grid_id,
                    compound_id=unit.compound_id,
                    building_id=unit.building_id,
                )
            )
    Household.objects.bulk_create(rows, batch_size=2000)
    homes = list(Household.objects.filter(community=community).order_by("pk"))
    users = []
    for household in homes:
        user = User(username=f"bench_resident_{household.pk}", role=Role.RESIDENT, password="!")
        user.set_scope(household)
        users.append(user)
    User.objects.bulk_create(users, batch_size=2000)
    by_household = dict(User.objects.filter(username__startswith="bench_resident_").values_list("household_id", "pk"))
    entries = []
    tokens = []
    for household in homes:
        key = f"ll_bench_{household.pk}_{os.urandom(12).hex()}"
        tokens.append(
            ApiToken(
                user_id=by_household[household.pk],
                name="bench",
                prefix=key[:8],
                key_hash=ApiToken.hash(key),
                last_used_at=datetime.datetime.now(datetime.UTC),
            )
        )
        entries.append((household.pk, key))
    ApiToken.objects.bulk_create(tokens, batch_size=2000)
    supplier = Supplier.objects.create(street=street, name="压测商超")
    supplier.communities.add(community)
    return Street(entries, community, supplier, time.perf_counter() - started)


def new_window(street: Street, items: int, *, stock: int, buckets: int, label: str) -> tuple[int, list[int]]:
    """A published window open now with ``items`` offers of ``stock`` units each; (id, offer ids)."""
    from django.utils import timezone

    from linli.supplies.models import Item
    from linli.supplies.services.catalogue import offer_add, window_create, window_publish

    now = timezone.now()
    window = window_create(
        supplier=street.supplier,
        community=street.community,
        opens_at=now - datetime.timedelta(hours=1),
        cutoff_at=now + datetime.timedelta(hours=12),
        delivery_on=timezone.localdate(now + datetime.timedelta(days=1)),
        title=label,
    )
    offers = []
    for n in range(items):
        item, _created = Item.objects.get_or_create(
            supplier=street.supplier, name=f"商品{n:03d}", defaults={"category": "vegetables", "price": "9.90"}
        )
        offers.append(offer_add(window, item, stock, buckets=buckets).pk)
    window_publish(window)
    return window.pk, offers


def check(window_ids: list[int], acked: list[int]) -> dict[str, int]:
    """Oversold units, negative buckets and acknowledged-but-missing orders over the measured windows."""
    from django.db.models import F, Sum

    from linli.supplies.models import Offer, OfferBucket, Order, OrderLine

    offers = Offer.objects.filter(window_id__in=window_ids)
    capacity = offers.aggregate(n=Sum("quantity"))["n"] or 0
    left = OfferBucket.objects.filter(offer__in=offers).aggregate(n=Sum("remaining"))["n"] or 0
    ordered = (
        OrderLine.objects.filter(order__window_id__in=window_ids, order__status="placed").aggregate(n=Sum("quantity"))[
            "n"
        ]
        or 0
    )
    stored = set(Order.objects.filter(window_id__in=window_ids).values_list("pk", flat=True))
    negative = OfferBucket.objects.filter(offer__in=offers, remaining__lt=0).count()
    inconsistent = OrderLine.objects.filter(order__window_id__in=window_ids).exclude(amount=F("price") * F("quantity"))
    return {
        "oversold": max(0, ordered - (capacity - left)) + negative,
        "stock_vs_orders_gap": (capacity - left) - ordered,
        "lost": len(set(acked) - stored),
        "stored": len(stored),
        "bad_lines": inconsistent.count(),
    }


# ----------------------------------------------------------------------------------------------
# The ceilings: pgbench on the same server


def pg_env() -> tuple[list[str], dict[str, str]]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    args = ["-h", db.get("HOST") or "127.0.0.1", "-U", db.get("USER") or "postgres"]
    if db.get("PORT"):
        args += ["-p", str(db["PORT"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def pgbench(options: list[str], seconds: int) -> float:
    """tps of one pgbench run against the scratch database."""
    from django.conf import settings

    args, env = pg_env()
    command = ["pgbench", *args, "-n", "-T", str(seconds), *options, settings.DATABASES["default"]["NAME"]]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    match = re.search(r"tps = ([\d.]+) \(without initial connection", done.stdout) or re.search(
        r"tps = ([\d.]+)", done.stdout
    )
    if done.returncode != 0 or match is None:
        raise RuntimeError(f"pgbench failed: {' '.join(command)}\n{done.stdout}\n{done.stderr}")
    return float(match.group(1))


HOT_SQL = """\\set k random(1, 2000000000)
BEGIN;
UPDATE bench_ceiling_bucket SET remaining = remaining - 1 WHERE id = 1 AND remaining >= 1;
INSERT INTO bench_ceiling_order (k, at) VALUES (:k, now());
END;
"""


def prepare_ceilings() -> None:
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_ceiling_bucket "
            "(id integer PRIMARY KEY, remaining integer NOT NULL CHECK (remaining >= 0))"
        )
        cursor.execute("INSERT INTO bench_ceiling_bucket VALUES (1, 2000000000)")
        cursor.execute("CREATE TABLE bench_ceiling_order (id bigserial PRIMARY KEY, k bigint NOT NULL, at timestamptz)")
    args, env = pg_env()
    done = subprocess.run(
        ["pgbench", *args, "-i", "-q", "-s", "1", settings.DATABASES["default"]["NAME"]],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"pgbench -i failed: {done.stderr}")


# ----------------------------------------------------------------------------------------------


def load() -> float:
    return os.getloadavg()[0]


def rush(kind: str) -> dict[str, Any]:
    if not is_postgres():
        raise RuntimeError("order_rush needs PostgreSQL (DATABASE_URL=postgres://…): its ceilings are pgbench")
    # More households than a round sends requests: each wrk thread walks its own, so every request is
    # a household's first order in the window. With 12,000, a fast machine (1,700 orders/s) came back
    # to the first households within a round and measured their second orders' 409s too.
    households = int(os.environ.get("BENCH_ORDER_HOUSEHOLDS", "40000"))
    seconds = int(os.environ.get("BENCH_ORDER_SECONDS", "8"))
    rounds = int(os.environ.get("BENCH_ORDER_ROUNDS", "3"))
    buckets = int(os.environ.get("BENCH_ORDER_BUCKETS", "8"))
    hot = kind == "hot"
    items, basket = (1, 1) if hot else (SPREAD_ITEMS, BASKET)
    ensure_wrk()
    loads = [load()]
    with scratch_database(f"order_rush_{kind}"), tempfile.TemporaryDirectory() as tmp:
        street = seed_street(households)
        prepare_ceilings()
        entries_path = os.path.join(tmp, "entries.tsv")
        with open(entries_path, "w") as handle:
            handle.writelines(f"{household}\t{key}\n" for household, key in street.entries)
        script = os.path.join(tmp, "rush.lua")
        with open(script, "w") as handle:
            handle.write(LUA)
        hot_sql = os.path.join(tmp, "hot.sql")
        with open(hot_sql, "w") as handle:
            handle.write(HOT_SQL)
        ceiling_options = ["-c", "32", "-j", "2", "-f", hot_sql] if hot else ["-N", "-c", "4", "-j", "2"]
        stock = 1_000_000 if hot else 100_000

        def args_for(window_id: int, offers: list[int]) -> list[str]:
            return ["order", entries_path, str(window_id), ",".join(map(str, offers)), str(basket), "2"]

        ceilings: list[float] = []
        runs: list[dict[str, Any]] = []
        measured: list[int] = []
        log_path = os.path.join(tmp, "server.log")
        with serve(log_path) as base:
            warm = new_window(street, items, stock=stock, buckets=buckets, label="warm-up")
            wrk_run(base, script, ["ping"], 2, CONNECTIONS)
            wrk_run(base, script, args_for(*warm), 3, CONNECTIONS)
            for n in range(rounds):
                ceilings.append(pgbench(ceiling_options, seconds))
                window_id, offers = new_window(street, items, stock=stock, buckets=buckets, label=f"round {n}")
                measured.append(window_id)
                runs.append(wrk_run(base, script, args_for(window_id, offers), seconds, CONNECTIONS))
                loads.append(load())
                summary = runs[-1]
                print(
                    f"  {kind} round {n + 1}: ceiling {ceilings[-1]:.0f} tps; orders {summary['rps']:.0f}/s, "
                    f"p50 {summary['p50_us'] / 1000:.1f} ms, p99 {summary['p99_us'] / 1000:.1f} ms, "
                    f"statuses {summary['statuses']}; load {loads[-1]:.1f}",
                    flush=True,
                )
        acked = [int(i) for run in runs for i in run.get("acked", [])]
        verdict = check(measured, acked)
        server_log = open(log_path).read()[-1500:]
    created = [int(run["statuses"].get("201", 0)) for run in runs]
    other = sum(run["requests"] - int(run["statuses"].get("201", 0)) for run in runs)
    if verdict["lost"] or verdict["oversold"] or verdict["bad_lines"]:
        raise RuntimeError(f"the rush broke an invariant: {verdict}; server log tail:\n{server_log}")
    value = median([run["rps"] for run in runs])
    ceiling = median(ceilings)
    p99 = median([run["p99_us"] / 1000 for run in runs])
    ratio = value / ceiling
    target = HOT_TARGET_RATIO if hot else SPREAD_TARGET_RATIO
    return {
        "value": round(value, 1),
        "unit": "orders/s",
        "p99": round(p99, 2),
        "p50": round(median([run["p50_us"] / 1000 for run in runs]), 2),
        "ceiling": round(ceiling, 1),
        "ceiling_what": "pgbench 32 clients: conditional UPDATE of one hot row + INSERT"
        if hot
        else "pgbench -N (simple-update), 4 clients",
        "ratio": round(ratio, 3),
        "targets": {"ratio": target, **({"p99_ms": HOT_TARGET_P99_MS} if hot else {})},
        "met": ratio >= target and (p99 <= HOT_TARGET_P99_MS if hot else True),
        "oversold": verdict["oversold"],
        "lost": verdict["lost"],
        "answered_201": sum(created),
        "answered_other": other,
        "households_reused": any(run["requests"] > len(street.entries) for run in runs),
        "orders_stored": verdict["stored"],
        "buckets": buckets,
        "items": items,
        "basket": basket,
        "connections": CONNECTIONS,
        "seconds": seconds,
        "rounds": rounds,
        "runs_rps": [round(run["rps"], 1) for run in runs],
        "runs_ceiling": [round(c, 1) for c in ceilings],
        "load_avg_1m": [round(x, 1) for x in loads],
        "server": " ".join(server_command(0)[1:]).replace("--port 0 ", ""),
        "households": len(street.entries),
        "seed_s": round(street.seconds, 1),
    }


def run_hot() -> dict[str, Any]:
    return rush("hot")


def run_spread() -> dict[str, Any]:
    return rush("spread")


NAME = "order_rush"
BENCHES = {"order_rush_hot": run_hot, "order_rush_spread": run_spread}


def run() -> dict[str, Any]:
    return run_hot()
