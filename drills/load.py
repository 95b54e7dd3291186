"""Load drill: a realistic mix against gunicorn (2 workers) + PostgreSQL, with wrk.

Three 60-second runs (--seconds to change), each on its own freshly seeded pacts:

1. baseline: bare Django views doing the same queries (drills/urls.py), saturated:
   50 connections, no think time;
2. product, saturated: the real API (DRF, auth, rate limiter, middleware), same mix;
3. product, 50 users: the same mix with 100-500 ms of think time per user, the latency
   figure the target is about (p99 < 250 ms).

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
  counts, kinds, checked, disputed, answered = {}, {}, {}, {}, {}
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
    disputed[q.id] = true
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
    checked[q.id] = true
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
    if id and st then answered[id] = st end
  end
end

if think then
  function delay() return math.random(100, 500) end
end

function done(summary, latency, requests)
  local total, kind_total, all_checked, all_disputed, all_answered = {}, {}, {}, {}, {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("counts")) do total[k] = (total[k] or 0) + v end
    for k, v in pairs(t:get("kinds")) do kind_total[k] = (kind_total[k] or 0) + v end
    for k, _ in pairs(t:get("checked")) do table.insert(all_checked, '"' .. k .. '"') end
    for k, _ in pairs(t:get("disputed")) do table.insert(all_disputed, '"' .. k .. '"') end
    for k, v in pairs(t:get("answered")) do
      table.insert(all_answered, '"' .. k .. '": "' .. v .. '"')
    end
  end
  local function obj(t)
    local parts = {}
    for k, v in pairs(t) do table.insert(parts, '"' .. k .. '": ' .. v) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  local e = summary.errors
  io.write("DRILL_JSON " .. string.format(
    '{"requests": %%d, "duration_us": %%d, "socket_errors": %%d, "p50_us": %%d, ' ..
    '"p95_us": %%d, "p99_us": %%d, "max_us": %%d, "statuses": %%s, "kinds": %%s, ' ..
    '"checked": [%%s], "disputed": [%%s], "answered": {%%s}}',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    obj(total), obj(kind_total), table.concat(all_checked, ","), table.concat(all_disputed, ","),
    table.concat(all_answered, ","))
    .. "\n")
end
"""


def lua_script(pacts, *, think: bool) -> str:
    rows = ",\n".join(
        f"{{id={json.dumps(p.pact_id)}, today={json.dumps(p.today)},"
        f" it={json.dumps(p.initiator_token)}, pt={json.dumps(p.partner_token)},"
        f" pre={'true' if i % 2 else 'false'}}}"
        for i, p in enumerate(pacts)
    )
    return LUA % {"pacts": "{\n" + rows + "\n}", "think": "true" if think else "false"}


def precheck(pacts) -> None:
    """Check in every other pact's day before the run, so partners can dispute it."""
    from datetime import date

    from pacts.actions import day_for, pact_for
    from pacts.models import User

    for i, p in enumerate(pacts):
        if i % 2:
            user = User.objects.get(pk=p.initiator_id)
            day_for(pact_for(user, p.pact_id), date.fromisoformat(p.today)).check_in(user)


def run_wrk(server: common.Server, pacts, *, seconds: int, think: bool, label: str) -> dict:
    script = common.LOG_DIR / f"load-{label}.lua"
    script.write_text(lua_script(pacts, think=think))
    out = subprocess.run(
        [
            "wrk", "-t2", "-c50", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
            server.url, "--", "2",
        ],
        capture_output=True, text=True, timeout=seconds + 60,
    )  # fmt: skip
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("DRILL_JSON ")), None)
    if line is None:
        raise SystemExit(f"wrk gave no figures:\n{out.stdout}\n{out.stderr}")
    result = json.loads(line[len("DRILL_JSON ") :])
    result["label"] = label
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    statuses = {int(k): v for k, v in result["statuses"].items()}
    result["n429"] = statuses.get(429, 0)
    result["errors"] = result["socket_errors"] + sum(
        v for k, v in statuses.items() if k >= 400 and k != 429
    )
    result["server_errors"] = server.server_errors()
    return result


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
    pre = {p.pact_id for i, p in enumerate(pacts) if i % 2}
    unexplained = (done - pre - set(result["checked"])) | (disputed - set(result["disputed"]))
    outcome.expect(not unexplained, f"{result['label']}: no day changed that the drill didn't")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="load drill")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--pacts", type=int, default=200, help="pacts per run (2 users each)")
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
        for label in ("baseline", "saturated", "users")
    }
    for pacts in sets.values():
        precheck(pacts)
    outcome.figure("seeded", f"{3 * args.pacts} pacts in {time.monotonic() - started:.0f} s")
    from django.db import connection

    connection.close()
    results = []
    with common.Server(settings_module="drills.settings", name="baseline") as server:
        results.append(run_wrk(server, sets["baseline"], seconds=args.seconds, think=False,
                               label="baseline"))  # fmt: skip
    with common.Server(name="product") as server:
        results.append(run_wrk(server, sets["saturated"], seconds=args.seconds, think=False,
                               label="saturated"))  # fmt: skip
        results.append(run_wrk(server, sets["users"], seconds=args.seconds, think=True,
                               label="users"))  # fmt: skip
    print(f"  {'run':<10} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
          f" {'requests':>9} {'429s':>5} {'errors':>6}  mix")  # fmt: skip
    for r in results:
        print(
            f"  {r['label']:<10} {r['rps']:>7.1f} {r['p50_us'] / 1000:>7.1f}"
            f" {r['p95_us'] / 1000:>7.1f} {r['p99_us'] / 1000:>7.1f} {r['max_us'] / 1000:>7.1f}"
            f" {r['requests']:>9} {r['n429']:>5} {r['errors']:>6}  {r['kinds']}"
        )
    outcome.figure("load average (1 min) after the runs", os.getloadavg()[0])
    base, sat, users = results
    ratio = sat["rps"] / base["rps"]
    outcome.figure("throughput vs bare views", f"{ratio:.2f}x")
    for r in results:
        outcome.expect(r["errors"] == 0, f"{r['label']}: 0 errors other than 429 "
                       f"(statuses {r['statuses']})")  # fmt: skip
        outcome.expect(not r["server_errors"], f"{r['label']}: no 5xx or traceback in the log")
        verify(sets[r["label"]], r, outcome)
    outcome.expect(users["p99_us"] < 250_000, "50 users: p99 under 250 ms")
    outcome.expect(ratio >= 0.5, "saturated throughput at least half the bare views'")
    return outcome.finish()


if __name__ == "__main__":
    sys.exit(main())
