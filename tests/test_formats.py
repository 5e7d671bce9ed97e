"""The formats beyond GIF and MP4: WebP, WebM, the HTML player and beamer frames, and the ffmpeg check."""

import io
import shutil
import subprocess

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

import convergence_anim as ca
from convergence_anim.encoders.webp import WebpEncoder, read_webp_frames

from .chromium import chromium_exe

SMALL = (160, 120)


def _webp_frames(path):
    """Every frame of an animated WebP as decoded (composited) RGB, and each frame's duration in ms."""
    frames, durations = [], []
    with Image.open(path) as im:
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
            durations.append(im.info["duration"])
        loop = im.info.get("loop")
    return np.stack(frames), durations, loop


@pytest.fixture
def drawn(linear_trace, tmp_path, memory_encoder):
    """The frames render draws for the linear trace at SMALL, as the in-memory encoder receives them."""
    ca.render(linear_trace, tmp_path / "drawn.frames", size=SMALL, jobs=1)
    return np.stack([f[:, :, :3] for f in memory_encoder.last.frames])


def test_webp_is_lossless_with_one_frame_per_capture_and_held_ends(linear_trace, tmp_path, drawn):
    path = ca.render(linear_trace, tmp_path / "lin.webp", size=SMALL, fps=10, hold_first=0.3, hold=1, jobs=1)
    frames, durations, loop = _webp_frames(path)
    assert frames.shape == (len(linear_trace), SMALL[1], SMALL[0], 3)
    # Lossless on the GIF's palette: exactly the GIF's pixels, and the drawn ones but for a few shades.
    gif = ca.render(linear_trace, tmp_path / "lin.gif", size=SMALL, fps=10, hold_first=0.3, hold=1, jobs=1)
    np.testing.assert_array_equal(frames, np.stack([f[:, :, :3] for f in iio.imiter(gif)]))
    assert (frames == drawn).all(axis=-1).mean() > 0.97 and np.abs(frames.astype(int) - drawn).mean() < 1
    assert durations == [400] + [100] * (len(linear_trace) - 2) + [1100]
    assert loop == 0
    # Only the first frame is whole; the others carry the rectangle that changed, blended.
    stored = read_webp_frames(path)
    assert not stored[0]["blend"] and (stored[0]["width"], stored[0]["height"]) == SMALL
    assert all(f["blend"] and f["width"] * f["height"] < SMALL[0] * SMALL[1] for f in stored[1:])


def test_webp_plays_once_when_asked(linear_trace, tmp_path):
    path = ca.render(linear_trace, tmp_path / "once.webp", size=SMALL, max_frames=3, loop=1, jobs=1)
    assert _webp_frames(path)[2] == 1


def test_webp_keeps_repeated_frames_as_frames(tmp_path):
    frame = np.full((20, 30, 3), 255, np.uint8)
    frame[5:10, 5:11] = (255, 0, 0)
    with WebpEncoder(tmp_path / "same.webp", size=(30, 20), fps=20, samples=[frame]) as encoder:
        for _ in range(4):
            encoder.write(frame)
        encoder.write(frame, repeat=3)
    frames, durations, _ = _webp_frames(tmp_path / "same.webp")
    assert len(frames) == 5 and (frames == frame).all()
    assert durations == [50, 50, 50, 50, 150]


def test_lossy_webp_is_close_and_quality_trades_bytes(linear_trace, tmp_path, drawn):
    # Lossy frames carry the drawn colours (no palette), softened; a lower quality makes a smaller file.
    low = ca.render(linear_trace, tmp_path / "low.webp", size=SMALL, jobs=1, quality=30)
    high = ca.render(linear_trace, tmp_path / "high.webp", size=SMALL, jobs=1, quality=90)
    frames, _, _ = _webp_frames(high)
    assert len(frames) == len(linear_trace)
    assert low.stat().st_size < high.stat().st_size
    difference = np.abs(frames.astype(int) - drawn.astype(int))
    assert difference.max() > 0 and difference.mean() < 4


