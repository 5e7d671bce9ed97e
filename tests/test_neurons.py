"""Inside the network (issue 21): ``DecisionBoundary(..., neurons=True)`` and the neurons panel.

The loop is a user's: their own ``nn.Sequential`` (with dropout), ``torch.optim.Adam`` and a shuffling
``DataLoader``; the two lines marked ``# added`` are all the recording takes.
"""

import imageio.v3 as iio
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import convergence_anim as ca
from convergence_anim import CaptureError, TraceError, UsageError
from convergence_anim.scenes import DecisionBoundary

SIZE = (480, 160)


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 2, generator=g)
    return x, ((x[:, 0] * x[:, 1]) > 0).float()


def train(neurons=None, steps=48, model=None):
    """A user's loop; ``neurons=None`` records nothing. Returns the final weights and the recorder."""
    x, y = _data()
    torch.manual_seed(1)
    if model is None:
        model = nn.Sequential(nn.Linear(2, 12), nn.Tanh(), nn.Dropout(0.2), nn.Linear(12, 10), nn.ReLU(),
                              nn.Linear(10, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(x, y), batch_size=40, shuffle=True)
    rec = None if neurons is None else ca.Recorder(DecisionBoundary(x, y, resolution=40, neurons=neurons), every=8)  # added
    step = 0
    while step < steps:
        for xb, yb in loader:
            loss = nn.functional.binary_cross_entropy_with_logits(model(xb).squeeze(1), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if rec is not None:
                rec.capture(loss=loss, model=model)  # added
            step += 1
    return {k: v.clone() for k, v in model.state_dict().items()}, rec


@pytest.fixture(scope="module")
def recorded():
    return train(neurons=True)


def _tiles(frame):
    """The neuron panel's strong reds and blues: the rightmost third of a frame (the tiles stand there)."""
    right = frame[:, 2 * frame.shape[1] // 3:, :3].astype(int)
    r, g, b = right[..., 0], right[..., 1], right[..., 2]
    return ((r > 150) & (b < 110) & (g < 110)) | ((b > 150) & (r < 110))


def test_recording_neurons_changes_no_training(recorded):
    plain, _ = train(neurons=None)
    boundary_only, _ = train(neurons=False)
    with_neurons, rec = recorded
    for name in plain:
        assert torch.equal(plain[name], with_neurons[name]), name
        assert torch.equal(plain[name], boundary_only[name]), name
    # The first 8 units of each hidden layer, 24x24 float16: less than the 40x40 boundary's... times 12.
    values = rec.trace.state["neurons"]
    assert values.shape == (len(rec.trace), 16, 24, 24) and values.dtype == np.float16
    assert [layer["units"] for layer in rec.trace.options["neurons"]["layers"]] == [12, 10]
    assert np.isfinite(values).all() and not np.array_equal(values[0], values[-1])


@pytest.mark.parametrize("suffix, theme", [(".gif", "light"), (".mp4", "dark")])
def test_tiles_are_drawn_and_move(recorded, tmp_path, suffix, theme):
    _, rec = recorded
    path = ca.render(rec, tmp_path / f"n{suffix}", size=SIZE, theme=theme)
    frames = iio.imread(path)
    scale = 2 if suffix == ".mp4" else 1  # an MP4 is encoded at twice the frame's pixels per side
    assert frames.shape[0] == len(rec.trace) and frames.shape[1:3] == (scale * SIZE[1], scale * SIZE[0])
    first, last = _tiles(frames[0]), _tiles(frames[-1])
    assert min(first.sum(), last.sum()) > 300 * scale**2  # the tiles are there, in strong colours
    assert (first != last).sum() > 200 * scale**2  # and the units' pictures change as the network learns
    without = iio.imread(ca.render(rec, tmp_path / f"plain{suffix}", size=SIZE, theme=theme, neurons=False))
    assert _tiles(without[-1]).sum() < last.sum() / 4  # the same frame without the panel: the plot fills it


def test_saved_trace_redraws_its_neurons_and_names_the_units(recorded, tmp_path):
    _, rec = recorded
    rec.trace.save(tmp_path / "t.npz")
    trace = ca.Trace.load(tmp_path / "t.npz")
    assert np.array_equal(trace.state["neurons"], rec.trace.state["neurons"])
    from convergence_anim.frames import FrameRenderer

    renderer = FrameRenderer(trace, size=(640, 240), neurons=True, theme="slides")
    texts = [t.get_text() for ax in renderer.figure.axes for t in ax.texts]
    blitted = renderer.render(len(trace) - 1)
    renderer.close()
    full = FrameRenderer(trace, size=(640, 240), neurons=True, theme="slides", blit=False)
    assert np.array_equal(blitted, full.render(len(trace) - 1))  # no tick or spine redrawn over the tiles
    full.close()
    assert "layer 1 (Tanh): units 1-8 of 12" in texts and "layer 2 (ReLU): units 1-8 of 10" in texts


def test_a_model_that_is_not_a_stack_gets_one_line():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 4), nn.Linear(4, 1)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)))

    x, y = _data()
    rec = ca.Recorder(DecisionBoundary(x, y, resolution=20, neurons=True))
    with pytest.raises(CaptureError, match=r"needs an nn.Sequential of Linear layers and element-wise activations") as info:
        rec.capture(loss=1.0, model=Net())
    assert "\n" not in str(info.value)
    with pytest.raises(CaptureError, match="holds a LayerNorm"):
        rec.capture(loss=1.0, model=nn.Sequential(nn.Linear(2, 4), nn.LayerNorm(4), nn.Tanh(), nn.Linear(4, 1)))
    with pytest.raises(CaptureError, match="no hidden layer"):
        rec.capture(loss=1.0, model=nn.Sequential(nn.Linear(2, 1)))
    with pytest.raises(CaptureError, match="capture model=, not predict="):
        rec.capture(loss=1.0, predict=lambda t: t[:, :1])
    with pytest.raises(UsageError, match="neurons must be True or False"):
        DecisionBoundary(x, y, neurons="yes")


def test_races_show_no_neurons(recorded, tmp_path):
    _, rec = recorded
    with pytest.raises(UsageError, match="render each run of a race or ensemble on its own"):
        ca.render([rec.trace, rec.trace], tmp_path / "r.gif", labels=["a", "b"], neurons=True)
    plain = ca.Trace.load(_saved_plain(tmp_path))
    with pytest.raises(TraceError, match="recorded none"):
        ca.render(plain, tmp_path / "p.gif", neurons=True)


def _saved_plain(tmp_path):
    x, y = _data()
    rec = ca.Recorder(DecisionBoundary(x, y, resolution=20))
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    rec.capture(loss=1.0, model=model)
    rec.capture(loss=0.5, model=model)
    return rec.trace.save(tmp_path / "plain.npz") or tmp_path / "plain.npz"


def test_cli_demo_neurons(run):
    result = run("demo", "xor", "--neurons", "--max-iter", "20", "--every", "5", "--size", "480x160", "-o", "x.gif", "-q")
    assert result.exit_code == 0, result.output
    frames = iio.imread("x.gif")
    assert _tiles(frames[-1]).sum() > 300
    result = run("demo", "blobs", "--neurons", "--max-iter", "5", "-o", "b.gif", "-q")
    assert result.exit_code == 2 and "no hidden layer" in result.output
    assert len(result.output.strip().splitlines()) == 1
