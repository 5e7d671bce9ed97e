"""Draw functions for ``Plot`` tests, at the top level of a module so worker processes can import them."""

import numpy as np

#: The blog's twenty points (any fixed data will do): y = 2x + 5 plus noise.
BLOG_X = np.linspace(2.0, 9.8, 20)
BLOG_Y = 2 * BLOG_X + 5 + np.sin(7 * BLOG_X)


def blog_draw(ax, frame):
    """The blog's plotting lines, moved into a function with ``ax.`` in front."""
    w, b = frame["w"].item(), frame["b"].item()
    ax.scatter(BLOG_X, BLOG_Y)
    ax.plot(BLOG_X, w * BLOG_X + b, "r-", lw=5)
    ax.text(2, 20, "Loss=%.4f" % frame.loss, fontdict={"size": 20, "color": "red"})
    ax.set_xlim(1.5, 10)
    ax.set_title("Iteration:%d\nw:%.4f,b:%.4f" % (frame.step, w, b))


def moving_point(ax, frame):
    """One point that walks from (0, 0) to (10, 10), and nothing else: limits come from the whole trace."""
    ax.plot(frame["p"][0], frame["p"][1], "o", color="red", ms=12)


def failing_draw(ax, frame):
    if frame.step >= 2:
        raise ValueError("no such column 'z'")
    ax.plot([0, 1], [0, 1])


def clears_and_legends(ax, frame):
    """A draw that clears the axes itself and adds a legend: the limits scan must cope."""
    ax.cla()
    ax.plot([0, frame.step], [0, 1], label="walk")
    ax.legend(loc="upper left")
