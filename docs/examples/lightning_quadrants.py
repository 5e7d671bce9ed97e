"""A Lightning script, recorded: the two lines marked "added" are all convergence_anim needs.

A small MLP learns which quadrants share a class; the callback captures its decision boundary
every 10 training batches and writes ``outputs/lightning/convergence.gif`` when training ends.

    python docs/examples/lightning_quadrants.py
"""

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from convergence_anim.integrations.lightning import AnimationCallback  # added
from convergence_anim.scenes import DecisionBoundary


class Quadrants(L.LightningModule):
    def __init__(self, hidden=16, lr=0.05):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 2))
        self.lr = lr

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = torch.nn.functional.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def train(epochs=30, root="outputs/lightning"):
    L.seed_everything(0)
    x = torch.randn(120, 2)
    y = ((x[:, 0] * x[:, 1]) > 0).long()  # opposite quadrants share a class
    model = Quadrants()
    loader = DataLoader(TensorDataset(x, y), batch_size=30, shuffle=True)
    trainer = L.Trainer(
        max_epochs=epochs,
        default_root_dir=root,
        callbacks=[AnimationCallback(DecisionBoundary(x, y), every=10, fps=10)],  # added
    )
    trainer.fit(model, loader)
    return model


if __name__ == "__main__":
    train()
