"""H.264 MP4 encoder, streaming RGB frames into the ffmpeg binary that imageio-ffmpeg ships."""

from __future__ import annotations

import numpy as np

from .._exceptions import EncoderError
from ._base import Encoder

__all__ = ["Mp4Encoder", "ffmpeg_exe"]


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary, or EncoderError saying how to get one."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        raise EncoderError(
            "cannot write MP4: the ffmpeg binary was not found (pip install imageio-ffmpeg, or set "
            "IMAGEIO_FFMPEG_EXE); write a .gif instead"
        ) from None


class Mp4Encoder(Encoder):
    """Writes H.264 video in an MP4 container that plays in browsers, PowerPoint and Keynote.

    - ``yuv420p``: the only pixel format every H.264 decoder in browsers and slide software plays;
      ffmpeg would otherwise pick 4:4:4 for RGB input, which many players refuse.
    - even width and height: 4:2:0 halves the chroma planes, so odd sizes are padded by one pixel
      (the edge repeated), never scaled.
    - ``+faststart``: the index goes at the front, so a browser can start playing before the end.
    """

    suffix = ".mp4"
    max_fps = 240.0

    def __init__(self, path, *, size, fps, loop=0, samples=(), crf: int = 23, verbose: bool = False) -> None:
        super().__init__(path, size=size, fps=fps, loop=loop, samples=samples)
        import imageio_ffmpeg

        exe = ffmpeg_exe()
        width, height = size
        self._pad = (height % 2, width % 2)
        self._writer = imageio_ffmpeg.write_frames(
            str(self.path),
            (width + self._pad[1], height + self._pad[0]),
            fps=self.fps,
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            quality=None,
            macro_block_size=1,
            ffmpeg_log_level="info" if verbose else "error",
            ffmpeg_timeout=0,
            output_params=["-crf", str(crf), "-preset", "medium", "-movflags", "+faststart"],
        )
        self._exe = exe
        try:
            self._writer.send(None)  # starts ffmpeg
        except (OSError, RuntimeError) as exc:
            raise EncoderError(f"ffmpeg could not start ({exe}): {_first_line(exc)}; write a .gif instead") from None

    def write(self, frame: np.ndarray, repeat: int = 1) -> None:
        if self._pad != (0, 0):
            frame = np.pad(frame, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        data = np.ascontiguousarray(frame)
        try:
            for _ in range(repeat):
                self._writer.send(data)
        except (OSError, RuntimeError) as exc:
            raise EncoderError(f"ffmpeg failed while encoding: {_first_line(exc)}; write a .gif instead") from None
        self.frames_written += 1

    def close(self) -> None:
        try:
            self._writer.close()
        except (OSError, RuntimeError) as exc:
            raise EncoderError(f"ffmpeg failed while finishing the file: {_first_line(exc)}; write a .gif instead") from None

    def abort(self) -> None:
        try:
            self._writer.close()
        except Exception:  # already failing: the first error is the one to report
            pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
