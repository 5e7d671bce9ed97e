"""Classification on many features: the projected view says what it is, rings the errors, shows accuracy."""

import numpy as np
import pytest
import torch

import convergence_anim as ca
from convergence_anim.frames import FrameRenderer
from convergence_anim.scenes import DecisionBoundary


def sixty_four_features(n=150, classes=3):
    """Digits-like data: 64 features, the classes apart in a few of them, the rest noise."""
    rng = np.random.default_rng(0)
    labels = np.arange(n) % classes
    X = rng.normal(size=(n, 64))
    X[:, :classes] += 1.5 * np.eye(classes)[labels]
    return torch.tensor(X, dtype=torch.float32), torch.tensor(labels)


def train(scene_options=None, steps=30):
    X, y = sixty_four_features()
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 3)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    rec = ca.Recorder(DecisionBoundary(X, y, resolution=24, **(scene_options or {})), every=10)
    for step in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(X), y)
        loss.backward()
        opt.step()
        rec.capture(step, loss=loss, model=model, force=step == steps - 1)
    return rec.trace, model, X, y


def _rings(renderer):
    (rings,) = [c for c in renderer.figure.axes[0].collections if c.get_label() == "misclassified"]
    return rings


def test_pca_view_names_its_plane_rings_each_misclassified_point_and_titles_the_accuracy():
    trace, model, X, y = train()
    with torch.no_grad():
        final_errors = int((model(X).argmax(1) != y).sum())
    assert trace.state["predicted"].shape == (len(trace), 150) and trace.state["predicted"].dtype == np.uint8
    np.testing.assert_array_equal(trace.state["predicted"][-1], model(X).argmax(1).numpy())
    renderer = FrameRenderer(trace, size=(480, 360))
    z = (X.numpy() - X.numpy().mean(0)) / X.numpy().std(0)
    singular = np.linalg.svd(z, compute_uv=False)
    kept = 100 * (singular[:2] ** 2).sum() / (singular**2).sum()
    texts = [t.get_text() for t in renderer.figure.axes[0].texts]
    assert f"PCA plane of 64 features: {kept:.0f}% of variance" in texts
    counts = []
    for index in range(len(trace)):
        frame = renderer.render_rgba(index)
        errors = int((trace.state["predicted"][index] != y.numpy()).sum())
        assert len(_rings(renderer).get_offsets()) == errors
        accuracy = 100 * (1 - errors / 150)
        assert renderer.figure.axes[0].get_title(loc="right") + renderer.figure.axes[0].get_title() == (
            f"Iteration:{trace.steps[index]}   train accuracy {accuracy:.1f}%")
        counts.append((errors, _dark_pixels(frame)))
    assert counts[-1][0] == final_errors and counts[0][0] > counts[-1][0]
    assert counts[0][1] > counts[-1][1] + 200  # more rings drawn while more points are wrong


def _dark_pixels(frame):
    rgb = frame[..., :3].astype(int)
    return int((rgb.max(axis=2) < 60).sum())


def test_rings_are_an_option_off_for_two_features_and_a_slice_says_what_it_holds_fixed(tmp_path, memory_encoder):
    trace, _, _, _ = train({"view": (0, 1), "mark_errors": False}, steps=12)
    assert "predicted" not in trace.state
    renderer = FrameRenderer(trace, size=(320, 240))
    assert "slice: the other 62 features at their median" in [t.get_text() for t in renderer.figure.axes[0].texts]
    renderer.render_rgba(0)
    assert renderer.figure.axes[0].get_title() == f"Iteration:{trace.steps[0]}"
    points, labels = sixty_four_features()
    plain = ca.Recorder(DecisionBoundary(points[:, :2], labels, resolution=10))
    plain.capture(0, model=torch.nn.Linear(2, 3))
    assert "predicted" not in plain.trace.state  # two features: the regions under the points tell
    marked = ca.Recorder(DecisionBoundary(points[:, :2], labels, resolution=10, mark_errors=True))
    marked.capture(0, model=torch.nn.Linear(2, 3))
    assert marked.trace.state["predicted"].shape == (1, 150)
    with pytest.raises(ca.UsageError, match="mark_errors must be True, False or None"):
        DecisionBoundary(points, labels, mark_errors="yes")


def test_marked_frames_survive_save_and_load(tmp_path, memory_encoder):
    trace, _, _, _ = train(steps=12)
    ca.render(trace, tmp_path / "a.frames", jobs=1, size=(320, 240))
    live = memory_encoder.last.frames
    loaded = ca.Trace.load(trace.save(tmp_path / "t.npz"))
    ca.render(loaded, tmp_path / "b.frames", jobs=1, size=(320, 240))
    assert all(np.array_equal(a, b) for a, b in zip(live, memory_encoder.last.frames))
