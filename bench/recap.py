"""What one weekly recap picture costs: render time and PNG size (issue 14 item 4).

    .venv/bin/python bench/recap.py            # 50 renders of each card
    .venv/bin/python bench/recap.py -n 200

Draws, with `pacts.recap.render_png` (pure: no database), N times each:
1. `one pact`: the card the Mini App serves (`/pacts/<id>/recap.png`) and most Sunday
   summaries carry: a week with every day state, a 60-character title, long names;
2. `three pacts`: the largest card (three pacts drawn, "…and N more" under them), with
   Cyrillic titles cut to fit.
Prints, per card, the median and p95 wall time, the median CPU time (process_time: what
the machine's other load inflates least), and the PNG size; then the load average.
**The last two lines are `recap_render_ms <x.x>` (median wall time) and
`recap_png_kb <x.x>`, for the one-pact card.** Targets: under 100 ms and under 80 KB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "habitpact.settings")
os.environ.setdefault("LOG_FORMAT", "text")

import django  # noqa: E402

django.setup()

from pacts import recap  # noqa: E402

MONDAY = date(2025, 1, 20)
STATES = ("DONE", "MISSED", "DISPUTED", "SKIPPED", "WAIVED", "PENDING", None)


def a_pact(title: str, you: str, other: str) -> recap.RecapPact:
    return recap.RecapPact(
        title=title,
        you=you,
        other=other,
        days=tuple(recap.RecapDay(MONDAY + timedelta(days=i), s) for i, s in enumerate(STATES)),
        streak=128,
        week_change=-12_550,
        currency="EUR",
        balance_text=f"{other} owes {you} €1,234.50",
    )


CARDS = {
    "one pact": recap.RecapCard(
        week_start=MONDAY,
        today=MONDAY + timedelta(days=5),
        pacts=(
            a_pact(
                "Run 5 km before work, then stretch for ten minutes 🏃",
                "Alexandra Montgomery-Smith",
                "Maximilian von Habsburg",
            ),
        ),
    ),
    "three pacts": recap.RecapCard(
        week_start=MONDAY,
        today=MONDAY + timedelta(days=6),
        pacts=tuple(
            a_pact(title, "Александра", "Константин Константинопольский")
            for title in (
                "Бегать по утрам пять километров и не пропускать ни одного дня",
                "Читать тридцать страниц перед сном",
                "Leer veinte páginas en español cada noche",
            )
        ),
        more=4,
    ),
}


def measure(card: recap.RecapCard, n: int) -> dict:
    recap.render_png(card)  # fonts and palette load once per process
    walls, cpus, size = [], [], 0
    for _ in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        png = recap.render_png(card)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
        size = len(png)
    walls.sort()
    return {
        "median_ms": statistics.median(walls) * 1000,
        "p95_ms": walls[min(len(walls) - 1, int(len(walls) * 0.95))] * 1000,
        "cpu_ms": statistics.median(cpus) * 1000,
        "kb": size / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="renders per card (default 50)")
    args = parser.parse_args()
    print(f"{'card':<12} {'median ms':>10} {'p95 ms':>8} {'cpu ms':>8} {'PNG KB':>8}")
    results = {}
    for name, card in CARDS.items():
        results[name] = figures = measure(card, args.n)
        print(
            f"{name:<12} {figures['median_ms']:>10.1f} {figures['p95_ms']:>8.1f}"
            f" {figures['cpu_ms']:>8.1f} {figures['kb']:>8.1f}"
        )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    one = results["one pact"]
    print(f"recap_render_ms {one['median_ms']:.1f}")
    print(f"recap_png_kb {one['kb']:.1f}")


if __name__ == "__main__":
    main()
