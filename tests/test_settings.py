"""``RenderSettings``: every render option checked once, the same from Python and the command line."""

import json
import os

import pytest

import convergence_anim as ca
from convergence_anim.settings import RenderSettings


def test_fps_and_duration_together_are_refused_from_python(linear_trace, tmp_path):
    with pytest.raises(ca.UsageError, match="give either fps or duration, not both"):
        ca.render(linear_trace, tmp_path / "x.gif", fps=5, duration=3)
    assert list(tmp_path.iterdir()) == []


def test_duration_alone_sets_the_frame_rate(linear_trace, tmp_path, memory_encoder):
    ca.render(linear_trace, tmp_path / "x.frames", duration=2.0)
    assert memory_encoder.last.fps == pytest.approx(len(linear_trace) / 2.0)
    ca.render(linear_trace, tmp_path / "y.frames")
    assert memory_encoder.last.fps == 10.0  # neither given: the default


@pytest.mark.parametrize(
    "options, text",
    [
        ({"fps": 0}, "fps must be a positive number, got 0"),
        ({"fps": float("nan")}, "fps must be a positive number"),
        ({"fps": True}, "fps must be a positive number, got True"),
        ({"loop": -1}, "loop must be a non-negative integer, got -1"),
        ({"jobs": 2.0}, "jobs must be a positive integer, got 2.0"),
        ({"max_frames": 0}, "max_frames must be a positive integer"),
        ({"smooth": 1.0}, r"smooth must be a number from 0 up to \(not including\) 1, got 1.0"),
        ({"smooth": -0.1}, r"smooth must be a number from 0 up to \(not including\) 1, got -0.1"),
        ({"spacing": "random"}, "spacing must be one of uniform, log"),
        ({"theme": "neon"}, "unknown theme 'neon'"),
        ({"size": (8, 8)}, "between 16 and 8192"),
        ({"filmstrip_frames": 51}, "filmstrip_frames must be an integer from 1 to 50"),
        ({"still": "x.jpg"}, "still must end in .png, .svg, .pdf"),
        ({"loss_panel": "yes"}, "loss_panel must be True or False"),
        ({"loss_range": (2.0, 1.0)}, "loss_range must be finite with low <= high"),
        ({"hold": 2, "duration": 1}, "leave no time"),
        ({"colour": "red"}, "render has no option 'colour'; its options are fps, duration"),
    ],
)
def test_bad_options_are_one_usage_error_before_any_file(linear_trace, tmp_path, options, text):
    with pytest.raises(ca.UsageError, match=text):
        ca.render(linear_trace, tmp_path / "x.gif", **options)
    with pytest.raises(ca.UsageError, match=text):
        RenderSettings.build(**options)
    assert list(tmp_path.iterdir()) == []


def test_settings_round_trip_through_json_and_keyword_options_replace_fields(tmp_path):
    settings = RenderSettings(duration=4, theme="dark", size=(320, 240), log_loss=True, still=tmp_path / "s.png")
    assert settings.loss_panel is True  # log_loss implies the panel
    data = json.loads(json.dumps(settings.to_dict()))
    assert data["size"] == [320, 240] and data["still"] == os.fspath(tmp_path / "s.png")
    assert RenderSettings.from_dict(data) == settings
    changed = RenderSettings.build(settings, theme="light")
    assert changed.theme == "light" and changed.duration == 4 and settings.theme == "dark"
    with pytest.raises(ca.UsageError, match="give either fps or duration"):
        RenderSettings.build(settings, fps=5)


def test_render_takes_a_settings_value_and_the_keywords_win(linear_trace, tmp_path, memory_encoder):
    settings = RenderSettings(fps=4, size=(160, 120))
    ca.render(linear_trace, tmp_path / "x.frames", settings, fps=8)
    encoder = memory_encoder.last
    assert encoder.fps == 8.0 and encoder.size == (160, 120)
    assert len(encoder.frames) == len(linear_trace) and encoder.frames[0].shape[:2] == (120, 160)
    assert encoder.closed and not encoder.aborted


def test_a_missing_ffmpeg_is_reported_before_training_or_any_file(run, tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/nonexistent/ffmpeg")
    result = run("demo", "linear", "-o", "x.mp4", "--save-trace", "t.npz", "--still", "s.png", "-q")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: ffmpeg could not start (/nonexistent/ffmpeg): no such executable file; write a .gif instead"
    ]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ca.EncoderError, match="could not start"):
        RenderSettings().check_output(tmp_path / "x.mp4")
