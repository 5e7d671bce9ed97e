"""H.264 MP4 encoder, streaming RGB(A) frames into the ffmpeg binary that imageio-ffmpeg ships."""

from __future__ import annotations

import contextlib
import os
import queue
import threading

import numpy as np

from .._exceptions import EncoderError, UsageError
from ._base import Encoder
from ._ffmpeg import ffmpeg_exe, require_ffmpeg_encoder

__all__ = ["Mp4Encoder", "ffmpeg_exe", "mp4_structure_problem"]


class Mp4Encoder(Encoder):
    """Writes H.264 video in an MP4 container that plays in browsers, PowerPoint and Keynote.

    - ``yuv420p``: the only pixel format every H.264 decoder in browsers and slide software plays;
      ffmpeg would otherwise pick 4:4:4 for RGB input, which many players refuse.
    - twice the pixels (``pixel_scale``): 4:2:0 keeps one colour sample per 2x2 pixels, which smears
      a thin red line into pink and grey at the frame's own size. Each frame pixel is sent as a 2x2
      block (nearest neighbour, in ffmpeg), so every pixel keeps its colour: the error on coloured
      pixels drops from 12 to 2.3 levels for 1.7x the bytes (docs/performance.md). Players scale
      the video to the size it is shown at. Frames larger than 1920x1080 are encoded at their size.
    - even width and height: at their own size, odd sizes are padded by one pixel (the edge
      repeated), never scaled.
    - ``+faststart``: the index goes at the front, so a browser can start playing before the end.
    - ``-threads 2``: x264's bytes depend on its thread count, so it is pinned for reproducible files.

    Frames go to ffmpeg from a thread, a few frames ahead: a frame (1.2 MB at 640x480) fills the
    pipe many times over, and written inline the drawing would wait while ffmpeg encodes.
    """

    suffix = ".mp4"
    max_fps = 240.0
    external_cores = 1  # ffmpeg

    #: The ffmpeg encoder this format needs, checked before any work.
    codec = "libx264"
    #: Each frame pixel becomes a block of pixel_scale x pixel_scale video pixels (see above).
    pixel_scale = 2
    #: Largest frame (in pixels) that is scaled up: a 1920x1080 frame gives a 4K video.
    max_scaled_pixels = 1920 * 1080
    #: Frames waiting for ffmpeg at most, beside the one being written.
    queued_frames = 3

    @classmethod
    def check_available(cls) -> None:
        require_ffmpeg_encoder(cls.codec, cls.suffix)

    def __init__(self, path, *, size, fps, loop=0, samples=(), crf: int = 23, verbose: bool = False) -> None:
        super().__init__(path, size=size, fps=fps, loop=loop, samples=samples)
        self._exe = ffmpeg_exe(self.suffix)
        self._crf = crf
        self._verbose = verbose
        self._writer = None  # started by the first frame, whose channel count sets the input format
        self._channels = 0
        self._frames: "queue.Queue | None" = None  # (pixels, repeat) for the feeder thread; None ends it
        self._feeder: "threading.Thread | None" = None
        self._failure: "BaseException | None" = None  # what stopped the feeder, reported by the next call
        width, height = self.size
        self.scale = self.pixel_scale if width * height <= self.max_scaled_pixels else 1
        #: ``(width, height)`` of the video: the frames', times ``scale``, made even.
        self.video_size = (width * self.scale + (width * self.scale) % 2, height * self.scale + (height * self.scale) % 2)

    def _start(self, channels: int) -> None:
        import imageio_ffmpeg

        width, height = self.size
        self._pad = (height % 2, width % 2) if self.scale % 2 else (0, 0)
        self._channels = channels
        self._writer = imageio_ffmpeg.write_frames(
            str(self.path),
            (width + self._pad[1], height + self._pad[0]),
            fps=self.fps,
            codec=self.codec,
            pix_fmt_in="rgba" if channels == 4 else "rgb24",
            pix_fmt_out="yuv420p",
            quality=None,
            macro_block_size=1,
            ffmpeg_log_level="info" if self._verbose else "error",
            ffmpeg_timeout=0,
            output_params=self._output_params(),
        )
        try:
            self._writer.send(None)  # starts ffmpeg
        except (OSError, RuntimeError) as exc:
            raise EncoderError(f"ffmpeg could not start ({self._exe}): {_first_line(exc)}; write a .gif instead") from exc
        self._frames = queue.Queue(maxsize=self.queued_frames)
        self._feeder = threading.Thread(target=self._feed, name="convergence_anim ffmpeg feeder", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        """The feeder thread: send queued frames to ffmpeg until told to stop; after a failure, drain."""
        while True:
            item = self._frames.get()
            if item is None:
                return
            if self._failure is not None:
                continue
            data, repeat = item
            try:
                for _ in range(repeat):
                    self._writer.send(data)
            except BaseException as exc:  # reported in the main thread by the next write or close
                self._failure = exc

    def _stop_feeder(self, discard: bool) -> None:
        """End the feeder thread once it has sent what is queued (or, with ``discard``, dropped it)."""
        if self._feeder is None:
            return
        if discard:
            with contextlib.suppress(queue.Empty):
                while True:
                    self._frames.get_nowait()
        self._frames.put(None)  # only this thread puts, so after a discard there is room
        self._feeder.join()
        self._feeder = None

    def _raise_failure(self) -> None:
        """Raise, in the caller's thread, what stopped the feeder: ffmpeg's failure as one line."""
        exc = self._failure
        if exc is not None:
            if not isinstance(exc, (OSError, RuntimeError)):
                raise exc
            raise EncoderError(f"ffmpeg failed while encoding: {_first_line(exc)}; write a .gif instead") from exc

    def _scale_params(self) -> list[str]:
        """ffmpeg's filter making each frame pixel a block of ``scale`` x ``scale``, in BT.709 colours.

        Players guess the colour matrix of an untagged video from its height (BT.709 from 720 lines
        up), and ffmpeg converts RGB with BT.601 unless told: a doubled 640x480 frame is 960 lines,
        and its reds turned orange in Chromium. So the conversion is BT.709 and the file says so.
        """
        scale = "" if self.scale == 1 else f"iw*{self.scale}:ih*{self.scale}:flags=neighbor:"
        return ["-vf", f"scale={scale}out_color_matrix=bt709:out_range=tv",
                "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]

    def _output_params(self) -> list[str]:
        """ffmpeg's options after the input: the codec's settings and the container's."""
        # A fixed thread count: x264's output depends on it, and the same trace must give the same
        # bytes on every machine (batch runs compare files by hash).
        # veryfast: on the demos' frames at twice the pixels it takes a quarter of medium's time for
        # 2% more bytes (benchmarks/formats.py), so doubling costs about what medium did at 1x.
        return self._scale_params() + ["-crf", str(self._crf), "-preset", "veryfast", "-threads", "2",
                                       "-movflags", "+faststart"]

    def _structure_problem(self) -> "str | None":
        """What is wrong with the finished file, or None (see ``mp4_structure_problem``)."""
        return mp4_structure_problem(self.path)

    def write_prepared(self, frame: np.ndarray, repeat: int = 1) -> None:
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] not in (3, 4):
            raise UsageError(f"frames must be uint8 arrays of shape (height, width, 3 or 4), got {frame.dtype} {frame.shape}")
        if self._writer is None:
            self._start(frame.shape[2])
        elif frame.shape[2] != self._channels:
            raise UsageError("all frames of one MP4 must have the same number of channels")
        if self._pad != (0, 0):
            frame = np.pad(frame, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)), mode="edge")
        self._raise_failure()
        # A copy of its own: the caller may reuse its array while the frame waits in the queue.
        self._frames.put((np.array(frame, order="C", copy=True), repeat))
        self.frames_written += 1

    def close(self) -> None:
        if self._writer is None:
            raise EncoderError("no frame was written, so there is no video to finish")
        self._stop_feeder(discard=False)
        if self._failure is not None:
            self.abort()  # ends ffmpeg quietly: the failure is what to report
            self._raise_failure()
        try:
            self._writer.close()
        except (OSError, RuntimeError) as exc:
            raise EncoderError(f"ffmpeg failed while finishing the file: {_first_line(exc)}; write a .gif instead") from exc
        problem = self._structure_problem()
        if problem:
            # ffmpeg can exit 0 after a failed write (seen with a file-size limit: "Error writing
            # trailer"), which would move a truncated video into place.
            raise EncoderError(f"ffmpeg failed while writing the file: {problem}; write a .gif instead")

    def abort(self) -> None:
        if self._writer is None:
            return
        self._stop_feeder(discard=True)
        try:
            self._writer.close()
        except Exception:  # already failing: the first error is the one to report
            pass


def mp4_structure_problem(path) -> "str | None":
    """What is wrong with the top-level boxes of the MP4 at ``path``, or None if they are whole.

    An MP4 is a sequence of boxes, each starting with its 32-bit size and 4-letter type; a complete
    file's boxes tile it exactly and include the movie header (``moov``) and the media (``mdat``).
    """
    try:
        size = os.path.getsize(path)
        seen, offset = set(), 0
        with open(path, "rb") as fh:
            while offset < size:
                fh.seek(offset)
                header = fh.read(16)
                if len(header) < 8:
                    return f"the file ends inside a box header at byte {offset}"
                box, kind = int.from_bytes(header[:4], "big"), header[4:8]
                if box == 1 and len(header) == 16:  # a 64-bit size follows the type
                    box = int.from_bytes(header[8:16], "big")
                if box < 8:
                    return f"a box at byte {offset} has an invalid size"
                seen.add(kind)
                offset += box
    except OSError as exc:
        return exc.strerror or str(exc)
    if offset != size:
        return f"the file is truncated ({size} bytes, its boxes need {offset})"
    missing = {b"moov", b"mdat"} - seen
    if missing:
        return f"the file has no {' or '.join(sorted(m.decode() for m in missing))} box"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
