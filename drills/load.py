"""Load drill: a realistic mix against gunicorn (2 workers) + PostgreSQL, with wrk.

Four 60-second runs (--seconds), each on its own freshly seeded pacts, alternated in
--slices short slices so the shared machine's other work hits them alike:

1. baseline: bare Django views doing the same queries (drills/urls.py), saturated:
   50 connections, no think time;
2. saturated: the real API (DRF, auth, rate limiter, middleware), the same mix;
3. busy: 50 users each waiting 0.1-0.5 s between answer and next request;
4. users: 50 users waiting 1-3 s (a person tapping through the Mini App), the latency
   figure the target is about (p99 < 150 ms, issue 17).

Saturated runs use wrk (a Lua script for the mix and per-request tokens); the runs with
think time use an asyncio client (httpx), because wrk's latency with delay() includes
part of the pause.

The mix (per request): 50% home (GET /pacts), 38% pact detail, 8% check-in with an
idempotency key (each pact's initiator, the same key on every retry, at most 3 tries),
4% dispute (the partner, once, on a day checked in before the run); exhausted write
budgets fall back to reads. Rate limiting is on: 429s are counted apart, every other
status >= 400 and every socket error is an error. After the runs the database must show
each checked-in day DONE and each disputed day DISPUTED.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

from drills import common

LUA = r"""
pacts = %(pacts)s
think = %(think)s
ids_path = %(ids)s
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  nthreads = tonumber(args[1])
  mine = {}
  for i, p in ipairs(pacts) do
    if (i %% nthreads) == tid then table.insert(mine, p) end
  end
  checkins, disputes = {}, {}
  for _, p in ipairs(mine) do
    if p.pre then table.insert(disputes, p) else table.insert(checkins, p) end
  end
  tries = {}
  counts, kinds = {}, {}
  -- ids go to a file per thread: wrk corrupts long string keys copied by thread:get
  ids = io.open(ids_path .. tid, "w")
  last = nil
  math.randomseed(tid * 7919 + 17)
end

local function auth(token, extra)
  local h = {["Authorization"] = "Bearer " .. token}
  if extra then h["Content-Type"] = "application/json" end
  return h
end

