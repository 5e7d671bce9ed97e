"""Rendering speed, file size, peak memory and ``--help`` start-up of convergence_anim (issue 3).

Run it from the repository root:

    python benchmarks/render.py            # full run: 500 frames, 3 repeats (~10 min)
    python benchmarks/render.py --quick    # smoke test: 60 frames, 1 repeat (~1 min)

What it measures, all in one run so the baseline and convergence_anim see the same machine:

1. Speed and size. The linear demo's trace (``run_demo("linear", lr=0.004, every=1, max_iter=N)``,
   N frames, 640x480) is rendered to GIF and MP4 by
     - the baseline: matplotlib's ``FuncAnimation`` saved with ``PillowWriter`` / ``FFMpegWriter``,
       written the way matplotlib's docs teach (``benchmarks/baseline_matplotlib.py``), with the ffmpeg
       binary from imageio-ffmpeg;
     - ``convergence_anim.render`` with ``jobs=None`` (automatic: what a user gets), and
     - ``convergence_anim.render`` with ``jobs=1`` (one process; informational, no target).
   Each repeat runs baseline, ours, ours jobs=1 back to back (GIF, then MP4), so slow patches of a
   shared machine hit every method. fps = frames / wall time of the whole call (palette, worker
   start-up and encoder included). Reported: median fps and every run, the ratio of medians against
   the baseline (plus each repeat's paired ratio), the output size.

2. Peak memory. Each case (GIF/MP4 x jobs 1/2 x a short and a long animation, default 100 and
   2,000 frames) runs in a fresh subprocess (``render.py --child ...``) that loads a saved trace (as
   ``convergence-anim render trace.npz`` does), imports everything, resets its peak-RSS counter
   (``/proc/self/clear_refs``), renders, and reports
     - parent: the peak RSS of the rendering process during render (VmHWM), and its rise above the
       RSS before rendering;
     - children: the peak RSS of each worker process and of ffmpeg (VmHWM sampled every 20 ms, and
       ``getrusage(RUSAGE_CHILDREN).ru_maxrss``, the largest single child);
     - tree: the largest sum of RSS over the rendering process and its children at one sample.
     - sum: parent peak + each long-lived child's peak, an upper bound on the tree's peak that does
       not depend on sampling luck.
   The streaming target compares the long with the short animation at the same ``jobs``, for the
   parent and the sum.

3. GIF memory per frame. The RSS growth from the short to the long GIF, divided by the extra frames
   and pixels, gives bytes per pixel per frame over a whole render. And the GIF encoder is fed
   already-mapped frames under ``tracemalloc`` to show what it keeps from one frame to the next
   (``gc.collect()`` first: Pillow's GIF writer leaves a few KB of reference cycles per frame for the
   cyclic garbage collector, which are not held by the encoder).

4. ``convergence-anim --help``: wall time of the installed command in a fresh process, median of 5.

Targets (issue 3) are printed next to each number with PASS or FAIL. The machine this was written
for is a shared, noisy 2-core box: quote medians, and compare only numbers from the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Targets from issue 3.
GIF_SPEEDUP_TARGET = 8.0  # x the fps of FuncAnimation + PillowWriter
MP4_SPEEDUP_TARGET = 4.0  # x the fps of FuncAnimation + FFMpegWriter
STREAMING_MB_TARGET = 30.0  # MP4 peak RSS, long vs short animation
GIF_BYTES_PER_PIXEL_TARGET = 1.0  # held by the GIF encoder per frame
GIF_SIZE_TARGET = 0.60  # GIF size as a fraction of PillowWriter's
HELP_SECONDS_TARGET = 0.3

FPS = 20  # the animation's frame rate; it does not change the work per frame


# --------------------------------------------------------------------------------------------------
# helpers


def linear_trace(n: int, lr: float | None = None):
    """The linear demo's trace with exactly ``n`` frames (one capture per iteration, no convergence)."""
    from convergence_anim.demos import run_demo

    for rate in (lr,) if lr is not None else (0.004, 0.001, 0.0002):
        trace = run_demo("linear", lr=rate, every=1, max_iter=n).trace
        if len(trace) == n:
            return trace
    raise RuntimeError(f"the linear demo converged before {n} iterations at lr={rate}")


