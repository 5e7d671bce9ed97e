"""A loop that already logs to TensorBoard, its animation logged too: the lines marked "added".

The README's linear regression, recorded; ``log_animation`` puts the animation in TensorBoard's
Images tab, where it plays (``tensorboard --logdir outputs/tensorboard``).

    python docs/examples/tensorboard_linear.py
"""

import torch
from torch.utils.tensorboard import SummaryWriter

import convergence_anim as ca
from convergence_anim.integrations.tensorboard import log_animation  # added


def train(root="outputs/tensorboard"):
    torch.manual_seed(10)
    x = torch.rand(20, 1) * 10
    y = 2 * x + (5 + torch.randn(20, 1))
    w = torch.randn(1, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    writer = SummaryWriter(root)
    rec = ca.Recorder(ca.scenes.LineFit(x, y), every=20)
    for iteration in range(1000):
        loss = (0.5 * (y - (w * x + b)) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= 0.02 * w.grad
            b -= 0.02 * b.grad
        w.grad.zero_()
        b.grad.zero_()
        writer.add_scalar("loss", loss.item(), iteration)
        rec.capture(iteration, loss=loss, w=w, b=b, force=iteration == 999)
    log_animation(writer, rec.trace, step=999, size=(480, 360), fps=10)  # added
    writer.close()
    return rec.trace


if __name__ == "__main__":
    train()