local function pick(list) return list[math.random(#list)] end

function request()
  local r = math.random()
  local p = pick(mine)
  local kind
  if r < 0.04 and #disputes > 0 then
    local q = table.remove(disputes, math.random(#disputes))
    ids:write("D ", q.id, "\n"); ids:flush()
    kind = "dispute"
    last = kind
    kinds[kind] = (kinds[kind] or 0) + 1
    return wrk.format("POST", "/api/v1/pacts/" .. q.id .. "/days/" .. q.today .. "/dispute",
      auth(q.pt, true), '{"reason": "no photo"}')
  elseif r < 0.12 and #checkins > 0 then
    local idx = math.random(#checkins)
    local q = checkins[idx]
    tries[q.id] = (tries[q.id] or 0) + 1
    if tries[q.id] >= 3 then table.remove(checkins, idx) end
    ids:write("C ", q.id, "\n"); ids:flush()
    kind = "checkin"
    kinds[kind] = (kinds[kind] or 0) + 1
    return wrk.format("POST", "/api/v1/pacts/" .. q.id .. "/days/" .. q.today .. "/checkin",
      auth(q.it, true), '{"idempotency_key": "drill-' .. q.id .. '", "note": "done"}')
  elseif r < 0.62 then
    kind = "home"
    kinds[kind] = (kinds[kind] or 0) + 1
    local token = (math.random() < 0.5) and p.it or p.pt
    return wrk.format("GET", "/api/v1/pacts", auth(token))
  else
    kind = "detail"
    kinds[kind] = (kinds[kind] or 0) + 1
    local token = (math.random() < 0.5) and p.it or p.pt
    return wrk.format("GET", "/api/v1/pacts/" .. p.id, auth(token))
  end
end

function response(status, headers, body)
  local k = tostring(status)
  counts[k] = (counts[k] or 0) + 1
  if status == 200 and body and body:sub(1, 7) == '{"day":' then
    local id = body:match('"id":%%s*"([%%x%%-]+)"')
    local st = body:match('"status":%%s*"(%%u+)"')
    if id and st then ids:write("A ", id, " ", st, "\n"); ids:flush() end
  end
end

if think then
  function delay() return math.random(think[1], think[2]) end
end

function done(summary, latency, requests)
  local total, kind_total = {}, {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
    for k, v in pairs(t:get("kinds")) do kind_total[k] = (kind_total[k] or 0) + v end
  end
  local function obj(t)
    local parts = {}
    for k, v in pairs(t) do table.insert(parts, '"' .. k .. '": ' .. v) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  local e = summary.errors
  io.write("DRILL_JSON " .. string.format(
    '{"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "p50_us": %%d, ' ..
    '"p95_us": %%d, "p99_us": %%d, "max_us": %%d, "statuses": %%s, "kinds": %%s}',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    obj(total), obj(kind_total))
    .. "\n")
end
"""


def lua_script(pacts, *, think: tuple[int, int] | None) -> str:
    rows = ",\n".join(
        f"{{id={json.dumps(p.pact_id)}, today={json.dumps(p.today)},"
        f" it={json.dumps(p.initiator_token)}, pt={json.dumps(p.partner_token)},"
        f" pre={'true' if p.pre else 'false'}}}"
        for p in pacts
    )
    think_lua = f"{{{think[0]}, {think[1]}}}" if think else "false"
    ids = json.dumps(str(common.LOG_DIR / "load-ids-"))
    return LUA % {"pacts": "{\n" + rows + "\n}", "think": think_lua, "ids": ids}


def precheck(pacts) -> None:
    """Check in every other pact's day before the run, so partners can dispute it."""
    from datetime import date

    from pacts.actions import day_for, pact_for
    from pacts.models import User

    for i, p in enumerate(pacts):
        p.pre = bool(i % 2)
        if p.pre:
            user = User.objects.get(pk=p.initiator_id)
            day_for(pact_for(user, p.pact_id), date.fromisoformat(p.today)).check_in(user)


def run_wrk(server: common.Server, pacts, *, seconds: int, think, label: str) -> dict:
    script = common.LOG_DIR / f"load-{label}.lua"
    script.write_text(lua_script(pacts, think=think))
    out = subprocess.run(
        [
            "wrk", "-t2", "-c50", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
            server.url, "--", "2",
        ],
        capture_output=True, timeout=seconds + 60,
    )  # fmt: skip
    (common.LOG_DIR / f"load-{label}.out").write_bytes(out.stdout + out.stderr)
    out.stdout = out.stdout.decode(errors="replace")
    out.stderr = out.stderr.decode(errors="replace")
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("DRILL_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no figures:\n{out.stdout}\n{out.stderr}")
    result = json.loads(line[len("DRILL_JSON ") :])
    result["label"] = label
    result.update(checked=[], disputed=[], answered={})
    for tid in range(2):
        path = common.LOG_DIR / f"load-ids-{tid}"
        for line in path.read_text().splitlines():
            kind, _, rest = line.partition(" ")
            if kind == "C":
                result["checked"].append(rest)
            elif kind == "D":
                result["disputed"].append(rest)
            elif kind == "A":
                day_id, _, state = rest.partition(" ")
                result["answered"][day_id] = state
        path.unlink()
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    statuses = {int(k): v for k, v in result["statuses"].items()}
    result["n429"] = statuses.get(429, 0)
    result["errors"] = result["socket_errors"] + sum(
        v for k, v in statuses.items() if k >= 400 and k != 429
    )
    return result


def run_users(server: common.Server, pacts, *, seconds: int, think, label: str) -> dict:
    """50 users with think time, in asyncio (wrk's latency figures include part of the
    delay() pause, so they can't be used here): the same mix, latency timed per request
    from send to the last byte."""
    import asyncio
    import random

    import httpx

    rng = random.Random(hash(label) & 0xFFFF)
    checkins = [p for p in pacts if not p.pre]
    disputes = [p for p in pacts if p.pre]
    tries: dict[str, int] = {}
    result = {"label": label, "checked": [], "disputed": [], "answered": {}}
    statuses: dict[str, int] = {}
    kinds: dict[str, int] = {}
    latencies: list[float] = []
    by_kind: dict[str, list[float]] = {}
    socket_errors = 0

    def next_request():
        r = rng.random()
        p = rng.choice(pacts)
        if r < 0.04 and disputes:
            q = disputes.pop(rng.randrange(len(disputes)))
            result["disputed"].append(q.pact_id)
            url = f"/api/v1/pacts/{q.pact_id}/days/{q.today}/dispute"
            return "dispute", "POST", url, q.partner_token, {"reason": "no photo"}
        if r < 0.12 and checkins:
            i = rng.randrange(len(checkins))
            q = checkins[i]
            tries[q.pact_id] = tries.get(q.pact_id, 0) + 1
            if tries[q.pact_id] >= 3:
                checkins.pop(i)
            result["checked"].append(q.pact_id)
            body = {"idempotency_key": f"drill-{q.pact_id}", "note": "done"}
            url = f"/api/v1/pacts/{q.pact_id}/days/{q.today}/checkin"
            return "checkin", "POST", url, q.initiator_token, body
        token = p.initiator_token if rng.random() < 0.5 else p.partner_token
        if r < 0.62:
            return "home", "GET", "/api/v1/pacts", token, None
        return "detail", "GET", f"/api/v1/pacts/{p.pact_id}", token, None

    async def user(client, end):
        nonlocal socket_errors
        await asyncio.sleep(rng.uniform(0, think[1]) / 1000)  # users arrive spread out
        while time.monotonic() < end:
            kind, method, url, token, body = next_request()
            kinds[kind] = kinds.get(kind, 0) + 1
            started = time.perf_counter()
            try:
                response = await client.request(
                    method, url, json=body, headers={"Authorization": f"Bearer {token}"}
                )
            except httpx.HTTPError:
                socket_errors += 1
            else:
                latencies.append(time.perf_counter() - started)
                by_kind.setdefault(kind, []).append(latencies[-1])
                key = str(response.status_code)
                statuses[key] = statuses.get(key, 0) + 1
                if response.status_code == 200 and kind in ("checkin", "dispute"):
                    day = response.json()["day"]
                    result["answered"][day["id"]] = day["status"]
            await asyncio.sleep(rng.uniform(think[0], think[1]) / 1000)

    async def main():
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        async with httpx.AsyncClient(base_url=server.url, timeout=10, limits=limits) as client:
            end = time.monotonic() + seconds
            await asyncio.gather(*(user(client, end) for _ in range(50)))

    started = time.monotonic()
    asyncio.run(main())
    duration = time.monotonic() - started
    latencies.sort()

    def pct(q):
        return int(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e6)

    result.update(
        requests=len(latencies) + socket_errors, duration_us=int(duration * 1e6),
        socket_errors=socket_errors, p50_us=pct(0.50), p95_us=pct(0.95), p99_us=pct(0.99),
        max_us=int(latencies[-1] * 1e6), statuses=statuses, kinds=kinds,
    )  # fmt: skip
    result["p99_ms_by_kind"] = {
        kind: round(sorted(times)[min(len(times) - 1, int(0.99 * len(times)))] * 1000, 1)
        for kind, times in sorted(by_kind.items())
    }
    result["rps"] = result["requests"] / duration
    result["n429"] = statuses.get("429", 0)
    result["errors"] = socket_errors + sum(
        v for k, v in statuses.items() if int(k) >= 400 and k != "429"
    )
    return result


def merge(label: str, runs: list[dict]) -> dict:
    """One figure per run from its slices: totals summed, latency percentiles the worst
    slice's (wrk cannot merge histograms)."""
    merged = {"label": label, "checked": [], "disputed": [], "answered": {}}
    for key in ("requests", "duration_us", "socket_errors", "n429", "errors"):
        merged[key] = sum(r[key] for r in runs)
    for key in ("p50_us", "p95_us", "p99_us", "max_us"):
        merged[key] = max(r[key] for r in runs)
    for key in ("statuses", "kinds"):
        total: dict = {}
        for r in runs:
            for k, v in r[key].items():
                total[k] = total.get(k, 0) + v
        merged[key] = total
    for r in runs:
        merged["checked"] += r["checked"]
        merged["disputed"] += r["disputed"]
        merged["answered"].update(r["answered"])
    merged["rps"] = merged["requests"] / (merged["duration_us"] / 1e6)
    if all("p99_ms_by_kind" in r for r in runs):  # the worst slice's, as above
        kinds = {kind for r in runs for kind in r["p99_ms_by_kind"]}
        merged["p99_ms_by_kind"] = {
            kind: max(r["p99_ms_by_kind"].get(kind, 0) for r in runs) for kind in sorted(kinds)
        }
    merged["slices_rps"] = [round(r["rps"], 1) for r in runs]
    return merged


def verify(pacts, result, outcome: common.Outcome) -> None:
    """Every write that was answered 200 is in the database as answered; no day was
    changed that the drill did not write (fresh days DONE only if checked in, pre-checked
    days DISPUTED only if disputed)."""
    from pacts.models import PactDay

    answered = result["answered"]
    states = {
        str(pk): status
        for pk, status in PactDay.objects.filter(pk__in=list(answered)).values_list("pk", "status")
    }
    lost = {pk: want for pk, want in answered.items() if states.get(pk) != want}
    outcome.expect(
        not lost,
        f"{result['label']}: all {len(answered)} writes answered 200 are in the database"
        + (f" (lost: {list(lost.items())[:5]})" if lost else ""),
    )
    days = PactDay.objects.filter(pact_id__in=[p.pact_id for p in pacts], date=pacts[0].today)
    done = {str(pid) for pid in days.filter(status="DONE").values_list("pact_id", flat=True)}
    disputed = {
        str(pid) for pid in days.filter(status="DISPUTED").values_list("pact_id", flat=True)
    }
    pre = {p.pact_id for p in pacts if p.pre}
    unexplained = (done - pre - set(result["checked"])) | (disputed - set(result["disputed"]))
    outcome.expect(not unexplained, f"{result['label']}: no day changed that the drill didn't")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="load drill")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--pacts", type=int, default=200, help="pacts per run (2 users each)")
    parser.add_argument("--slices", type=int, default=4, help="alternating slices per run")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    common.ensure_database()
    common.configure()
    common.migrate()
    common.reset_data()
    outcome = common.Outcome("load")
    started = time.monotonic()
    sets = {
        label: common.seed_pacts(args.pacts, label=label)
        for label in ("baseline", "saturated", "busy", "users")
    }
    for pacts in sets.values():
        precheck(pacts)
    outcome.figure("seeded", f"{4 * args.pacts} pacts in {time.monotonic() - started:.0f} s")
    from django.db import connection

    connection.close()
    # The machine is shared: alternate baseline and product in short slices, so a burst
    # of someone else's work hits both alike; each slice uses its own pacts.
    slices = max(1, args.slices)
    parts: dict[str, list[dict]] = {"baseline": [], "saturated": [], "busy": [], "users": []}
    with (
        common.Server(settings_module="drills.settings", name="baseline") as base_server,
        common.Server(name="product") as product,
    ):
        for k in range(slices):
            for label, server, think in (("baseline", base_server, None),
                                         ("saturated", product, None),
                                         ("busy", product, (100, 500)),
                                         ("users", product, (1000, 3000))):  # fmt: skip
                part = sets[label][k::slices]
                run = run_users if think else run_wrk
                parts[label].append(run(server, part, seconds=args.seconds // slices,
                                        think=think, label=label))  # fmt: skip
        errors = {"baseline": base_server.server_errors(), "product": product.server_errors()}
    results = [merge(label, runs) for label, runs in parts.items()]
    for r in results:
        r["server_errors"] = errors["baseline" if r["label"] == "baseline" else "product"]
    print(f"  {'run':<10} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
          f" {'requests':>9} {'429s':>5} {'errors':>6}  mix")  # fmt: skip
    for r in results:
        print(
            f"  {r['label']:<10} {r['rps']:>7.1f} {r['p50_us'] / 1000:>7.1f}"
            f" {r['p95_us'] / 1000:>7.1f} {r['p99_us'] / 1000:>7.1f} {r['max_us'] / 1000:>7.1f}"
            f" {r['requests']:>9} {r['n429']:>5} {r['errors']:>6}  {r['kinds']}"
        )
    for r in results:
        outcome.figure(f"{r['label']} req/s per slice", r["slices_rps"])
    outcome.figure("load average (1 min) after the runs", round(os.getloadavg()[0], 2))
    base, sat, busy, users = results
    ratio = sat["rps"] / base["rps"]
    outcome.figure("throughput vs bare views", f"{ratio:.2f}x")
    for r in results:
        outcome.expect(r["errors"] == 0, f"{r['label']}: 0 errors other than 429 "
                       f"(statuses {r['statuses']})")  # fmt: skip
        outcome.expect(not r["server_errors"], f"{r['label']}: no 5xx or traceback in the log")
        verify(sets[r["label"]], r, outcome)
    outcome.expect(users["p99_us"] < 150_000, "50 users (1-3 s think time): p99 under 150 ms")
    outcome.figure("50 users: p99 ms by request kind", users["p99_ms_by_kind"])
    outcome.figure("50 busy users (0.1-0.5 s think time): p99 ms", busy["p99_us"] / 1000)
    outcome.expect(ratio >= 0.5, "saturated throughput at least half the bare views'")
    return outcome.finish()


if __name__ == "__main__":
    sys.exit(main())
