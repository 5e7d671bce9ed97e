"""The training code of two well-known tutorials, as they write it, for the tests (and a benchmark) that record it.

d2l.ai's linear regression from scratch (``synthetic_data``, the ``data_iter`` generator, ``linreg``,
``squared_loss`` and the hand-written ``sgd``) and the PyTorch tutorial's ``train_loop``, called
once per epoch. Only ``train_loop``'s ``rec`` is ours: the recording line a user adds.
"""

import random

import torch

# -- d2l: linear regression from scratch ------------------------------------------------------------


def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i : min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]


def linreg(X, w, b):
    return torch.matmul(X, w) + b


def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


# -- the PyTorch tutorial: one epoch over a DataLoader ------------------------------------------------


def train_loop(dataloader, model, loss_fn, optimizer, rec=None):
    model.train()
    for batch, (X, y) in enumerate(dataloader):
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if rec is not None:
            rec.capture(loss=loss, model=model)  # added line 2 (``batch`` restarts each epoch: not a step)
