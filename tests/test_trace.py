import io
import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import convergence_anim as ca
from convergence_anim.frames import FrameRenderer
from convergence_anim.trace import FORMAT_VERSION


def _assert_same(a, b):
    assert a.scene == b.scene and a.options == b.options and a.meta == b.meta
    np.testing.assert_array_equal(a.steps, b.steps)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert a.data.keys() == b.data.keys() and a.state.keys() == b.state.keys()
    for key in a.data:
        np.testing.assert_array_equal(a.data[key], b.data[key])
    for key in a.state:
        np.testing.assert_array_equal(a.state[key], b.state[key])
        assert a.state[key].dtype == b.state[key].dtype


@pytest.mark.parametrize("fixture", ["linear_trace", "logistic_trace"])
def test_save_load_round_trip_and_identical_frames(fixture, request, tmp_path):
    trace = request.getfixturevalue(fixture)
    path = trace.save(tmp_path / "run.npz")
    loaded = ca.Trace.load(path)
    _assert_same(trace, loaded)
    live, again = FrameRenderer(trace), FrameRenderer(loaded)
    for index in (0, len(trace) - 1):
        np.testing.assert_array_equal(live.render(index), again.render(index))


def test_saved_file_loads_with_numpy_without_pickle(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "run.npz")
    with np.load(path, allow_pickle=False) as npz:
        assert int(npz["convergence_anim_trace"][0]) == FORMAT_VERSION
        assert str(npz["scene"]) == "line_fit"


def test_missing_file(tmp_path):
    with pytest.raises(ca.TraceFormatError, match="does not exist"):
        ca.Trace.load(tmp_path / "nope.npz")


