"""The public extension point: a scene of your own (the docs' k-means example), the registry, entry points."""

import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import convergence_anim as ca
from convergence_anim.scenes import Scene, register_scene, scene_from_trace
from tests.examples import EXAMPLES, load_example, page_block
from tests.pixels import colour_pixels



@pytest.fixture(scope="module")
def kmeans():
    """The docs' example module, run as the docs show it (not copied into the tests)."""
    yield load_example("kmeans_scene.py", "kmeans_scene")
    sys.modules.pop("kmeans_scene", None)


def test_docs_kmeans_example_records_renders_and_rerenders_from_its_file(kmeans, tmp_path, memory_encoder):
    data = kmeans.blobs()
    rec = ca.Recorder(kmeans.KMeans(data, k=3))
    kmeans.train(data, recorder=rec)
    assert rec.trace.state["assignments"].dtype == np.uint8 and rec.trace.state["centroids"].shape == (40, 3, 2)
    ca.render(rec.trace, tmp_path / "k.frames", jobs=1)
    frames = memory_encoder.last.frames
    first, last = frames[0], frames[-1]
    # At the end the three clusters are coloured apart (C0 blue, C1 orange, C2 green), centroids on them.
    for colour in ("#1f77b4", "#ff7f0e", "#2ca02c"):
        assert colour_pixels(last, colour) > 150, colour
    assert not np.array_equal(first, last)

    # Blitting draws only what changes; the pixels are those of a full redraw.
    from convergence_anim.frames import FrameRenderer

    full = FrameRenderer(rec.trace, blit=False)
    assert all(np.array_equal(full.render_rgba(i), frames[i]) for i in (0, 7, 39))

    # Saved and loaded, the trace finds its scene by name: no scene= needed.
    loaded = ca.Trace.load(rec.trace.save(tmp_path / "k.npz"))
    assert isinstance(scene_from_trace(loaded), kmeans.KMeans)
    ca.render(loaded, tmp_path / "again.frames", jobs=1)
    assert all(np.array_equal(a, b) for a, b in zip(frames, memory_encoder.last.frames))


def test_docs_kmeans_example_refuses_bad_captures(kmeans):
    rec = ca.Recorder(kmeans.KMeans(kmeans.blobs(), k=3))
    with pytest.raises(ca.CaptureError, match=r"centroids must have shape \(3, 2\), got \(2, 2\)"):
        rec.capture(0, centroids=np.zeros((2, 2)), assignments=np.zeros(150))
    with pytest.raises(ca.CaptureError, match=r"KMeans captures \(centroids=, assignments=\); got centroids"):
        rec.capture(0, centroids=np.zeros((3, 2)))


def test_a_registry_name_used_twice_names_both_classes():
    with pytest.raises(ca.UsageError) as info:

        @register_scene
        class Impostor(Scene):
            name = "line_fit"

    message = str(info.value)
    assert "'line_fit' is already registered by convergence_anim.scenes.linear.LineFit" in message
    assert "test_scene_extension.test_a_registry_name_used_twice_names_both_classes.<locals>.Impostor" in message
    assert type(scene_from_trace(ca.Trace("line_fit", {"x": [1.0], "y": [1.0]}, {}, [], [], {}))).__name__ == "LineFit"


def test_the_same_class_defined_again_replaces_itself():
    def define():  # as a re-run notebook cell does
        @register_scene
        class Again(Scene):
            name = "test_again"

            @classmethod
            def from_data(cls, data, options):
                return cls()

        return Again

    define()
    newer = define()
    assert type(scene_from_trace(ca.Trace("test_again", {}, {}, [], [], {}))) is newer


def write_distribution(root: Path, module: str, entry: str, code: str) -> None:
    """A tiny installed distribution: a module and a dist-info folder listing one scene entry point."""
    (root / f"{module}.py").write_text(textwrap.dedent(code))
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[convergence_anim.scenes]\n{entry}\n")


SCENE_CODE = """
    import numpy as np
    from convergence_anim.scenes import Scene, register_scene

    @register_scene
    class Teapot(Scene):
        name = "teapot_ep"

        def capture(self, state):
            return {"v": np.array(float(state["v"]))}

        def to_data(self):
            return {}, {}

        @classmethod
        def from_data(cls, data, options):
            return cls()

        def setup(self, ax, trace, theme):
            ax.set_xlim(0, 10)
            ax.set_ylim(0, 10)
            (line,) = ax.plot([], [], "r-", lw=8)

            def update(index, diverged):
                line.set_data([0, 10], [trace.state["v"][index]] * 2)
                return [line]

            return update
"""


def test_entry_point_scenes_load_lazily_when_a_trace_names_them(tmp_path, monkeypatch, memory_encoder, linear_trace):
    write_distribution(tmp_path, "teapot_scenes", "teapot_ep = teapot_scenes:Teapot", SCENE_CODE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "teapot_scenes", raising=False)
    ca.render(linear_trace, tmp_path / "linear.frames", jobs=1, max_frames=2)
    assert "teapot_scenes" not in sys.modules  # known scenes never load entry points

    trace = ca.Trace("teapot_ep", {}, {}, [0, 1], [1.0, 0.5], {"v": [2.0, 8.0]})
    ca.render(trace, tmp_path / "teapot.frames", jobs=1)
    assert "teapot_scenes" in sys.modules
    frames = memory_encoder.last.frames
    rows = [np.flatnonzero((f[..., 0] > 200) & (f[..., 1] < 60) & (f[..., 2] < 60)).size for f in frames]
    assert all(r > 500 for r in rows)  # the thick red line is drawn on both frames


def test_broken_or_missing_entry_points_are_one_clear_error(tmp_path, monkeypatch):
    write_distribution(tmp_path, "broken_scenes", "broken_ep = broken_scenes:Nothing", "raise ImportError('needs scipy')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ca.TraceError, match=r"scene 'broken_ep' comes from 'broken_scenes:Nothing' \(entry point\), "
                                            r"which failed to load: ImportError: needs scipy"):
        scene_from_trace(ca.Trace("broken_ep", {}, {}, [0], [1.0], {}))
    with pytest.raises(ca.TraceError, match=r"unknown scene 'nowhere'; known scenes: .*line_fit.*entry points"):
        scene_from_trace(ca.Trace("nowhere", {}, {}, [0], [1.0], {}))


def test_the_docs_page_shows_exactly_the_tested_example():
    assert page_block("your-own-plot.md", "<!-- kmeans_scene.py:") == (EXAMPLES / "kmeans_scene.py").read_text()
