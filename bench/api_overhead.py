"""Benchmark: what the API costs a request beyond the load drill's bare views, in one process.

The load drill (`drills/run load`) gives the throughput ratio through gunicorn and wrk,
where two workers, PostgreSQL and wrk share the machine's two cores. This bench leaves
that out: one process drives the WSGI application gunicorn serves (`habitpact.wsgi`),
GET /api/v1/pacts and GET /api/v1/pacts/{id} in turn over 20 drill pacts, once with the
product's settings (DRF, authentication, the rate limiter, the middleware) and once with
the drill's bare views (`drills.settings`, the same queries). The two settings can't
share a process, so each run is a child process; runs alternate so the machine's load
falls on both alike. It prints each run's wall and CPU milliseconds a request, the
queries of each endpoint, and ends with `api_vs_bare <x.xx>` (bare median ÷ API median,
wall time: the drill's `throughput vs bare views` in one process; target 0.9).

    .venv/bin/python bench/api_overhead.py            # 5 rounds of 300 requests each
    .venv/bin/python bench/api_overhead.py --rounds 3 -n 200
    BENCH_DATABASE_URL=postgres://... to use another database (default hp_api_bench)

It needs PostgreSQL; it creates and migrates the database and seeds its pacts once.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/hp_api_bench"
SETTINGS = {"api": "habitpact.settings", "bare": "drills.settings"}


def child(mode: str, n: int, seeds_path: str) -> None:
    """In a child process: `n` rounds of the two GETs; print one JSON line."""
    sys.path.insert(0, str(ROOT))
    from drills import common

    os.environ.update(common.SERVER_ENV)
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS[mode]
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Counting stays on (it is part of the cost), with room for every request.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "read": (10**9, 60)}
    seeds = json.loads(Path(seeds_path).read_text())
    from habitpact.wsgi import application as handler  # what gunicorn serves

    def get(path: str, token: str) -> int:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "HTTP_HOST": "localhost",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_AUTHORIZATION": f"Bearer {token}",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.url_scheme": "http",
        }
        statuses = []
        body = b"".join(handler(environ, lambda status, headers: statuses.append(status)))
        assert statuses[0].startswith("200"), (path, statuses, body[:200])
        return len(body)

    def paths(seed):
        return [("home", "/api/v1/pacts"), ("detail", f"/api/v1/pacts/{seed['id']}")]

    def rounds(k: int) -> None:
        for i in range(k):
            seed = seeds[i % len(seeds)]
            for _kind, path in paths(seed):
                get(path, seed["token"])

    rounds(50)  # warm: imports, caches, the connection
    shape = {}
    for kind, path in paths(seeds[0]):
        with CaptureQueriesContext(connection) as queries:
            size = get(path, seeds[0]["token"])
        shape[kind] = {"queries": len(queries), "bytes": size}
    wall, cpu = time.perf_counter(), time.process_time()
    rounds(n)
    requests = 2 * n
    print(
        json.dumps(
            {
                "wall_ms": (time.perf_counter() - wall) * 1000 / requests,
                "cpu_ms": (time.process_time() - cpu) * 1000 / requests,
                "shape": shape,
            }
        )
    )


def seed(seeds_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from drills import common

    common.ensure_database(os.environ["BENCH_DATABASE_URL"])
    common.configure(os.environ["BENCH_DATABASE_URL"])
    common.migrate()
    rows = common.seed_pacts(20, label="bench")
    seeds_path.write_text(
        json.dumps([{"id": str(r.pact_id), "token": r.initiator_token} for r in rows])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("-n", type=int, default=300, help="requests per endpoint per run")
    parser.add_argument("--child", choices=SETTINGS, help=argparse.SUPPRESS)
    parser.add_argument("--seeds", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("BENCH_DATABASE_URL", DEFAULT_DB)
    if args.child:
        child(args.child, args.n, args.seeds)
        return
    seeds_path = Path(f"/tmp/hp_api_bench_seeds_{os.getpid()}.json")
    seed(seeds_path)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"database {os.environ['BENCH_DATABASE_URL']}; 20 pacts; load {load}")
    runs: dict[str, list[dict]] = {"bare": [], "api": []}
    for r in range(args.rounds):
        for mode in ("bare", "api"):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, "-n", str(args.n)]
                + ["--seeds", str(seeds_path)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            runs[mode].append(result)
            print(
                f"round {r + 1} {mode:<4} wall {result['wall_ms']:6.2f} ms/request"
                f"  cpu {result['cpu_ms']:6.2f} ms/request"
            )
    seeds_path.unlink()
    for mode in ("bare", "api"):
        shape = runs[mode][0]["shape"]
        print(
            f"{mode:<4} "
            + ", ".join(f"{k} {v['queries']} queries {v['bytes']} B" for k, v in shape.items())
        )
    wall = {mode: statistics.median(r["wall_ms"] for r in runs[mode]) for mode in runs}
    cpu = {mode: statistics.median(r["cpu_ms"] for r in runs[mode]) for mode in runs}
    print(f"median wall ms/request: bare {wall['bare']:.2f}, api {wall['api']:.2f}")
    print(f"median cpu ms/request: bare {cpu['bare']:.2f}, api {cpu['api']:.2f}")
    print(f"cpu_vs_bare {cpu['bare'] / cpu['api']:.2f}")
    print(f"api_vs_bare {wall['bare'] / wall['api']:.2f}")


if __name__ == "__main__":
    main()