def test_quality_is_refused_for_formats_without_it(linear_trace, tmp_path):
    with pytest.raises(ca.UsageError, match="quality applies to lossy formats such as .webp, not .gif"):
        ca.render(linear_trace, tmp_path / "x.gif", quality=50)
    with pytest.raises(ca.UsageError, match="quality must be an integer from 1 to 100"):
        ca.render(linear_trace, tmp_path / "x.webp", quality=0)
    assert list(tmp_path.iterdir()) == []


def test_webm_is_vp9_with_every_frame(linear_trace, tmp_path, drawn):
    import imageio_ffmpeg

    path = ca.render(linear_trace, tmp_path / "lin.webm", size=SMALL, fps=10, hold=0.5, jobs=1)
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    frames = np.stack([np.frombuffer(f, np.uint8).reshape(2 * SMALL[1], SMALL[0], 2, 3).mean(axis=2)
                       .reshape(SMALL[1], 2, SMALL[0], 3).mean(axis=1) for f in reader])  # each pixel doubled
    assert meta["codec"].startswith("vp9") and meta["size"] == (2 * SMALL[0], 2 * SMALL[1]) and meta["fps"] == 10
    assert len(frames) == len(linear_trace) + 5
    # Lossy, 4:2:0: close to what was drawn, not equal.
    assert np.abs(frames[: len(drawn)].astype(int) - drawn.astype(int)).mean() < 6


def test_a_missing_ffmpeg_encoder_is_one_line_naming_the_format(run, tmp_path, monkeypatch):
    from convergence_anim.encoders import _ffmpeg

    monkeypatch.setattr(_ffmpeg, "_encoders", lambda exe: frozenset({"libx264"}))
    result = run("demo", "linear", "-o", "x.webm", "-q")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: cannot write .webm: the ffmpeg at ")
    assert "has no libvpx-vp9 encoder; pip install --upgrade imageio-ffmpeg" in lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".webp", ".webm"])
