"""The way matplotlib's docs teach it: FuncAnimation updating artists, saved with PillowWriter or
FFMpegWriter (ffmpeg from imageio-ffmpeg). Used by benchmarks/render.py as the baseline."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import imageio_ffmpeg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.animation import FFMpegWriter, FuncAnimation, PillowWriter  # noqa: E402

plt.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()


def save_with_matplotlib(trace, path: str, fps: float) -> None:
    """Render the linear-demo trace with FuncAnimation and save it with matplotlib's own writer."""
    x, y = trace.data["x"], trace.data["y"]
    w, b = trace.state["w"], trace.state["b"]
    fig, ax = plt.subplots()  # 640x480 at 100 dpi, matplotlib's default figure
    ax.scatter(x, y)
    xs = [x.min(), x.max()]
    (line,) = ax.plot(xs, xs, "r-", lw=5)
    label = ax.text(2, 20, "", fontdict={"size": 20, "color": "red"})
    ax.set_xlim(1.5, 10)
    ax.set_ylim(8, 28)

    def update(i):
        line.set_ydata([w[i] * v + b[i] for v in xs])
        label.set_text("Loss=%.4f" % trace.losses[i])
        ax.set_title("Iteration:%d\nw:%.4f,b:%.4f" % (trace.steps[i], w[i], b[i]))
        return line, label

    anim = FuncAnimation(fig, update, frames=len(trace), interval=1000 / fps)
    writer = PillowWriter(fps=fps) if path.endswith(".gif") else FFMpegWriter(fps=fps, codec="libx264")
    anim.save(path, writer=writer)
    plt.close(fig)
