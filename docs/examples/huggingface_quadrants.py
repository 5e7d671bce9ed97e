"""A Hugging Face Trainer script, recorded: the two lines marked "added" are all convergence_anim needs.

A small torch model (any ``nn.Module`` whose forward returns the loss and the logits, as Hugging Face
models do) learns which quadrants share a class, from a tiny in-memory dataset; the callback captures
its decision boundary every 10 steps and writes ``outputs/huggingface/convergence.gif``.

    python docs/examples/huggingface_quadrants.py
"""

import torch
from transformers import Trainer, TrainingArguments

from convergence_anim.integrations.huggingface import AnimationCallback  # added
from convergence_anim.scenes import DecisionBoundary


class Quadrants(torch.nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 2))

    def forward(self, x, labels=None):
        logits = self.net(x)
        loss = None if labels is None else torch.nn.functional.cross_entropy(logits, labels)
        return {"loss": loss, "logits": logits}


def train(epochs=30, root="outputs/huggingface"):
    torch.manual_seed(0)
    x = torch.randn(120, 2)
    y = ((x[:, 0] * x[:, 1]) > 0).long()  # opposite quadrants share a class
    dataset = [{"x": point, "labels": label} for point, label in zip(x, y)]
    args = TrainingArguments(
        output_dir=root,
        num_train_epochs=epochs,
        per_device_train_batch_size=30,
        learning_rate=0.05,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
    )
    model = Quadrants()
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset,
        callbacks=[AnimationCallback(DecisionBoundary(x, y), every=10, fps=10)],  # added
    )
    trainer.train()
    return model


if __name__ == "__main__":
    train()
