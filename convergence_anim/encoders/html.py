"""A self-contained HTML player: the frames as one embedded H.264 video, scrubbed frame by frame.

Why a video and not one image per frame (matplotlib's ``to_jshtml``): neighbouring frames of a
training run differ in a few pixels, which a video codec stores as such, so the page is the size of
the MP4 plus a few kilobytes of player, where a PNG per frame is megabytes. The page holds the video
(base64), a table of what each frame shows (iteration and loss) with its start time, and a small
script: play/pause, a slider over the frames that shows the current iteration and loss, arrow keys
to step. Moving to a frame seeks the video to the middle of that frame's time, so the picture is
exact. Nothing is loaded from the network.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

from .._exceptions import OutputError
from ..scenes._base import format_number
from .mp4 import Mp4Encoder

__all__ = ["HtmlEncoder", "player_page"]


class HtmlEncoder(Mp4Encoder):
    """Writes one HTML page that plays the animation, with a slider over its frames.

    The video is H.264 (``Mp4Encoder``'s settings), which every browser plays. ``loop`` 0 loops
    forever, N plays N times then stops on the last frame. Parameters are ``Mp4Encoder``'s.
    """

    suffix = ".html"

    def __init__(self, path, *, size, fps, loop=0, samples=(), crf: int = 23, verbose: bool = False) -> None:
        self.page = Path(path)
        # The video is written beside the page, under the page's own (temporary) name, then embedded.
        video = self.page.with_name(self.page.name + ".mp4")
        super().__init__(video, size=size, fps=fps, loop=loop, samples=samples, crf=crf, verbose=verbose)
        self._described: "list[dict] | None" = None
        self._table: list[dict] = []
        self._ticks = 0

    def describe_frames(self, frames) -> None:
        self._described = [dict(f) for f in frames]

    def write_prepared(self, frame, repeat: int = 1) -> None:
        index = self.frames_written
        super().write_prepared(frame, repeat)
        info = self._described[index] if self._described and index < len(self._described) else {}
        self._table.append({"t": self._ticks, "n": repeat, "caption": caption(info, index)})
        self._ticks += repeat

    def close(self) -> None:
        try:
            super().close()
            data = self.path.read_bytes()
            text = player_page(data, self._table, fps=self.fps, size=self.size, loop=self.loop, title=self.page.stem)
            self.page.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {str(self.page)!r}: {exc.strerror}") from None
        finally:
            _remove(self.path)

    def abort(self) -> None:
        try:
            super().abort()
        finally:
            _remove(self.path)


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def caption(info: dict, index: int) -> str:
    """What the player shows beside the slider for one frame: iteration and loss(es), or the frame number."""
    parts = []
    if "iteration" in info:
        parts.append(f"iteration {info['iteration']}")
    if info.get("loss") is not None:
        parts.append(f"loss {format_number(info['loss'])}")
    for label, loss in (info.get("losses") or {}).items():
        parts.append(f"{label} {'-' if loss is None else format_number(loss)}")
    return " \u00b7 ".join(parts) if parts else f"frame {index + 1}"


def player_page(video: bytes, table: list[dict], *, fps: float, size: tuple[int, int], loop: int, title: str) -> str:
    """The HTML page that plays ``video`` (an MP4's bytes) with a slider over the frames of ``table``.

    ``table`` holds one ``{"t": first frame interval, "n": intervals shown, "caption": text}`` per
    frame, in order.
    """
    width, height = size
    data = base64.b64encode(video).decode("ascii")
    config = json.dumps({"fps": fps, "loop": loop, "frames": table}, separators=(",", ":"))
    return _PAGE.format(
        title=html.escape(title), width=width, height=height, last=len(table) - 1, data=data,
        config=config.replace("</", "<\\/"),
    )


# The page: plain HTML, CSS and script, no external resource. Kept short and readable; ids are
# prefixed so the page can be embedded in a notebook's output frame.
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  body {{ margin: 0; padding: 8px; font: 14px system-ui, sans-serif; background: #fff; color: #222; }}
  .ca-player {{ display: inline-block; max-width: 100%; }}
  .ca-player video {{ display: block; width: {width}px; max-width: 100%; height: auto; aspect-ratio: {width} / {height}; }}
  .ca-bar {{ display: flex; align-items: center; gap: 8px; margin-top: 6px; }}
  .ca-bar input[type=range] {{ flex: 1; }}
  .ca-bar button {{ width: 4.5em; }}
  .ca-caption {{ margin-top: 4px; font-variant-numeric: tabular-nums; min-height: 1.3em; }}
</style>
</head>
<body>
<div class="ca-player" id="ca-player" tabindex="0">
<video id="ca-video" muted playsinline autoplay preload="auto" width="{width}" height="{height}"
  src="data:video/mp4;base64,{data}"></video>
<div class="ca-bar">
  <button id="ca-play" type="button" aria-label="play or pause">Play</button>
  <input id="ca-slider" type="range" min="0" max="{last}" value="0" step="1" aria-label="frame">
</div>
<div class="ca-caption" id="ca-caption"></div>
</div>
<script id="ca-frames" type="application/json">{config}</script>
<script>
(function () {{
  "use strict";
  var config = JSON.parse(document.getElementById("ca-frames").textContent);
  var frames = config.frames, fps = config.fps, last = frames.length - 1;
  var video = document.getElementById("ca-video"), slider = document.getElementById("ca-slider");
  var button = document.getElementById("ca-play"), caption = document.getElementById("ca-caption");
  var player = document.getElementById("ca-player");
  var plays = 1, shown = -1;
  video.loop = config.loop === 0;

  function frameAt(time) {{  // the last frame starting at or before time
    var tick = time * fps + 1e-6, lo = 0, hi = last;
    while (lo < hi) {{ var mid = (lo + hi + 1) >> 1; if (frames[mid].t <= tick) lo = mid; else hi = mid - 1; }}
    return lo;
  }}
  function show(index) {{
    if (index === shown) return;
    shown = index;
    slider.value = index;
    caption.textContent = frames[index].caption + "  (" + (index + 1) + "/" + frames.length + ")";
    player.setAttribute("data-frame", index);
  }}
  function seek(index) {{
    index = Math.max(0, Math.min(last, index));
    video.pause();
    // The middle of the frame's time: the decoder shows exactly that frame.
    video.currentTime = (frames[index].t + frames[index].n / 2) / fps;
    show(index);
  }}
  function track() {{
    show(frameAt(video.currentTime));
    if (!video.paused) requestAnimationFrame(track);
  }}
  function toggle() {{
    if (video.paused) {{
      if (video.ended || shown === last) video.currentTime = 0;
      plays = 1;
      video.play();
    }} else video.pause();
  }}
  video.addEventListener("play", function () {{ button.textContent = "Pause"; player.setAttribute("data-playing", "1"); track(); }});
  video.addEventListener("pause", function () {{ button.textContent = "Play"; player.setAttribute("data-playing", "0"); }});
  video.addEventListener("seeked", function () {{ if (video.paused) show(frameAt(video.currentTime)); }});
  video.addEventListener("ended", function () {{
    if (plays < config.loop) {{ plays += 1; video.currentTime = 0; video.play(); }}
    else show(last);
  }});
  button.addEventListener("click", toggle);
  slider.addEventListener("input", function () {{ seek(parseInt(slider.value, 10)); }});
  document.addEventListener("keydown", function (event) {{
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {{
      event.preventDefault();
      seek((shown < 0 ? 0 : shown) + (event.key === "ArrowRight" ? 1 : -1));
    }} else if (event.key === " " && event.target.tagName !== "BUTTON") {{
      event.preventDefault();
      toggle();
    }}
  }});
  show(0);
}})();
</script>
</body>
</html>
"""
