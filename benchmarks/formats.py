"""Time and bytes of every output format, ours against matplotlib's own writers, in one run (issue 20).

Run it from the repository root:

    python benchmarks/formats.py            # the linear demo and moons at 300 frames (~5-10 min)
    python benchmarks/formats.py --quick    # 40 frames: a smoke test

For each demo (the linear demo at ``lr=0.004``, one capture per iteration; moons, one capture per
iteration), 300 frames at 640x480 and 20 fps:

1. Formats side by side. Each format is written by
   - matplotlib: ``FuncAnimation`` whose update calls the same scene's update (the figure redrawn
     whole every frame, as matplotlib does without blitting), saved with ``PillowWriter`` (GIF,
     WebP: Pillow's animation encoder, lossy quality 80 as matplotlib leaves it), ``FFMpegWriter``
     (MP4 with libx264, WebM with libvpx-vp9; the ffmpeg from imageio-ffmpeg) or ``to_jshtml``
     (HTML: one PNG per frame, embed limit raised so no frame is dropped);
   - ours: ``convergence_anim.render(trace, path, fps=20)``, what a user gets (jobs automatic).
   Baseline and ours run back to back per format so a slow patch of a shared machine hits both.
   Time is the wall time of the whole call (ours: the median of three). Targets: ours at least 5x faster than matplotlib's
   writer of the same format; our WebP at most 0.6x our GIF's bytes.
2. WebP encoders on the same drawn frames: ours (Pillow's still encoder per changed rectangle,
   our container) against ffmpeg's ``libwebp_anim`` (lossless, compression level 1), encoding only.
3. MP4 sharpness: the same frames encoded at their own size (4:2:0, before) and with each pixel
   doubled (after, the default): bytes, and the mean error of the decoded frames, shown at the
   frame's size, on coloured pixels (lines, points, labels) and on all pixels.

Numbers from a shared 2-core machine are noisy: compare only numbers from the same run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FPS = 20
FORMATS = ("gif", "mp4", "webp", "webm", "html")
SPEED_TARGET, WEBP_TARGET = 5.0, 0.6


def make_trace(name: str, frames: int):
    from convergence_anim.demos import run_demo

    options = {"linear": dict(lr=0.004, every=1, max_iter=frames), "moons": dict(every=1, max_iter=frames)}[name]
    trace = run_demo(name, **options).trace
    if len(trace) > frames:
        trace = trace.select(np.arange(frames))
    return trace


def matplotlib_save(trace, path: str) -> None:
    """The trace's scene drawn by FuncAnimation and saved by matplotlib's writer for the suffix."""
    import imageio_ffmpeg
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter

    from convergence_anim.scenes import scene_from_trace
    from convergence_anim.style import get_theme

    plt.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    plt.rcParams["animation.embed_limit"] = 1000  # MB: to_jshtml would drop frames past 20 MB
    theme = get_theme("light")
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)
    with matplotlib.rc_context(theme.rc):
        update = scene_from_trace(trace).setup(ax, trace, theme)

    def frame(i):
        ax.set_title(f"Iteration:{trace.steps[i]}")
        return update(i, False)

    anim = FuncAnimation(fig, frame, frames=len(trace), interval=1000 / FPS)
    suffix = path.rsplit(".", 1)[-1]
    if suffix == "html":
        Path(path).write_text(anim.to_jshtml(fps=FPS), encoding="utf-8")
    elif suffix in ("gif", "webp"):
        anim.save(path, writer=PillowWriter(fps=FPS))
    else:
        # matplotlib passes the codec only through extra_args here; yuv420p is what browsers play.
        codec = "libx264" if suffix == "mp4" else "libvpx-vp9"
        anim.save(path, writer=FFMpegWriter(fps=FPS, codec=codec, extra_args=["-vcodec", codec, "-pix_fmt", "yuv420p"]))
    plt.close(fig)


def ours_save(trace, path: str) -> None:
    import convergence_anim as ca

    ca.render(trace, path, fps=FPS)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def drawn_frames(trace) -> list[np.ndarray]:
    from convergence_anim.frames import FrameRenderer

    renderer = FrameRenderer(trace)
    try:
        return [renderer.render_rgba(i) for i in range(len(trace))]
    finally:
        renderer.close()


def webp_encoders(frames, folder: Path) -> dict:
    """Encode-only time and bytes of our WebP encoder and ffmpeg's libwebp_anim on the same pixels.

    Ours maps each frame to the GIF's palette first (its lossless default); ffmpeg is given the frames
    already mapped, so both store the same pixels and only the encoders differ.
    """
    import imageio_ffmpeg

    from convergence_anim.encoders.gif import PaletteMapper, build_palette
    from convergence_anim.encoders.webp import WebpEncoder

    height, width = frames[0].shape[:2]
    ours = folder / "enc-ours.webp"
    samples = [frames[i] for i in sorted({0, len(frames) // 2, len(frames) - 1})]
    to_palette = PaletteMapper(build_palette(samples))  # what the encoder builds from the same samples
    mapped = [to_palette.palette[to_palette(frame)] for frame in frames]

    def run_ours():
        with WebpEncoder(ours, size=(width, height), fps=FPS, samples=samples) as encoder:
            for frame in frames:
                encoder.write(frame)

    ffmpeg = folder / "enc-ffmpeg.webp"

    def run_ffmpeg():
        writer = imageio_ffmpeg.write_frames(str(ffmpeg), (width, height), fps=FPS, codec="libwebp_anim",
                                             pix_fmt_in="rgba", pix_fmt_out="bgra", quality=None, macro_block_size=1,
                                             output_params=["-lossless", "1", "-compression_level", "1", "-loop", "0"])
        writer.send(None)
        for frame in mapped:
            writer.send(np.ascontiguousarray(np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)])))
        writer.close()

    return {"ours (Pillow stills, our container)": (timed(run_ours), ours.stat().st_size),
            "ffmpeg libwebp_anim lossless": (timed(run_ffmpeg), ffmpeg.stat().st_size)}


def mp4_sharpness(frames, folder: Path) -> dict:
    """Bytes and error on coloured pixels of MP4 at the frame's size (before) and doubled (after)."""
    import imageio_ffmpeg

    from convergence_anim.encoders.mp4 import Mp4Encoder

    height, width = frames[0].shape[:2]
    source = np.stack([f[:, :, :3] for f in frames]).astype(np.int16)
    coloured = (source.max(axis=3) - source.min(axis=3)) > 60
    results = {}
    for label, scale in (("before: 4:2:0 at the frame's size", 1), ("after: each pixel doubled (default)", 2)):
        path = folder / f"sharp-{scale}.mp4"
        encoder = Mp4Encoder(path, size=(width, height), fps=FPS)
        encoder.scale, encoder.video_size = scale, (width * scale, height * scale)
        seconds = time.perf_counter()
        with encoder:
            for frame in frames:
                encoder.write(frame)
        seconds = time.perf_counter() - seconds
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        w, h = meta["size"]
        decoded = np.stack([np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader])
        shown = decoded.reshape(len(decoded), height, scale, width, scale, 3).mean(axis=(2, 4))
        error = np.abs(shown - source)
        results[label] = (path.stat().st_size, seconds, float(error[coloured].mean()), float(error.mean()), (w, h))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="40 frames, a smoke test")
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    frames = 40 if args.quick else args.frames
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import imageio_ffmpeg
    import matplotlib
    import PIL

    print(f"convergence_anim formats benchmark: {frames} frames, 640x480, {FPS} fps; {os.cpu_count()} cores; "
          f"matplotlib {matplotlib.__version__}, Pillow {PIL.__version__}, imageio-ffmpeg {imageio_ffmpeg.__version__}")
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for demo in ("linear", "moons"):
            trace = make_trace(demo, frames)
            warm = trace.select(np.arange(3))
            ours_save(warm, str(folder / "warm.gif"))
            matplotlib_save(warm, str(folder / "warm.gif"))
            print(f"\n== {demo}: {len(trace)} frames ==")
            print(f"{'format':6s} {'matplotlib s':>12s} {'KiB':>9s} {'ours s':>8s} {'KiB':>8s} {'speed-up':>9s}")
            ours = {}
            for fmt in FORMATS:
                base_path, ours_path = str(folder / f"mpl.{fmt}"), str(folder / f"ours.{fmt}")
                base_t = timed(matplotlib_save, trace, base_path)
                # Ours takes seconds, where a slow patch of the machine weighs most: the median of three.
                ours_t = statistics.median(timed(ours_save, trace, ours_path) for _ in range(3))
                base_b, ours_b = os.path.getsize(base_path), os.path.getsize(ours_path)
                ours[fmt] = (ours_t, ours_b)
                ratio = base_t / ours_t
                verdicts.append((f"{demo} {fmt}: ours {ratio:.1f}x faster than matplotlib", ratio >= SPEED_TARGET,
                                 f">= {SPEED_TARGET:g}x"))
                print(f"{fmt:6s} {base_t:12.2f} {base_b / 1024:9.0f} {ours_t:8.2f} {ours_b / 1024:8.0f} {ratio:8.1f}x")
            webp_ratio = ours["webp"][1] / ours["gif"][1]
            verdicts.append((f"{demo}: our WebP is {webp_ratio:.2f}x our GIF's bytes", webp_ratio <= WEBP_TARGET,
                             f"<= {WEBP_TARGET:g}x"))
            html_extra = ours["html"][1] - ours["mp4"][1]
            print(f"our HTML page - our MP4: {html_extra / 1024:+.0f} KiB (the video travels base64: 4/3 of its bytes)")

            drawn = drawn_frames(trace)
            print("\nWebP encoders on the same drawn frames (encoding only):")
            for name, (seconds, size) in webp_encoders(drawn, folder).items():
                print(f"  {name:38s} {seconds:6.2f} s {size / 1024:8.0f} KiB")
            print("\nMP4 sharpness (decoded, shown at the frame's size; error in levels of 255):")
            for name, (size, seconds, coloured, overall, video) in mp4_sharpness(drawn, folder).items():
                print(f"  {name:38s} {video[0]}x{video[1]:<5d} {size / 1024:6.0f} KiB {seconds:6.2f} s  "
                      f"error on coloured pixels {coloured:5.2f}, on all {overall:4.2f}")
    print("\nTargets:")
    for text, ok, target in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {text} (target {target})")


if __name__ == "__main__":
    main()
