"""Time from starting `thuvien demo` (warm .venv) to `/readyz` answering 200: first start (migrate + seed)
and a restart on the existing data. Reports the median of a few runs; the demo runs headless."""

from __future__ import annotations

import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import table  # noqa: E402
from tests.support import free_port  # noqa: E402

RUNS = 3


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def start_once(data_dir: Path) -> float:
    http, sip2, mqtt = free_port(), free_port(), free_port()
    thuvien = shutil.which("thuvien", path=str(Path(sys.executable).parent)) or "thuvien"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [thuvien, "demo", "--headless", "--data-dir", str(data_dir), "--http-port", str(http),
         "--sip2-port", str(sip2), "--mqtt-port", str(mqtt)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = started + 120
        while not ready(f"http://127.0.0.1:{http}/readyz"):
            if time.perf_counter() > deadline or proc.poll() is not None:
                raise RuntimeError("the demo did not become ready")
            time.sleep(0.02)
        return time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    first, again = [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            first.append(start_once(Path(tmp)))
            again.append(start_once(Path(tmp)))
    print("`thuvien demo --headless` until /readyz answers (median of", RUNS, "runs)")
    print(table(["start", "seconds"], [("fresh data dir (migrate + seed)", f"{statistics.median(first):.2f}"),
                                       ("existing data dir", f"{statistics.median(again):.2f}")]))


if __name__ == "__main__":
    main()
