"""A reusable, fast scene of your own: k-means centroids moving, each point coloured by its cluster.

This file is the complete example of ``docs/your-own-plot.md``; the test suite runs it, so the page
and the code cannot drift apart. Run it to write ``kmeans.gif``:

    python docs/examples/kmeans_scene.py
"""

from __future__ import annotations

import numpy as np

from convergence_anim import CaptureError, UsageError
from convergence_anim.scenes import Scene, check_names, finite_range, register_scene, to_array


@register_scene  # traces name the scene "kmeans": render(trace) rebuilds it from the trace alone
class KMeans(Scene):
    """k-means on points in the plane: the points coloured by cluster, the centroids and their paths.

    Capture with ``centroids=`` (shape ``(k, 2)``) and ``assignments=`` (the cluster of each point,
    shape ``(n,)``).
    """

    name = "kmeans"
    label_position = (0.5, 0.05)  # "Loss=..." in the bottom right corner, clear of the points

    def __init__(self, points, k: int) -> None:
        points = to_array("points", points)  # a new float64 array, from a tensor, an array or a list
        if points.ndim != 2 or points.shape[1] != 2:
            raise UsageError(f"points must have shape (n, 2), got {points.shape}")
        if not 1 <= k <= 5:
            raise UsageError(f"k must be from 1 to 5, got {k!r}")
        self.points, self.k = points, int(k)

    # -- recording: the only method that sees tensors ------------------------------------------

    def capture(self, state):
        check_names("KMeans", state, [("centroids", "assignments")])
        centroids = to_array("centroids", state["centroids"])
        if centroids.shape != (self.k, 2):
            raise CaptureError(f"centroids must have shape ({self.k}, 2), got {centroids.shape}")
        assignments = to_array("assignments", state["assignments"]).reshape(-1)
        if assignments.shape != (len(self.points),):
            raise CaptureError(f"assignments must hold one cluster per point, got shape {assignments.shape}")
        # Keep each capture small: float32 centroids, one byte per point.
        return {"centroids": centroids.astype(np.float32), "assignments": assignments.astype(np.uint8)}

    # -- saving: fixed arrays and JSON options that rebuild the scene ---------------------------

    def to_data(self):
        return {"points": self.points}, {"k": self.k}

    @classmethod
    def from_data(cls, data, options):
        return cls(data["points"], options["k"])

    # -- drawing: static parts once, then only what changes -------------------------------------

    def setup(self, ax, trace, theme):
        from matplotlib.colors import to_rgba

        colors = np.array([to_rgba(f"C{c}") for c in range(self.k)])
        centroids, assignments = trace.state["centroids"], trace.state["assignments"]
        # Limits from the data and every capture, fixed before the first frame: nothing jumps.
        every_x = np.concatenate([self.points[:, 0], centroids[..., 0].ravel()])
        every_y = np.concatenate([self.points[:, 1], centroids[..., 1].ravel()])
        ax.set_xlim(finite_range(every_x))
        ax.set_ylim(finite_range(every_y))
        ax.set_aspect("equal", adjustable="box")
        points = ax.scatter(self.points[:, 0], self.points[:, 1], s=18 * theme.marker_scale**2, zorder=1)
        paths = [ax.plot([], [], "-", color=colors[c], lw=2, alpha=0.7, zorder=2)[0] for c in range(self.k)]
        marks = ax.scatter(centroids[0, :, 0], centroids[0, :, 1], c=colors, marker="X",
                           s=220 * theme.marker_scale**2, edgecolors="black", linewidths=1.2, zorder=3)

        def update(index, diverged):
            points.set_facecolor(colors[assignments[index]])
            marks.set_offsets(centroids[index])
            for c, path in enumerate(paths):
                path.set_data(centroids[: index + 1, c, 0], centroids[: index + 1, c, 1])
            return [points, marks, *paths]  # the artists that change: only these are redrawn

        return update

    def title(self, trace, index):
        return f"k-means, iteration {trace.steps[index]}"


def blobs(seed: int = 0, n: int = 150):
    """Three clouds of points in the plane."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [4.5, 1.0], [1.5, 4.5]])
    return (centres[np.arange(n) % 3] + rng.normal(scale=0.7, size=(n, 2))).astype(np.float32)


def train(points, k: int = 3, steps: int = 40, rate: float = 0.1, recorder=None):
    """Soft k-means in torch (each step moves every centroid a ``rate`` of the way to its cluster's mean)."""
    import torch

    x = torch.as_tensor(points)
    # A poor start far out (k-means++ would start closer), so the centroids travel across the picture.
    centroids = torch.tensor([[-2.5, -2.5], [7.5, 3.5], [-2.5, 6.5], [7.0, 7.0], [3.0, -3.0]])[:k]
    for step in range(steps):
        assignments = torch.cdist(x, centroids).argmin(dim=1)
        loss = ((x - centroids[assignments]) ** 2).sum(dim=1).mean()
        if recorder is not None:
            recorder.capture(step, loss=loss, centroids=centroids, assignments=assignments)  # the added line
        for c in range(k):
            members = x[assignments == c]
            if len(members):
                centroids[c] += rate * (members.mean(dim=0) - centroids[c])
    return centroids


if __name__ == "__main__":
    import convergence_anim as ca

    data = blobs()
    rec = ca.Recorder(KMeans(data, k=3))
    train(data, recorder=rec)
    ca.render(rec.trace, "kmeans.gif", fps=8, hold=1.5)