def mb(kib: float) -> float:
    return kib / 1024


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def proc_status(pid: "int | str" = "self") -> dict[str, int]:
    """VmRSS / VmHWM of a process, in KiB (empty if it is gone)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":")
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return out


def cmdline(pid: "int | str") -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().decode(errors="replace").split("\0")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []


def process_label(args: list[str]) -> str:
    """A short name for a child process: worker, ffmpeg, or ffmpeg -version (a short-lived check)."""
    if "convergence_anim._worker" in args:
        return "worker"
    name = Path(args[0]).name
    if "ffmpeg" in name:
        return "ffmpeg -version" if "-version" in args else "ffmpeg"
    return name


def descendants(pid: "int | str" = "self") -> list[int]:
    """PIDs of every live descendant of ``pid`` (Linux /proc)."""
    found = []
    stack = [str(pid)]
    while stack:
        current = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    kids = fh.read().split()
            except FileNotFoundError:
                continue
            found.extend(int(k) for k in kids)
            stack.extend(kids)
    return found


class ChildPeaks(threading.Thread):
    """Samples, until stopped, the peak RSS (VmHWM) of every descendant process and the largest sum of
    RSS over this process and its descendants seen at one sample (the process tree's RSS)."""

    def __init__(self, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peaks: dict[int, tuple[str, int]] = {}  # pid -> (name, KiB)
        self.tree_peak = 0  # KiB
        self._own_cmdline = cmdline("self")
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def sample(self) -> None:
        tree = proc_status().get("VmRSS", 0)
        for pid in descendants():
            args = cmdline(pid)
            # Between (v)fork and exec a child still shows this process's memory: not its own yet.
            if not args or args == [""] or args == self._own_cmdline:
                continue
            status = proc_status(pid)
            if "VmHWM" in status:
                name = self.peaks[pid][0] if pid in self.peaks else process_label(args)
                previous = self.peaks.get(pid, (name, 0))[1]
                self.peaks[pid] = (name, max(previous, status["VmHWM"]))
                tree += status["VmRSS"]
        self.tree_peak = max(self.tree_peak, tree)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


# --------------------------------------------------------------------------------------------------
# 1. speed and size


def time_call(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def count_frames(path: Path) -> int:
    if path.suffix == ".gif":
        from PIL import Image

        with Image.open(path) as image:
            return image.n_frames
    import imageio_ffmpeg

    return imageio_ffmpeg.count_frames_and_secs(str(path))[0]


def speed(n_frames: int, repeats: int, workdir: Path) -> dict:
    import convergence_anim as ca
    from baseline_matplotlib import save_with_matplotlib

    trace = linear_trace(n_frames)
    methods = {
        "gif": [
            ("FuncAnimation + PillowWriter", lambda p: save_with_matplotlib(trace, str(p), FPS)),
            ("convergence_anim (jobs=auto)", lambda p: ca.render(trace, p, fps=FPS)),
            ("convergence_anim (jobs=1)", lambda p: ca.render(trace, p, fps=FPS, jobs=1)),
        ],
        "mp4": [
            ("FuncAnimation + FFMpegWriter", lambda p: save_with_matplotlib(trace, str(p), FPS)),
            ("convergence_anim (jobs=auto)", lambda p: ca.render(trace, p, fps=FPS)),
            ("convergence_anim (jobs=1)", lambda p: ca.render(trace, p, fps=FPS, jobs=1)),
        ],
    }
    # Warm-up: imports, font cache, ffmpeg binary in the page cache, for every method alike.
    short = linear_trace(10)
    save_with_matplotlib(short, str(workdir / "warm.gif"), FPS)
    save_with_matplotlib(short, str(workdir / "warm.mp4"), FPS)
    ca.render(short, workdir / "warm.gif", fps=FPS)
    ca.render(short, workdir / "warm.mp4", fps=FPS)

    seconds = {(fmt, name): [] for fmt, rows in methods.items() for name, _ in rows}
    sizes = {}
    for r in range(repeats):
        for fmt, rows in methods.items():
            for k, (name, fn) in enumerate(rows):
                path = workdir / f"{fmt}-{k}.{fmt}"
                elapsed = time_call(lambda: fn(path))
                seconds[(fmt, name)].append(elapsed)
                sizes[(fmt, name)] = path.stat().st_size
                print(f"  repeat {r + 1}/{repeats}  {fmt}  {name:<30} {n_frames / elapsed:7.2f} fps", flush=True)
    # Every method must have written every frame, or the fps would flatter it.
    for fmt, rows in methods.items():
        for k, (name, _) in enumerate(rows):
            count = count_frames(workdir / f"{fmt}-{k}.{fmt}")
            if count != n_frames:
                raise RuntimeError(f"{name} wrote {count} {fmt} frames, expected {n_frames}")
    print(f"  checked: every output holds {n_frames} frames")
    return {"frames": n_frames, "seconds": seconds, "sizes": sizes, "methods": methods}


def report_speed(result: dict) -> list[tuple[str, bool]]:
    n = result["frames"]
    verdicts = []
    print()
    print(f"Speed and size: linear demo, {n} frames, 640x480, fps={FPS}; medians of {len(next(iter(result['seconds'].values())))} runs")
    header = f"{'format':<6} {'method':<30} {'fps median':>10}  {'runs (fps)':<26} {'ratio':>6}  {'paired':<20} {'target':>7} {'':>4}  {'size':>10} {'size ratio':>10}"
    print(header)
    print("-" * len(header))
    for fmt, rows in result["methods"].items():
        base_name = rows[0][0]
        base_runs = [n / s for s in result["seconds"][(fmt, base_name)]]
        base_fps = statistics.median(base_runs)
        base_size = result["sizes"][(fmt, base_name)]
        for name, _ in rows:
            runs = [n / s for s in result["seconds"][(fmt, name)]]
            fps = statistics.median(runs)
            ratio = fps / base_fps
            paired = [a / b for a, b in zip(runs, base_runs)]
            size = result["sizes"][(fmt, name)]
            runs_text = " ".join(f"{v:.1f}" for v in runs)
            is_base = name == base_name
            target_text, mark = "", ""
            if name.endswith("(jobs=auto)"):
                target = GIF_SPEEDUP_TARGET if fmt == "gif" else MP4_SPEEDUP_TARGET
                target_text = f">={target:g}x"
                mark = verdict(ratio >= target)
                verdicts.append((f"{fmt.upper()} fps >= {target:g}x baseline (got {ratio:.2f}x)", ratio >= target))
            size_ratio = size / base_size
            size_text = "" if is_base else f"{size_ratio:.2f}"
            if fmt == "gif" and not is_base:
                size_text += f" {verdict(size_ratio <= GIF_SIZE_TARGET)}"
                if name.endswith("(jobs=auto)"):
                    verdicts.append((f"GIF size <= {GIF_SIZE_TARGET:.0%} of PillowWriter's (got {size_ratio:.0%})", size_ratio <= GIF_SIZE_TARGET))
            print(
                f"{fmt:<6} {name:<30} {fps:10.2f}  {runs_text:<26} {'1.00' if is_base else f'{ratio:.2f}':>6}  "
                f"{'' if is_base else ' '.join(f'{p:.2f}' for p in paired):<20} {target_text:>7} {mark:>4}  "
                f"{size / 1e6:8.2f}MB {size_text:>10}"
            )
    print("ratio = median fps / baseline median fps; paired = each repeat's fps / that repeat's baseline fps")
    print(f"size ratio = file size / baseline file size (GIF target <= {GIF_SIZE_TARGET:.2f})")
    return verdicts


# --------------------------------------------------------------------------------------------------
# 2. peak memory, one fresh process per case


def child_main(trace_path: str, out: str, jobs: int) -> None:
    """Runs in a fresh process: render one saved trace and print the memory it took as JSON."""
    import matplotlib

    matplotlib.use("Agg")
    import imageio_ffmpeg  # noqa: F401
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import PIL.GifImagePlugin  # noqa: F401
    import PIL.Image  # noqa: F401

    import convergence_anim as ca
    import convergence_anim._pipeline  # noqa: F401
    import convergence_anim.encoders.gif  # noqa: F401
    import convergence_anim.encoders.mp4  # noqa: F401
    import convergence_anim.frames  # noqa: F401

    trace = ca.Trace.load(trace_path)
    before = proc_status()["VmRSS"]
    with open("/proc/self/clear_refs", "w") as fh:  # reset VmHWM to the current RSS (Linux >= 4.0)
        fh.write("5")
    sampler = ChildPeaks()
    sampler.start()
    start = time.perf_counter()
    ca.render(trace, out, fps=FPS, jobs=jobs)
    elapsed = time.perf_counter() - start
    sampler.sample()
    sampler.stop()
    peak = proc_status()["VmHWM"]
    children = [{"pid": pid, "name": name, "peak_kib": kib} for pid, (name, kib) in sorted(sampler.peaks.items())]
    result = {
        "frames": len(trace),
        "jobs": jobs,
        "seconds": elapsed,
        "rss_before_kib": before,
        "parent_peak_kib": peak,
        "children": children,
        "tree_peak_kib": max(sampler.tree_peak, peak),
        "rusage_children_maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        "size": os.path.getsize(out),
    }
    print("RESULT " + json.dumps(result))


def run_child(trace_path: Path, out: Path, jobs: int) -> dict:
    env = dict(os.environ, MPLBACKEND="Agg")
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(trace_path), str(out), str(jobs)],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed:\n{proc.stdout}\n{proc.stderr}")
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")][-1]
    result = json.loads(line[len("RESULT ") :])
    result["children_max_kib"] = max((c["peak_kib"] for c in result["children"]), default=0)
    # Short-lived helpers (imageio-ffmpeg's `ffmpeg -version` check) end before the real work starts;
    # a 20 ms sample catches them only sometimes, so they are shown but not added up.
    result["children_sum_kib"] = sum(c["peak_kib"] for c in result["children"] if c["name"] != "ffmpeg -version")
    result["peak_sum_kib"] = result["parent_peak_kib"] + result["children_sum_kib"]
    return result


def memory(short: int, long: int, workdir: Path) -> dict:
    traces = {}
    for n in (short, long):
        # Same learning rate for both lengths, so only the number of frames differs.
        traces[n] = workdir / f"trace-{n}.npz"
        linear_trace(n, lr=0.001).save(traces[n])
    results = {}
    for fmt in ("mp4", "gif"):
        for jobs in (1, 2):
            for n in (short, long):
                out = workdir / f"mem-{n}-{jobs}.{fmt}"
                results[(fmt, jobs, n)] = r = run_child(traces[n], out, jobs)
                out.unlink()
                print(
                    f"  {fmt} jobs={jobs} {n:>5} frames: parent {mb(r['parent_peak_kib']):6.1f} MB, "
                    f"children {children_text(r)} MB, "
                    f"{n / r['seconds']:.1f} fps",
                    flush=True,
                )
    return {"short": short, "long": long, "results": results}


def children_text(result: dict) -> str:
    return ", ".join(f"{c['name']} {mb(c['peak_kib']):.0f}" for c in result["children"]) or "-"


def report_memory(result: dict) -> list[tuple[str, bool]]:
    short, long, results = result["short"], result["long"], result["results"]
    verdicts = []
    print()
    print(f"Peak memory (RSS, MiB), {short} vs {long} frames, 640x480, one fresh process per row")
    header = (
        f"{'format':<6} {'jobs':>4} {'frames':>6}  {'before':>7} {'parent':>7} {'rise':>6}  {'tree':>7} {'sum':>7}  "
        f"{'children ru_maxrss':>18}  children (own peak each)"
    )
    print(header)
    print("-" * (len(header) + 30))
    for (fmt, jobs, n), r in results.items():
        print(
            f"{fmt:<6} {jobs:>4} {n:>6}  {mb(r['rss_before_kib']):7.1f} {mb(r['parent_peak_kib']):7.1f} "
            f"{mb(r['parent_peak_kib'] - r['rss_before_kib']):6.1f}  {mb(r['tree_peak_kib']):7.1f} {mb(r['peak_sum_kib']):7.1f}  "
            f"{mb(r['rusage_children_maxrss_kib']):18.1f}  {children_text(r)}"
        )
    print("before = RSS of the rendering process with the trace loaded and every module imported")
    print("parent = its peak RSS during render (VmHWM, reset just before); rise = parent - before")
    print("tree   = largest sum of RSS over the rendering process and its children (workers, ffmpeg) at one 20 ms sample")
    print("sum    = parent + each worker's and the encoding ffmpeg's own peak: an upper bound on the tree's peak")
    print("         (a short-lived `ffmpeg -version` check, caught by some samples only, is listed but not added)")
    print("children ru_maxrss = getrusage(RUSAGE_CHILDREN).ru_maxrss: the largest single child (Linux counts a")
    print("         vfork'ed child's pre-exec RSS, i.e. the parent's, so it can read high); own peak = sampled VmHWM after exec")
    print()
    print(f"Growth from {short} to {long} frames (same format and jobs)")
    header = (
        f"{'format':<6} {'jobs':>4}  {'parent':>8} {'tree':>8} {'sum':>8} {'largest child':>13}  "
        f"{'B/px/frame':>10}  {'target':<26} {'':>4}"
    )
    print(header)
    print("-" * len(header))
    pixels = 640 * 480
    for fmt in ("mp4", "gif"):
        for jobs in (1, 2):
            a, b = results[(fmt, jobs, short)], results[(fmt, jobs, long)]
            delta = {k: mb(b[k] - a[k]) for k in ("parent_peak_kib", "tree_peak_kib", "peak_sum_kib", "children_max_kib")}
            growth_kib = max(b["parent_peak_kib"] - a["parent_peak_kib"], b["peak_sum_kib"] - a["peak_sum_kib"])
            per_frame = max(0.0, growth_kib * 1024) / ((long - short) * pixels)
            if fmt == "mp4":
                worst = max(delta["parent_peak_kib"], delta["peak_sum_kib"])
                ok = worst <= STREAMING_MB_TARGET
                target = f"parent, sum <= {STREAMING_MB_TARGET:g} MB"
                verdicts.append((
                    f"MP4 jobs={jobs}: peak RSS at {long} frames within {STREAMING_MB_TARGET:g} MB of {short} frames "
                    f"(parent {delta['parent_peak_kib']:+.1f} MB, sum {delta['peak_sum_kib']:+.1f} MB, "
                    f"sampled tree {delta['tree_peak_kib']:+.1f} MB)", ok))
            else:
                ok = per_frame <= GIF_BYTES_PER_PIXEL_TARGET
                target = f"<= {GIF_BYTES_PER_PIXEL_TARGET:g} B/px/frame"
                verdicts.append((f"GIF jobs={jobs}: RSS growth <= 1 byte/pixel/frame (got {per_frame:.4f})", ok))
            print(
                f"{fmt:<6} {jobs:>4}  {delta['parent_peak_kib']:+8.1f} {delta['tree_peak_kib']:+8.1f} {delta['peak_sum_kib']:+8.1f} "
                f"{delta['children_max_kib']:+13.1f}  {per_frame:10.4f}  {target:<26} {verdict(ok):>4}"
            )
    print("largest child = the largest own peak of any one child (worker or ffmpeg)")
    print("MiB, long-animation peak - short-animation peak; B/px/frame = max(0, larger of parent and sum growth) / (extra frames x 640 x 480)")
    print("The targets use the exact parent peak and the sum of peaks; the sampled tree can miss a peak by up to 20 ms, so it is shown only.")
    return verdicts


# --------------------------------------------------------------------------------------------------
# 3. what the GIF encoder holds between frames


def gif_held(n_frames: int, workdir: Path) -> tuple[dict, list[tuple[str, bool]]]:
    """Feed already-mapped frames to GifEncoder under tracemalloc: what it keeps from frame to frame.

    "Held" is what is still allocated after ``write_prepared`` returns and the caller has dropped
    its reference to the frame. It is split into buffers of at least 4 KiB (frame-sized arrays) and
    small objects; the target is about the buffers, the small objects are printed.
    """
    import gc
    import tracemalloc

    import numpy as np
    from convergence_anim.encoders.gif import GifEncoder
    from convergence_anim.frames import FrameRenderer

    def big_bytes(snapshot) -> int:
        return sum(t.size for t in snapshot.traces if t.size >= BIG)

    BIG = 4096
    trace = linear_trace(n_frames)
    renderer = FrameRenderer(trace)
    try:
        samples = [renderer.render_rgba(i) for i in sorted({0, n_frames // 2, n_frames - 1})]
        frames = [renderer.render_rgba(i) for i in range(n_frames)]
    finally:
        renderer.close()
    width, height = renderer.size
    pixels = width * height
    # Preallocated arrays, not lists: a list would keep a new int object per frame inside the measurement.
    held, transient = np.zeros(n_frames, dtype=np.int64), np.zeros(n_frames, dtype=np.int64)
    with GifEncoder(workdir / "held.gif", size=renderer.size, fps=FPS, samples=samples) as encoder:
        prepare = encoder.preparer()
        indices = [prepare(f) for f in frames]  # mapped outside the measurement, as a worker would
        del frames
        tracemalloc.start()
        gc.collect()
        before_snapshot = tracemalloc.take_snapshot()
        base = tracemalloc.get_traced_memory()[0]
        for k, frame in enumerate(indices):
            payload = frame.copy()  # a fresh array, as if it had just arrived from a worker
            before = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            encoder.write_prepared(payload)
            del payload
            peak = tracemalloc.get_traced_memory()[1]
            gc.collect()  # garbage is not held: drop Pillow's per-frame reference cycles before counting
            current = tracemalloc.get_traced_memory()[0]
            held[k] = current - base
            transient[k] = peak - before
        after_snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
    buffers = big_bytes(after_snapshot) - big_bytes(before_snapshot)
    small = int(held[-1]) - buffers
    ok = buffers <= pixels * GIF_BYTES_PER_PIXEL_TARGET
    result = {"frames": n_frames, "held_max": int(held.max()), "held_last": int(held[-1]), "buffers": buffers,
              "transient_max": int(transient.max())}
    print()
    print(f"GIF encoder memory (tracemalloc, {n_frames} frames of {width}x{height} = {pixels} px fed to GifEncoder.write_prepared)")
    print(f"  buffers (>= {BIG} B) held after the last frame: {buffers} B = {buffers / pixels:.3f} B/px"
          f"   target <= {GIF_BYTES_PER_PIXEL_TARGET:g} B/px  {verdict(ok)}")
    print(f"  small objects held after the last frame: {small} B; everything held, largest after any frame: "
          f"{int(held.max())} B = {int(held.max()) / pixels:.3f} B/px (after frame 1: {int(held[0])} B)")
    print(f"  transient while writing one frame (change mask, patch; freed on return): max {int(transient.max())} B = "
          f"{int(transient.max()) / pixels:.3f} B/px")
    print("  (tracemalloc sees numpy and Python allocations, not Pillow's C buffers; the RSS rows above cover those)")
    return result, [(f"GIF encoder holds <= 1 byte/pixel between frames (buffers {buffers / pixels:.3f} B/px)", ok)]


# --------------------------------------------------------------------------------------------------
# 4. --help start-up


def help_time(runs: int = 5) -> tuple[list[float], list[tuple[str, bool]]]:
    exe = shutil.which("convergence-anim") or str(Path(sys.executable).with_name("convergence-anim"))
    command = [exe, "--help"] if Path(exe).exists() else [sys.executable, "-m", "convergence_anim.cli", "--help"]
    times, bare = [], []
    for _ in range(runs):  # interleaved with a bare interpreter start, the floor on this machine right now
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True)
        bare.append(time.perf_counter() - start)
    median = statistics.median(times)
    ok = median < HELP_SECONDS_TARGET
    print()
    print(f"`{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))}`: median {median * 1000:.0f} ms of {runs} "
          f"({' '.join(f'{t * 1000:.0f}' for t in times)} ms), target < {HELP_SECONDS_TARGET * 1000:.0f} ms  {verdict(ok)}")
    print(f"  for scale, `python -c pass`: median {statistics.median(bare) * 1000:.0f} ms ({' '.join(f'{t * 1000:.0f}' for t in bare)} ms)")
    return times, [(f"convergence-anim --help < {HELP_SECONDS_TARGET} s (median {median:.3f} s)", ok)]


# --------------------------------------------------------------------------------------------------


def environment() -> str:
    import imageio_ffmpeg
    import matplotlib
    import numpy
    import PIL

    ffmpeg = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-version"], capture_output=True, text=True).stdout.split("\n")[0]
    return (
        f"{time.strftime('%Y-%m-%d %H:%M')}  {platform.node()}  {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}\n"
        f"Python {platform.python_version()}, matplotlib {matplotlib.__version__}, Pillow {PIL.__version__}, "
        f"numpy {numpy.__version__}, imageio-ffmpeg {imageio_ffmpeg.__version__} ({' '.join(ffmpeg.split()[:3])})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each speed case (default 3)")
    parser.add_argument("--frames", type=int, default=500, help="frames in the speed test (default 500)")
    parser.add_argument("--memory-frames", type=int, nargs=2, default=(100, 2000), metavar=("SHORT", "LONG"),
                        help="short and long animation for peak memory (default 100 2000)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 60 frames, 1 repeat, 50 vs 200 frames for memory")
    parser.add_argument("--skip-speed", action="store_true", help="skip the speed and size comparison")
    parser.add_argument("--skip-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--child", nargs=3, metavar=("TRACE", "OUT", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        trace_path, out, jobs = args.child
        child_main(trace_path, out, int(jobs))
        return
    if args.quick:
        args.repeats, args.frames, args.memory_frames = 1, 60, (50, 200)

    import matplotlib

    matplotlib.use("Agg")
    sys.path.insert(0, str(HERE))  # baseline_matplotlib
    print(environment())
    verdicts: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="ca-bench-") as tmp:
        workdir = Path(tmp)
        if not args.skip_speed:
            print(f"\nSpeed: {args.frames} frames, {args.repeats} repeat(s), interleaved")
            result = speed(args.frames, args.repeats, workdir)
            verdicts += report_speed(result)
        if not args.skip_memory:
            short, long = args.memory_frames
            print(f"\nMemory: {short} vs {long} frames, GIF and MP4, jobs 1 and 2, one fresh process each")
            result = memory(short, long, workdir)
            verdicts += report_memory(result)
        _, v = gif_held(args.frames if args.quick else 100, workdir)
        verdicts += v
    _, v = help_time()
    verdicts += v
    print()
    print(f"Summary ({os.getloadavg()[0]:.2f} load at the end)")
    for text, ok in verdicts:
        print(f"  {verdict(ok)}  {text}")


if __name__ == "__main__":
    main()
