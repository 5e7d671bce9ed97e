"""Many seeds at once (issue 21): ``render(traces, path, ensemble=True)``.

Every run thin and translucent in one colour over the data; the loss panel's median and 10-90% band,
whose width in pixels follows the spread of the runs.
"""

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import convergence_anim as ca
from convergence_anim import UsageError
from convergence_anim.scenes import DecisionBoundary, LineFit
from tests.pixels import band_heights

SIZE = (480, 200)
X = np.linspace(0, 1, 12)
Y = 2 * X + 1


def _runs(n, shrink):
    """``n`` runs whose lines and losses spread apart by ``s``: shrinking to 0, or growing from 0."""
    rng = np.random.default_rng(3)
    traces = []
    for _ in range(n):
        rec = ca.Recorder(LineFit(X, Y))
        z = rng.standard_normal()
        for t in range(6):
            s = 1 - t / 5 if shrink else t / 5
            rec.capture(loss=1 + 0.5 * s * z, w=2 + s * z, b=1 - 0.4 * s * z)
        traces.append(rec.trace)
    return traces


@pytest.mark.parametrize("shrink", [True, False])
def test_band_width_follows_the_spread(tmp_path, shrink):
    frames = iio.imread(ca.render(_runs(10, shrink), tmp_path / "e.gif", ensemble=True, loss_panel=True, size=SIZE))
    assert len(frames) == 6
    heights = band_heights(frames[-1])
    columns = np.flatnonzero(heights > 4)  # not a stray pixel of a tick label
    assert columns.size > 50  # the band spans the panel by the last frame
    early = np.median(heights[columns[:8]])
    late = np.median(heights[columns[-8:]])
    wide, narrow = (early, late) if shrink else (late, early)
    assert wide > 40 and wide > 3 * narrow, (early, late)


def test_every_run_is_a_thin_translucent_line(tmp_path):
    frames = iio.imread(ca.render(_runs(10, shrink=True), tmp_path / "e.gif", ensemble=True, size=(320, 240)))
    first, last = frames[0][..., :3].astype(int), frames[-1][..., :3].astype(int)

    def greys(frame):  # partly covered by black lines at low alpha: grey, neither white nor black
        r, g, b = frame[..., 0], frame[..., 1], frame[..., 2]
        return int(((abs(r - g) < 8) & (abs(g - b) < 8) & (r > 60) & (r < 225)).sum())

    def dark(frame):  # where every run's line lies on the others: near black
        return int((frame.max(axis=-1) < 60).sum())

    assert greys(first) > 400  # ten faint lines fanning out
    assert dark(last) > 3 * max(dark(first), 1) and dark(last) > 150  # agreeing lines add up to one dark line


def test_ensemble_of_seeds_from_a_users_loop_in_mp4(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 2, generator=g)
    y = (x[:, 0] > 0.3 * x[:, 1]).float()
    traces = []
    for seed in range(3):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Linear(6, 1))
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        rec = ca.Recorder(DecisionBoundary(x, y, resolution=30), every=4)  # added
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=20, shuffle=True):
            for _ in range(4):
                loss = nn.functional.binary_cross_entropy_with_logits(model(xb).squeeze(1), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()
                rec.capture(loss=loss, model=model)  # added
        traces.append(rec.trace)
    frames = iio.imread(ca.render(traces, tmp_path / "e.mp4", ensemble=True, loss_panel=True, theme="dark",
                                  size=(320, 120)))
    assert frames.shape[0] == len(traces[0]) and frames.shape[1:3] == (240, 640)


def test_bad_ensembles_say_so_in_one_line(tmp_path):
    traces = _runs(9, shrink=True)
    with pytest.raises(UsageError, match="ensemble=True draws up to 500"):
        ca.render(traces, tmp_path / "r.gif")
    with pytest.raises(UsageError, match="an ensemble draws several runs; pass a list"):
        ca.render(traces[0], tmp_path / "e.gif", ensemble=True)
    with pytest.raises(UsageError, match="render each run of a race or ensemble on its own"):
        ca.render(traces, tmp_path / "e.gif", ensemble=True, neurons=True)
    assert not list(tmp_path.iterdir())


def test_blitted_ensemble_frames_equal_full_redraws():
    from convergence_anim.frames import FrameRenderer

    traces = _runs(5, shrink=False)
    fast = FrameRenderer(traces, size=(400, 160), ensemble=True, loss_panel=True)
    full = FrameRenderer(traces, size=(400, 160), ensemble=True, loss_panel=True, blit=False)
    for i in (0, 3, 5):
        assert np.array_equal(fast.render(i), full.render(i))
    fast.close()
    full.close()
