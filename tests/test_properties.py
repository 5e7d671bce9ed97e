"""Property tests: generated traces and option values."""

import math

import imageio.v3 as iio
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convergence_anim as ca
from convergence_anim._timing import pick_frames, plan_timing

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@st.composite
def line_traces(draw, min_size=0, max_size=8):
    n = draw(st.integers(min_size, max_size))
    gaps = draw(st.lists(st.integers(1, 1000), min_size=n, max_size=n))
    start = draw(st.integers(0, 10_000))
    steps = start + np.cumsum(gaps) - (gaps[0] if gaps else 0)
    points = draw(st.integers(1, 6))
    x = draw(st.lists(finite, min_size=points, max_size=points))
    y = draw(st.lists(finite, min_size=points, max_size=points))
    scene = ca.scenes.LineFit(x, y)
    data, options = scene.to_data()
    return ca.Trace(
        scene=scene.name,
        data=data,
        options=options,
        steps=np.array(steps, dtype=np.int64),
        losses=np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64),
        state={
            "w": np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64),
            "b": np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64),
        },
        meta={"seed": draw(st.integers(0, 100)), "note": draw(st.text(max_size=20))},
    )


def _same(a, b):
    np.testing.assert_array_equal(a.steps, b.steps)
    for key in ("losses", "test_losses"):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))  # NaN == NaN here
    for key in a.state:
        np.testing.assert_array_equal(a.state[key], b.state[key])
    assert a.meta == b.meta and a.options == b.options


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trace=line_traces())
def test_save_load_round_trip(trace, tmp_path):
    _same(trace, ca.Trace.load(trace.save(tmp_path / "t.npz")))


@pytest.mark.filterwarnings("error::RuntimeWarning", "error::UserWarning")  # no RuntimeWarning or matplotlib warning may reach the user
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(trace=line_traces(min_size=1, max_size=5), fps=st.floats(0.5, 50))
def test_rendering_valid_traces_never_raises_and_keeps_one_frame_per_capture(trace, fps, tmp_path):
    path = ca.render(trace, tmp_path / "t.gif", fps=fps, size=(96, 64), jobs=1)
    assert iio.imread(path, index=None).shape == (len(trace), 64, 96, 3)


@given(n=st.integers(1, 5000), budget=st.integers(1, 6000), spacing=st.sampled_from(["uniform", "log"]))
def test_pick_frames(n, budget, spacing):
    picked = pick_frames(n, budget, spacing)
    assert len(picked) == min(n, budget)
    assert np.all(np.diff(picked) > 0)
    assert picked[-1] == n - 1 and 0 <= picked[0]
    if budget > 1:
        assert picked[0] == 0


@given(n=st.integers(1, 2000), duration=st.floats(0.5, 600), hold=st.floats(0, 5), hold_first=st.floats(0, 5))
def test_duration_fits_the_whole_animation(n, duration, hold, hold_first):
    if hold + hold_first >= duration:
        with pytest.raises(ca.UsageError, match="leave no time"):
            ca.RenderSettings(duration=duration, hold=hold, hold_first=hold_first)
        return
    timing = plan_timing(n, ca.RenderSettings(duration=duration, hold=hold, hold_first=hold_first))
    total = (n + timing.hold_first + timing.hold_last) / timing.fps
    assert math.isclose(total, duration, abs_tol=1.0 / timing.fps)


values = st.one_of(st.none(), st.booleans(), st.integers(-10, 10_000), floats, st.text(max_size=5))


@settings(max_examples=80, deadline=None)
@given(fps=values, dpi=values, width=values, height=values, max_frames=values, jobs=values)
def test_bad_option_values_raise_usage_error_or_work(fps, dpi, width, height, max_frames, jobs, tmp_path_factory):
    trace = _tiny_trace()
    out = tmp_path_factory.mktemp("o") / "x.gif"
    try:
        ca.render(trace, out, fps=fps, dpi=dpi, size=(width, height), max_frames=max_frames, jobs=jobs)
    except ca.UsageError:
        assert not out.exists()
    else:
        assert len(iio.imread(out, index=None)) == min(2, max_frames or 2)


_TINY = []


def _tiny_trace():
    if not _TINY:
        rec = ca.Recorder(ca.scenes.LineFit([1.0, 2.0, 3.0], [1.0, 2.0, 2.5]), every=1)
        rec.capture(0, loss=1.0, w=0.5, b=0.0)
        rec.capture(1, loss=0.5, w=0.8, b=0.1)
        _TINY.append(rec.trace)
    return _TINY[0]
