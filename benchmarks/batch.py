"""``convergence-anim batch`` on a user's own experiment: --workers 2 against --workers 1, Dask against the pool, memory.

Run it from the repository root:

    python benchmarks/batch.py            # 12 runs (2 learning rates x 6 seeds), ~3-5 min on 2 cores
    python benchmarks/batch.py --quick    # 4 runs, fewer steps: a smoke test

Four measurements, in one run:

1. Speed-up of ``--workers 2`` over ``--workers 1`` on the same 12 runs of ``experiment.py:train`` (an MLP on
   XOR-like points, drawn with ``DecisionBoundary``): each is the command in a fresh process, timed
   from start to exit, so imports, training, rendering and the manifest all count. ``--force`` makes
   every run render. Goal: at least 1.8x on 2 cores.
2. The same runs through a local Dask cluster of two single-threaded worker processes
   (``--scheduler``), against the local pool (``--workers 2``). The cluster is warmed by one batch first,
   as a long-lived cluster would be. Goal: Dask within 15% of the pool.
3. A batch with nothing to do: the finished ``--workers 2`` batch run again without ``--force`` (every
   run up to date), against ``convergence-anim --help`` in the same run. Goal: within 0.5 s of
   ``--help`` (reading the manifest and hashing the outputs; no pool, no torch).
4. Peak memory (max RSS) of the parent process of ``render_batch`` with 10 and with 100 runs of a tiny
   function, no grid: it should stay flat (the parent keeps only the manifest's entries).

The outputs of --workers 1, --workers 2 and Dask must be byte-identical; the benchmark checks that too. The
load average is printed before and after: on a shared machine the timings are unreliable.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import statistics
import tempfile
import time
from pathlib import Path

SPEEDUP_TARGET = 1.8
DASK_TARGET = 1.15
RESUME_TARGET = 0.5  # seconds a batch with nothing to do may take beyond `convergence-anim --help`

# The experiment of the docs' "Many runs" page, as a user would write it; its length comes from
# --param steps=N. ``tiny`` (appended) is a run that costs nothing, for the memory of the parent.
EXPERIMENT = (Path(__file__).resolve().parent.parent / "docs" / "examples" / "experiment.py").read_text() + '''


def tiny(seed):
    rec = ca.Recorder(ca.scenes.LineFit([0.0, 1.0], [0.0, 1.0]), every=1)
    for step in range(3):
        rec.capture(step, loss=1.0 / (step + 1 + seed), w=1.0, b=0.0)
    return rec.trace
'''

PEAK = '''
import resource, sys
from convergence_anim.batch import render_batch
if __name__ == "__main__":
    folder, n = sys.argv[1], int(sys.argv[2])
    result = render_batch(f"{folder}/experiment.py:tiny", range(n), workers=2, summary=f"{folder}/peak{n}/summary.png")
    assert result.ok, result.failed
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
'''


def load() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def command(folder: Path, out: str, *extra: str, seeds: str, steps: int, force: bool = True) -> list[str]:
    return [sys.executable, "-m", "convergence_anim.cli", "batch", f"{folder}/experiment.py:train", "--seeds", seeds,
            "--param", "lr=0.05,0.2", "--param", f"steps={steps}", "--size", "320x240", *(["--force"] if force else []),
            "-q", "-o", f"{folder}/{out}/lr{{lr}}-s{{seed}}.gif", *extra]


def timed(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    return time.perf_counter() - started


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.gif"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="4 runs of 60 steps")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timings of --workers 1 and --workers 2")
    parser.add_argument("--steps", type=int, default=1000,
                        help="training steps per run [default: 1000, about 2-3 s a run here: a short real experiment; "
                             "with much shorter runs the fixed start-up of the processes dominates]")
    args = parser.parse_args()
    seeds, steps = ("0-1", 60) if args.quick else ("0-5", args.steps)
    runs = 2 * (int(seeds.split("-")[1]) + 1)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent.parent), env.get("PYTHONPATH")]))
    print(f"{runs} runs of experiment.py:train ({steps} steps, a frame every 10) over lr=0.05,0.2 x seeds {seeds}")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "experiment.py").write_text(EXPERIMENT)

        # The fixed cost of one batch command (imports, the pool's start-up): one run of 1 step, each way.
        fixed1 = timed(command(folder, "fixed1", "--workers", "1", seeds="0", steps=1), env)
        fixed2 = timed(command(folder, "fixed2", "--workers", "2", seeds="0-1", steps=1), env)
        print(f"fixed cost of a batch command (runs of 1 step): --workers 1 {fixed1:.1f} s, --workers 2 {fixed2:.1f} s")
        # Interleaved repeats, medians: a slow patch of a shared machine hits both.
        ones, twos = [], []
        for _ in range(args.repeats):
            ones.append(timed(command(folder, "jobs1", "--workers", "1", seeds=seeds, steps=steps), env))
            twos.append(timed(command(folder, "jobs2", "--workers", "2", seeds=seeds, steps=steps), env))
        one, two = statistics.median(ones), statistics.median(twos)
        shown = lambda times: ", ".join(f"{t:.1f}" for t in times)  # noqa: E731
        print(f"--workers 1: {one:6.1f} s ({60 * runs / one:5.1f} runs/min)   runs: {shown(ones)} s")
        print(f"--workers 2: {two:6.1f} s ({60 * runs / two:5.1f} runs/min)   runs: {shown(twos)} s")
        verdict = "PASS" if one / two >= SPEEDUP_TARGET else "FAIL"
        print(f"speed-up of --workers 2 (medians of {args.repeats}): {one / two:.2f}x "
              f"(goal >= {SPEEDUP_TARGET}x on 2 cores: {verdict})")

        # The same batch again, without --force: every run is up to date, so there is nothing to do.
        # Against `convergence-anim --help`, the least a command costs, interleaved.
        helps, resumes = [], []
        for _ in range(args.repeats):
            helps.append(timed([sys.executable, "-m", "convergence_anim.cli", "--help"], env))
            resumes.append(timed(command(folder, "jobs2", "--workers", "2", seeds=seeds, steps=steps, force=False), env))
        help_time, resume = statistics.median(helps), statistics.median(resumes)
        print(f"--help: {help_time:.2f} s; the finished batch again, nothing to do: {resume:.2f} s "
              f"(medians of {args.repeats}; {shown(helps)} and {shown(resumes)} s)")
        verdict = "PASS" if resume - help_time <= RESUME_TARGET else "FAIL"
        print(f"nothing to do costs --help + {resume - help_time:.2f} s (goal <= +{RESUME_TARGET} s: {verdict})")

        from distributed import LocalCluster

        os.environ["PYTHONPATH"] = env["PYTHONPATH"]  # the workers import this checkout
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            address = cluster.scheduler_address
            timed(command(folder, "warm", "--scheduler", address, seeds="0-1", steps=steps), env)  # the workers import torch once
            dask = timed(command(folder, "dask", "--scheduler", address, seeds=seeds, steps=steps), env)
        pool = two
        ratio = dask / pool
        print(f"Dask, 2 workers (warm): {dask:6.1f} s; local pool --workers 2 (median above): {pool:6.1f} s")
        verdict = "PASS" if ratio <= DASK_TARGET else "FAIL"
        print(f"Dask / pool: {ratio:.2f} (goal <= {DASK_TARGET}: {verdict})")
        same = digests(folder / "jobs1") == digests(folder / "jobs2") == digests(folder / "dask")
        print(f"outputs byte-identical between --workers 1, --workers 2 and Dask: {'yes' if same else 'NO'}")

        (folder / "peak.py").write_text(PEAK)
        peaks = {}
        for n in (10, 100):
            out = subprocess.run([sys.executable, str(folder / "peak.py"), str(folder), str(n)], check=True, env=env,
                                 capture_output=True, text=True).stdout
            peaks[n] = int(out.split()[-1]) / 1024
            print(f"peak memory of the parent, {n:3d} runs: {peaks[n]:6.1f} MiB")
        print(f"growth from 10 to 100 runs: {peaks[100] - peaks[10]:+.1f} MiB ({peaks[100] / peaks[10]:.2f}x)")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
