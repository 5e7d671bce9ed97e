"""The drawing both sides of ``benchmarks/plot.py`` run: the blog's plotting lines with ``ax.`` in front.

A module of its own, so that convergence_anim's worker processes can import ``draw`` (a function
defined in the script being run, ``__main__``, cannot be).
"""

import numpy as np

X = np.linspace(1.0, 10.0, 20)
Y = 2 * X + 5 + np.sin(7 * X)


def draw(ax, frame):
    w, b = frame["w"].item(), frame["b"].item()
    ax.scatter(X, Y)
    ax.plot(X, w * X + b, "r-", lw=5)
    ax.text(2, 20, "Loss=%.4f" % frame.loss, fontdict={"size": 20, "color": "red"})
    ax.set_xlim(1.5, 10)
    ax.set_ylim(8, 28)
    ax.set_title("Iteration:%d\nw:%.4f,b:%.4f" % (frame.step, w, b))
