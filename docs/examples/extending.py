"""A side panel and an output format of your own: the complete example of ``docs/extending.md``.

The test suite runs this file, so the page and the code cannot drift apart. Run it to write
``race-bars.gif`` (two runs, each one's loss now as a bar beside the plot) and ``race.npy`` (the
same frames as one numpy array):

    python docs/examples/extending.py
"""

from __future__ import annotations

import numpy as np

from convergence_anim.encoders import Encoder, register_encoder
from convergence_anim.panels import register_panel

# -- a panel: setup draws the static parts once, update sets what changes per frame ------------------


def setup_loss_bars(ax, runs, look):
    """Each run's loss at this frame as a horizontal bar, in the run's colour."""
    losses = np.concatenate([trace.losses for trace in runs])
    highest = float(np.nanmax(losses[np.isfinite(losses)], initial=0.0)) or 1.0
    ax.set_xlim(0.0, 1.05 * highest)  # fixed from every frame of every run: nothing jumps
    ax.set_ylim(-0.5, len(runs) - 0.5)
    ax.set_yticks(range(len(runs)), [label or "loss" for label in runs.labels])
    ax.set_xlabel("loss now")
    # Above the spines and ticks (zorder 2.5): the renderer redraws only the bars, on a cached background.
    bars = ax.barh(range(len(runs)), [0.0] * len(runs), color=runs.colors, zorder=2.6)

    def update(state):
        for bar, trace, index in zip(bars, runs, state.indices):
            bar.set_width(float(np.nan_to_num(trace.losses[index], posinf=highest)))
        return list(bars)

    return update


register_panel("loss_bars", setup_loss_bars)  # render(..., panels=["loss_bars"]) shows it


# -- an output format: frames in, a file out; the encoder never sees a figure -----------------------


@register_encoder  # writes the files whose suffix is NumpyEncoder.suffix
class NumpyEncoder(Encoder):
    """Every frame into one ``.npy`` array of shape ``(frames, height, width, 3)``."""

    suffix = ".npy"

    def __init__(self, path, *, size, fps, loop=0, samples=()):
        super().__init__(path, size=size, fps=fps, loop=loop, samples=samples)
        self._frames = []

    def write_prepared(self, payload, repeat=1):
        self._frames += [np.asarray(payload)[..., :3]] * repeat  # RGBA from the renderer: keep RGB
        self.frames_written += 1

    def close(self):
        # self.path is a temporary file that replaces the output once this returns: write exactly
        # there (np.save given a name would add ".npy" to it).
        with open(self.path, "wb") as file:
            np.save(file, np.stack(self._frames))

    def abort(self):
        self._frames = []


def race():
    """Two runs of the blog's line fit, one with a rate ten times the other's."""
    import convergence_anim as ca

    x = np.linspace(0.0, 10.0, 20)
    y = 2 * x + 5
    traces = []
    for lr in (0.002, 0.02):
        rec = ca.Recorder(ca.scenes.LineFit(x, y), every=5, meta={"optimizer": "gd", "lr": lr})
        w = b = 0.0
        for step in range(40):
            error = w * x + b - y
            rec.capture(step, loss=0.5 * float(np.mean(error**2)), w=w, b=b)
            w, b = w - lr * float(np.mean(error * x)), b - lr * float(np.mean(error))
        traces.append(rec.trace)
    return traces


if __name__ == "__main__":
    import convergence_anim as ca

    ca.render(race(), "race-bars.gif", panels=["loss_bars"], fps=4)
    ca.render(race(), "race.npy", panels=["loss_bars"])
