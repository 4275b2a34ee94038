"""Serving linli with the production server, and driving it with wrk: what the HTTP benchmarks share.

``serve`` starts the granian command of ``make run`` (its workers and threads, read from the Makefile)
on the scratch database with ``bench.settings`` (linli's settings plus ``/bench/ping``, the minimal
Django JSON view some ceilings are measured on). ``wrk_run`` runs wrk with a Lua script that starts
with ``LUA_COMMON`` and ends its ``done`` with ``write_summary``: one ``WRK {json}`` line of
requests, latency percentiles, errors and the statuses counted by every thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent

# The start of every benchmark's Lua script. Globals: wrk's thread:set/get reach only globals of each
# thread's Lua state. A script's response() counts statuses in ``counts``; its done() calls
# write_summary(summary, latency, extra), extra being more JSON members (", \"acked\": [...]") or "".
LUA_COMMON = r"""
thread_id = 0
threads = {}
counts = {}

function setup(thread)
  thread_id = thread_id + 1
  thread:set("thread_id", thread_id)
  table.insert(threads, thread)
end

function seed_random()
  math.randomseed(os.time() * 1000 + (thread_id or 0) * 7919 + math.floor(os.clock() * 1000000))
end

local function r16() return math.random(0, 65535) end

function uuid4()
  return string.format("%04x%04x-%04x-4%03x-%04x-%04x%04x%04x",
    r16(), r16(), r16(), math.random(0, 4095), 32768 + math.random(0, 16383), r16(), r16(), r16())
end

function write_summary(summary, latency, extra)
  local statuses = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts") or {}
    for status, n in pairs(c) do statuses[status] = (statuses[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(statuses) do table.insert(parts, string.format('"%d": %d', status, n)) end
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, "statuses": {%s}%s}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(parts, ", "), extra))
end
"""


def ensure_wrk() -> str:
    """The wrk binary; installed from Debian on demand (the benchmark needs a light load generator)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk not found: apt-get install -y wrk", flush=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        found = shutil.which("wrk")
        if found:
            return found
    raise RuntimeError("this benchmark needs wrk (Debian: apt-get install wrk)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_url() -> str:
    """The database the default connection uses now (the scratch one), as a DATABASE_URL."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = quote(db.get("USER") or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db.get("HOST") or "127.0.0.1"
    if host.startswith("/"):  # a Unix socket's directory
        host = quote(host, safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{quote(db['NAME'], safe='')}"


def server_command(port: int) -> list[str]:
    """The granian command of ``make run`` (its workers and threads), on ``port``."""
    makefile = (REPO / "Makefile").read_text()
    match = re.search(r"^\t\$\(VENV\)/bin/granian (.+)$", makefile, re.MULTILINE)
    args = (
        match.group(1).split()
        if match
        else "--interface wsgi --host $(HOST) --port $(PORT) --workers 2 linli.wsgi:application".split()
    )
    substitutions = {"$(HOST)": "127.0.0.1", "$(PORT)": str(port)}
    granian = str(REPO / ".venv" / "bin" / "granian")
    if not os.path.exists(granian):
        granian = shutil.which("granian") or "granian"
    return [granian, *(substitutions.get(arg, arg) for arg in args)]


@contextlib.contextmanager
def serve(log_path: str) -> Iterator[str]:
    """The production server on the scratch database with ``bench.settings``; yields its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "False",
        "PYTHONPATH": str(REPO),
    }
    command = server_command(port)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/bench/ping", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {' '.join(command)}; see {log_path}")
            time.sleep(0.3)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wrk_run(base: str, script: str, args: list[str], seconds: int, connections: int) -> dict[str, Any]:
    """One wrk run; its summary (requests, latency percentiles in µs, statuses, errors)."""
    command = [
        ensure_wrk(),
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        script,
        base,
        "--",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    output = done.stdout
    for line in output.splitlines():
        if line.startswith("WRK "):
            summary: dict[str, Any] = json.loads(line[4:])
            summary["rps"] = summary["requests"] / (summary["duration_us"] / 1e6)
            return summary
    raise RuntimeError(f"wrk printed no summary: {output}")
