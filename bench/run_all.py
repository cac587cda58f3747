"""Run every benchmark under bench/ (``make bench``) and print each one's table, with a summary at the end.

Each ``bench_*.py`` is run as its own process with a time limit; ``--only SUBSTRING`` picks some.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="run only benchmarks whose file name contains this")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per benchmark")
    args = parser.parse_args()
    scripts = sorted(p for p in HERE.glob("bench_*.py") if args.only in p.name)
    results: list[tuple[str, str, float]] = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, str(script)], timeout=args.timeout, cwd=HERE.parent)
            status = "ok" if proc.returncode == 0 else f"exit {proc.returncode}"
        except subprocess.TimeoutExpired:
            status = "timed out"
        results.append((script.name, status, time.monotonic() - started))
    print("\n=== summary ===")
    width = max((len(name) for name, _, _ in results), default=10)
    for name, status, seconds in results:
        print(f"{name.ljust(width)}  {status:<10}  {seconds:7.1f} s")
    return 0 if all(status == "ok" for _, status, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
