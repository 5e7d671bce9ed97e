"""A researcher's own experiment: a small MLP learning XOR-like quadrants, recorded every 10 steps."""

import torch

import convergence_anim as ca


def train(seed, lr=0.05, hidden=16, steps=200):
    torch.manual_seed(seed)
    x = torch.randn(120, 2)
    y = ((x[:, 0] * x[:, 1]) > 0).long()  # opposite quadrants share a class
    model = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 2))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    rec = ca.Recorder(ca.scenes.DecisionBoundary(x, y), every=10)
    for step in range(steps):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rec.capture(step, loss=loss, model=model, force=step == steps - 1)
    return rec.trace