def test_new_formats_from_the_command_line(run, tmp_path, suffix):
    result = run("demo", "linear", "-o", f"lin{suffix}", "--size", "160x120", "--max-frames", "4", "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / f"lin{suffix}").stat().st_size > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"lin{suffix}"]


def test_grids_take_the_new_suffixes(linear_trace, tmp_path):
    from convergence_anim.grid import cell_frames, write_grid

    cells = [cell_frames(linear_trace.select([0, 5, 10]), f"run {i}", size=(64, 64)) for i in range(2)]
    path = write_grid(cells, tmp_path / "grid.webp", cell_size=(64, 64), fps=5)
    frames, durations, _ = _webp_frames(path)
    assert frames.shape == (3, 64, 128, 3) and durations == [200] * 3


needs_chromium = pytest.mark.skipif(chromium_exe() is None, reason="headless Chromium is not installed")


@needs_chromium
def test_html_player_plays_and_the_slider_and_arrow_keys_show_a_given_frame(linear_trace, tmp_path, drawn):
    from .chromium import Chromium

    path = ca.render(linear_trace, tmp_path / "lin.html", size=SMALL, fps=4, hold=1, jobs=1)
    page = path.read_text()
    assert "http:" not in page and "https:" not in page  # nothing from the network
    assert [p.name for p in tmp_path.iterdir() if p.suffix != ".frames"] == ["lin.html"]  # no video left beside
    with Chromium() as browser:
        browser.open(path.as_uri())
        started = browser.evaluate(_AFTER_PLAYING)
        assert started["size"] == [2 * SMALL[0], 2 * SMALL[1]] and started["duration"] == pytest.approx((len(linear_trace) + 4) / 4)
        assert started["playing"] and started["frame"] >= 1  # it plays by itself
        moved = browser.evaluate(_SLIDER_TO % 5)
        step, loss = linear_trace.steps[5], linear_trace.losses[5]
        assert moved["frame"] == 5 and moved["paused"]
        assert moved["caption"].startswith(f"iteration {step} \u00b7 loss {loss:.4f}")
        browser.press("ArrowRight", "ArrowRight", 39)
        stepped = browser.evaluate(_WHEN_SEEKED)
        assert stepped["frame"] == 6 and f"iteration {linear_trace.steps[6]} " in stepped["caption"]
        box = browser.evaluate("(r => [r.left, r.top])(document.getElementById('ca-video').getBoundingClientRect())")
        shot = np.asarray(Image.open(io.BytesIO(browser.screenshot())).convert("RGB"))
    left, top = (round(v) for v in box)
    shown = shot[top : top + SMALL[1], left : left + SMALL[0]].astype(int)
    # The picture on screen is frame 6 as drawn (an H.264 copy of it), not frame 5 or 7.
    errors = [np.abs(shown - drawn[i].astype(int)).mean() for i in (5, 6, 7)]
    assert errors[1] < 6 and errors[1] < min(errors[0], errors[2]), errors


_AFTER_PLAYING = """new Promise(done => {
  const video = document.getElementById('ca-video'), player = document.getElementById('ca-player');
  const look = () => setTimeout(() => done({size: [video.videoWidth, video.videoHeight], duration: video.duration,
      playing: !video.paused, frame: Number(player.dataset.frame)}), 700);
  video.readyState >= 2 ? look() : video.addEventListener('loadeddata', look, {once: true});
})"""

_WHEN_SEEKED = """new Promise(done => {
  const video = document.getElementById('ca-video'), player = document.getElementById('ca-player');
  const report = () => done({frame: Number(player.dataset.frame), paused: video.paused,
      caption: document.getElementById('ca-caption').textContent});
  video.seeking ? video.addEventListener('seeked', () => requestAnimationFrame(() => requestAnimationFrame(report)), {once: true})
                : requestAnimationFrame(() => requestAnimationFrame(report));
})"""

_SLIDER_TO = """(() => { const slider = document.getElementById('ca-slider');
  slider.value = %d; slider.dispatchEvent(new Event('input')); return %s; })()""".replace("%s", _WHEN_SEEKED.replace("%", "%%"))


def test_notebooks_show_each_format_inline(linear_trace, tmp_path):
    import base64
    import html

    for suffix, start in [(".webp", '<img src="data:image/webp;base64,'),
                          (".webm", '<video controls autoplay loop muted playsinline src="data:video/webm;base64,'),
                          (".html", "<iframe srcdoc=")]:
        path = ca.render(linear_trace, tmp_path / f"a{suffix}", size=SMALL, max_frames=3, jobs=1)
        shown = path._repr_html_()
        assert shown.startswith(start), suffix
        if suffix == ".html":  # the whole page, in a frame of its own
            assert html.unescape(shown.split('srcdoc="')[1].split('"')[0]) == path.read_text()
            assert f"width:{SMALL[0] + 20}px" in shown
        else:
            assert base64.b64decode(shown.split("base64,")[1].split('"')[0]) == path.read_bytes()


@needs_chromium
def test_the_html_player_plays_inside_a_notebook_output_frame(linear_trace, tmp_path):
    from .chromium import Chromium

    player = ca.render(linear_trace, tmp_path / "lin.html", size=SMALL, fps=20, jobs=1)
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<html><body style='margin:0'>{player._repr_html_()}</body></html>")
    with Chromium() as browser:
        browser.open(notebook.as_uri())
        browser.evaluate("new Promise(done => setTimeout(done, 1500))")  # the frame loads and plays
        shot = np.asarray(Image.open(io.BytesIO(browser.screenshot())).convert("RGB")).astype(int)
    inside = shot[: SMALL[1] + 80, : SMALL[0] + 20]
    red = (inside[..., 0] > 180) & (inside[..., 1] < 80) & (inside[..., 2] < 80)
    assert red.sum() > 50  # the fitted line of the linear demo, drawn by the video in the frame


def test_beamer_writes_vector_frames_beside_a_snippet(linear_trace, tmp_path):
    (tmp_path / "talk").mkdir()
    path = ca.render(linear_trace, tmp_path / "talk" / "lin.tex", size=SMALL, max_frames=3, fps=5, hold=0.4)
    assert sorted(p.name for p in (tmp_path / "talk").iterdir()) == ["lin-frames", "lin.tex"]
    frames = sorted((tmp_path / "talk" / "lin-frames").iterdir())
    assert [p.name for p in frames] == ["frame-0000.pdf", "frame-0001.pdf", "frame-0002.pdf", "timeline.txt"]
    assert all(p.read_bytes().startswith(b"%PDF") and p.read_bytes().count(b"/Type /Page\n") <= 1 for p in frames[:3])
    # The last frame is held 0.4 s longer: its own rate, 5 / 3 frame intervals.
    assert frames[3].read_text().splitlines() == [":5:0", "::1", ":1.6667:2"]
    snippet = path.read_text()
    assert ("\\animategraphics[autoplay,controls,loop,timeline=lin-frames/timeline.txt,width=\\linewidth,"
            "height=0.8\\textheight,keepaspectratio]{5}{lin-frames/frame-}{0000}{0002}") in snippet
    assert "\\usepackage{animate}" in snippet


def test_beamer_png_frames_are_the_drawn_pixels(linear_trace, tmp_path, drawn):
    path = ca.render(linear_trace, tmp_path / "lin.tex", size=SMALL, frames_format="png", loop=1, jobs=1)
    frames = sorted((tmp_path / "lin-frames").iterdir())
    assert len(frames) == len(linear_trace) and frames[0].name == "frame-0000.png"
    np.testing.assert_array_equal(np.stack([np.asarray(Image.open(p).convert("RGB")) for p in frames]), drawn)
    assert "\\animategraphics[autoplay,controls,width" in path.read_text()  # plays once: no loop option


def test_beamer_never_replaces_a_folder_it_did_not_write(linear_trace, tmp_path):
    (tmp_path / "lin-frames").mkdir()
    (tmp_path / "lin-frames" / "notes.txt").write_text("mine")
    with pytest.raises(ca.OutputError, match="lin-frames' exists and is not a frames folder written before"):
        ca.render(linear_trace, tmp_path / "lin.tex", size=SMALL, max_frames=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lin-frames"]
    assert [p.name for p in (tmp_path / "lin-frames").iterdir()] == ["notes.txt"]
    # A folder it wrote before is replaced whole.
    (tmp_path / "lin-frames" / "notes.txt").unlink()
    ca.render(linear_trace, tmp_path / "lin.tex", size=SMALL, max_frames=2)
    ca.render(linear_trace, tmp_path / "lin.tex", size=SMALL, max_frames=3, frames_format="png")
    assert sorted(p.name for p in (tmp_path / "lin-frames").iterdir()) == [f"frame-000{i}.png" for i in range(3)]


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed (texlive-latex-extra)")
def test_the_beamer_snippet_compiles_in_a_minimal_beamer_document(linear_trace, tmp_path):
    ca.render(linear_trace, tmp_path / "lin.tex", size=SMALL, max_frames=3, hold=0.5)
    (tmp_path / "slides.tex").write_text(
        "\\documentclass{beamer}\n\\usepackage{animate}\n\\begin{document}\n"
        "\\begin{frame}{Training}\n\\input{lin.tex}\n\\end{frame}\n\\end{document}\n"
    )
    build = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "slides.tex"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert build.returncode == 0, build.stdout[-2000:]
    assert (tmp_path / "slides.pdf").read_bytes().startswith(b"%PDF")
    # The three frame files went into the PDF (each page of the animation is an embedded frame).
    assert all(f"lin-frames/frame-000{i}.pdf" in build.stdout.replace("\n", "") for i in range(3))


def test_mp4_keeps_thin_coloured_lines_sharp(tmp_path, memory_encoder):
    from convergence_anim.demos import run_demo

    trace = run_demo("linear", max_iter=20, every=10).trace
    ca.render(trace, tmp_path / "x.frames", jobs=1)
    drawn = memory_encoder.last.frames[-1][:, :, :3].astype(int)
    video = iio.imread(ca.render(trace, tmp_path / "lin.mp4", jobs=1), index=None)[-1]
    shown = video.reshape(480, 2, 640, 2, 3).mean(axis=(1, 3))  # as shown at the frame's size
    coloured = drawn.max(axis=2) - drawn.min(axis=2) > 60  # the red line and label, the blue points
    # 4:2:0 at the frame's own size errs by about 14 levels on these pixels; doubled, about 4.
    assert np.abs(shown - drawn)[coloured].mean() < 7
