"""Seeds per minute of ``convergence-anim batch`` with ``--jobs 1`` and ``--jobs 2`` (issue 5).

Run it from the repository root:

    /work/venv/bin/python benchmarks/batch.py             # 20 seeds of linear, every 2 (~4 min)
    /work/venv/bin/python benchmarks/batch.py --quick     # 6 seeds, every 5 (~1 min): a smoke test
    /work/venv/bin/python benchmarks/batch.py --demo moons --seeds 0-19 --every 5

Each run is the installed command in a fresh process, timed from start to exit, so everything a user
waits for counts: imports (``--jobs 1`` imports torch and matplotlib in the one process; ``--jobs 2``
in the fork server its workers start from), training, rendering, the manifest. ``--force`` makes every
run render every seed. ``--jobs 1`` and ``--jobs 2`` alternate for ``--repeats`` rounds, so slow
patches of a shared machine hit both; reported are the median seeds per minute of each and the ratio
of the medians (target: at least 1.8x on a 2-core machine for 20 or more seeds).

Every seed's output must be byte-identical between the two settings; the benchmark checks that too.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.8


def run(folder: Path, args: argparse.Namespace, jobs: int) -> float:
    command = [
        str(Path(sys.executable).with_name("convergence-anim")), "batch", args.demo, "--seeds", args.seeds,
        "--every", str(args.every), "--jobs", str(jobs), "--force", "-q", "-o", str(folder / f"jobs{jobs}" / "seed-{seed}.gif"),
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - started


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("seed-*.gif"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", default="linear")
    parser.add_argument("--seeds", default="0-19")
    parser.add_argument("--every", type=int, default=2, help="capture interval: smaller means more frames per seed")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="6 seeds, every 5, one round")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.every, args.repeats = "0-5", 5, 1
    from convergence_anim.batch import parse_seeds

    n = len(parse_seeds(args.seeds))
    print(f"convergence-anim batch {args.demo} --seeds {args.seeds} ({n} seeds) --every {args.every}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    times: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for round_ in range(args.repeats):
            for jobs in (1, 2):
                seconds = run(folder, args, jobs)
                times[jobs].append(seconds)
                print(f"  round {round_ + 1}, --jobs {jobs}: {seconds:6.1f} s, {60 * n / seconds:6.1f} seeds/min")
        same = digests(folder / "jobs1") == digests(folder / "jobs2")
    rate = {jobs: 60 * n / statistics.median(t) for jobs, t in times.items()}
    speedup = rate[2] / rate[1]
    print(f"--jobs 1: {rate[1]:.1f} seeds/min (median of {len(times[1])})")
    print(f"--jobs 2: {rate[2]:.1f} seeds/min (median of {len(times[2])})")
    verdict = "PASS" if speedup >= TARGET else "FAIL"
    print(f"speed-up: {speedup:.2f}x (target >= {TARGET}x for 20+ seeds on 2 cores: {verdict})")
    print(f"outputs byte-identical between --jobs 1 and --jobs 2: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
