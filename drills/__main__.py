"""`python -m drills [name ...]`: run the named drills (default: all), each in its own
process, and exit non-zero if any failed. `drills/run` is the shell entry point."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DRILLS = ["load", "races", "sweep_kill", "pg_restart", "bot_outage", "hostile"]


def main(argv: list[str]) -> int:
    names = [a for a in argv if not a.startswith("-")] or DRILLS
    extra = [a for a in argv if a.startswith("-")]
    if extra and len(names) != 1:
        print("options (like --seconds) go with one drill: drills/run load --seconds 20")
        return 2
    unknown = [n for n in names if n not in DRILLS]
    if unknown:
        print(f"unknown drill(s): {', '.join(unknown)}; choose from {', '.join(DRILLS)}")
        return 2
    results = {}
    for name in names:
        started = time.monotonic()
        code = subprocess.call([sys.executable, "-m", f"drills.{name}", *extra], cwd=ROOT)
        results[name] = (code, time.monotonic() - started)
    print("\n=== summary ===")
    for name, (code, seconds) in results.items():
        print(f"  {name:<12} {'PASS' if code == 0 else 'FAIL'}  ({seconds:.0f} s)")
    return 0 if all(code == 0 for code, _ in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