def test_not_a_zip(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_text("hello, I am not a trace")
    with pytest.raises(ca.TraceFormatError, match="not a readable trace file"):
        ca.Trace.load(path)


def test_an_npz_that_is_not_a_trace(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, a=np.arange(3))
    with pytest.raises(ca.TraceFormatError, match="is not a convergence_anim trace"):
        ca.Trace.load(path)


def test_truncated_file(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "run.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ca.TraceFormatError):
        ca.Trace.load(path)


def _rewrite(path, out, replace):
    """Copy the npz at ``path`` to ``out``, with members replaced by the given raw .npy bytes."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, data in replace.items():
            if name not in src.namelist():
                dst.writestr(name, data)
    return out


def _npy(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_pickled_object_array_is_refused_without_running_it(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "run.npz")
    evil = np.array([print], dtype=object)
    out = _rewrite(path, tmp_path / "evil.npz", {"state.w.npy": _npy(evil, allow_pickle=True)})
    with pytest.raises(ca.TraceFormatError, match="dtype object"):
        ca.Trace.load(out)


def test_newer_format_version_says_upgrade(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "run.npz")
    out = _rewrite(path, tmp_path / "new.npz", {"convergence_anim_trace.npy": _npy(np.array([FORMAT_VERSION + 1]))})
    with pytest.raises(ca.TraceFormatError, match="newer convergence_anim.*upgrade"):
        ca.Trace.load(out)


def test_a_trace_opens_without_its_scene_and_rendering_names_the_unknown_scene(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "run.npz")
    out = _rewrite(path, tmp_path / "scene.npz", {"scene.npy": _npy(np.array("teapot"))})
    trace = ca.Trace.load(out)  # the arrays are fine: opening needs no scene code
    assert trace.scene == "teapot" and len(trace) == len(linear_trace)
    with pytest.raises(ca.TraceError, match=r"unknown scene 'teapot'; known scenes: .*line_fit"):
        ca.render(trace, tmp_path / "x.gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz", "scene.npz"]


def test_loading_a_trace_does_not_import_the_scenes(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "run.npz")
    code = (
        "import sys; from convergence_anim.trace import Trace; t = Trace.load(sys.argv[1]);"
        "print(len(t), sorted(m for m in sys.modules if m.startswith('convergence_anim.scenes')))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split(" ", 1) == [str(len(linear_trace)), "[]\n"]


def test_state_length_mismatch_is_refused(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "run.npz")
    out = _rewrite(path, tmp_path / "short.npz", {"state.w.npy": _npy(np.zeros(2))})
    with pytest.raises(ca.TraceFormatError, match="inconsistent"):
        ca.Trace.load(out)


def test_oversized_array_header_is_refused_before_reading(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "run.npz")
    # A header that declares 10^12 float64 values followed by almost no data: the zip-bomb shape.
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    raw = b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\x00" * 64
    out = _rewrite(path, tmp_path / "bomb.npz", {"state.w.npy": raw})
    with pytest.raises(ca.TraceFormatError, match="over the .* limit"):
        ca.Trace.load(out)


def test_corrupt_options_json(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "run.npz")
    out = _rewrite(path, tmp_path / "json.npz", {"options.npy": _npy(np.array("{not json"))})
    with pytest.raises(ca.TraceFormatError, match="corrupt options"):
        ca.Trace.load(out)


def test_empty_trace_cannot_render(tmp_path):
    empty = ca.Recorder(ca.scenes.LineFit([1.0, 2.0], [1.0, 2.0]), every=1).trace
    assert len(empty) == 0
    with pytest.raises(ca.EmptyTraceError, match="empty"):
        ca.render(empty, tmp_path / "x.gif")
    assert not any(tmp_path.iterdir())
    # An empty trace still saves and loads as plain data.
    loaded = ca.Trace.load(empty.save(tmp_path / "empty.npz"))
    assert len(loaded) == 0 and loaded.scene == "line_fit"
    assert loaded.meta == json.loads(json.dumps(loaded.meta)) == {"capture_every": 1}


def _zeros_member(zf, name, dtype, count):
    """Write ``count`` zeros of ``dtype`` as the npy member ``name``, streamed: they compress ~1000:1."""
    with zf.open(name, "w", force_zip64=True) as fh:
        np.lib.format.write_array_header_1_0(fh, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                                  "shape": (count,)})
        chunk = bytes(1 << 24)
        left = count * np.dtype(dtype).itemsize
        while left:
            fh.write(chunk[: min(left, len(chunk))])
            left -= min(left, len(chunk))


def _amplifying_trace(path, count, losses):
    """A line_fit trace of ``count`` zero bytes of steps (uint8) and ``losses`` float16 zeros: KBs on disk."""
    small = {"convergence_anim_trace": np.array([FORMAT_VERSION]), "scene": np.array("line_fit"),
             "options": np.array("{}"), "meta": np.array("{}"), "data.x": np.zeros(2), "data.y": np.zeros(2)}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, value in small.items():
            zf.writestr(f"{name}.npy", _npy(value))
        _zeros_member(zf, "steps.npy", np.uint8, count)
        _zeros_member(zf, "losses.npy", np.float16, losses)
    return path


# The loading runs two processes down, so that RUSAGE_CHILDREN of the middle one sees only it.
_PEAK_MEMORY = """
import resource, subprocess, sys
out = subprocess.run([sys.executable, "-m", "convergence_anim.cli", *sys.argv[1:]], capture_output=True, text=True)
sys.stderr.write(out.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)  # KiB -> MiB
sys.exit(out.returncode)
"""


@pytest.mark.parametrize("count, losses, message, bound_mib", [
    # 150 MB of uint8 steps would be 1.2 GB as int64: over the per-array limit once widened, which the
    # header says before any data is read (1.5 GB peak before the fix).
    (150_000_000, 1, "takes 1200000000 bytes once loaded, over the 1024 MiB limit", 100),
    # 30 MB of steps (and 60 MB of float16 losses) that do not increase: read once, refused on the
    # stored dtype before any is widened (1.1 GB peak before the fix).
    (30_000_000, 30_000_000, "steps must be strictly increasing", 250),
])
def test_a_small_file_that_widens_to_gigabytes_is_refused_in_bounded_memory(tmp_path, count, losses, message, bound_mib):
    path = _amplifying_trace(tmp_path / "bomb.npz", count, losses)
    assert path.stat().st_size < 300_000
    out = subprocess.run([sys.executable, "-c", _PEAK_MEMORY, "render", str(path), "-o", str(tmp_path / "x.gif")],
                         capture_output=True, text=True, timeout=120)
    assert int(out.stdout) < bound_mib  # peak RSS of the command, in MiB
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "x.gif").exists()


def test_save_makes_missing_folders(linear_trace, tmp_path):
    path = linear_trace.save(tmp_path / "runs" / "a" / "linear.npz")
    assert list(ca.Trace.load(path).steps) == list(linear_trace.steps)
