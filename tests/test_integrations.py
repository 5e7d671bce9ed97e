"""Where researchers already train: the Lightning and Hugging Face callbacks, logging to TensorBoard and
W&B, each through the docs' own example files (docs/examples/*_*.py, shown on docs/frameworks.md).

The frameworks come with the ``test`` extra. A test skips only when its framework cannot be imported,
and under CI (``CI`` set, as CI runs) a missing framework fails instead of skipping quietly.
"""

import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import convergence_anim as ca

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
PAGE = EXAMPLES.parent / "frameworks.md"
FRAMEWORKS = {"lightning": "lightning", "transformers": "huggingface", "accelerate": "huggingface",
              "tensorboard": "tensorboard", "wandb": "wandb"}


def test_the_frameworks_of_the_test_extra_are_installed_under_ci():
    missing = [name for name in FRAMEWORKS if importlib.util.find_spec(name) is None]
    if missing and not os.environ.get("CI"):
        pytest.skip(f"not installed here: {', '.join(missing)} (pip install -e '.[test]')")
    assert missing == [], "CI must run the framework tests: the test extra installs them"


def example(name, framework):
    """The docs' example file ``name`` as a module, run as the page shows it (not copied into the tests)."""
    pytest.importorskip(framework, reason=f"{framework} is not installed: pip install -e '.[test]'")
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def decoded(path):
    import imageio.v3 as iio

    return iio.imread(path, index=None)


def weights(model):
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def same_weights(a, b):
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def inert(base):
    """A callback of the framework's kind that does nothing: the run "without the callback"."""
    return lambda *args, **kwargs: base()


def test_lightning_callback_records_renders_logs_to_tensorboard_and_changes_no_weight(tmp_path, monkeypatch):
    lightning_example = example("lightning_quadrants", "lightning")
    monkeypatch.chdir(tmp_path)
    model = lightning_example.train(epochs=10, root="with")
    frames = decoded(tmp_path / "with" / "convergence.gif")
    # 4 batches an epoch, 40 steps: captures at 0, 10, 20, 30 and the last one (39), forced.
    assert frames.shape == (5, 480, 640, 3)
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 5  # the boundary moved

    # Lightning's default logger is TensorBoard's: the callback logged the GIF there too.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "with" / "lightning_logs" / "version_0"), size_guidance={"images": 0})
    events.Reload()
    (image,) = events.Images("convergence_anim")
    assert image.step == 40 and (image.width, image.height) == (640, 480)
    assert np.array_equal(decoded(image.encoded_image_string), frames)

    import lightning

    monkeypatch.setattr(lightning_example, "AnimationCallback", inert(lightning.Callback))
    plain = lightning_example.train(epochs=10, root="without")
    assert same_weights(weights(model), weights(plain))
    assert not (tmp_path / "without" / "convergence.gif").exists()


class FakeTrainer:
    """What the callback reads of a Lightning trainer, for one process of a multi-device run."""

    def __init__(self, rank, root):
        self.is_global_zero = rank == 0
        self.default_root_dir = str(root)
        self.global_step = 0
        self.loggers = []


def test_lightning_callback_records_on_rank_zero_only(tmp_path):
    pytest.importorskip("lightning")
    import torch

    from convergence_anim.integrations.lightning import AnimationCallback

    x = torch.randn(20, 2)
    y = (x[:, 0] > 0).long()
    model = torch.nn.Linear(2, 2)
    for rank in (1, 0):
        # An MP4 for the user; TensorBoard, which plays GIFs only, gets the trace rendered as a GIF.
        callback = AnimationCallback(ca.scenes.DecisionBoundary(x, y, resolution=20), every=2, size=(160, 120),
                                     path=tmp_path / f"rank{rank}" / "clip.mp4", log_to=[tmp_path / f"tb{rank}"])
        trainer = FakeTrainer(rank, tmp_path)
        callback.on_train_start(trainer, model)
        for batch in range(5):
            callback.on_train_batch_end(trainer, model, {"loss": torch.tensor(0.5 ** batch)}, None, batch)
        callback.on_train_end(trainer, model)
        if rank:
            assert len(callback.trace) == 0 and not (tmp_path / "rank1").exists() and not (tmp_path / "tb1").exists()
        else:
            assert callback.trace.steps.tolist() == [0, 2, 4]
            assert callback.trace.losses.tolist() == [1.0, 0.25, 0.0625]
            assert len(decoded(tmp_path / "rank0" / "clip.mp4")) == 3  # (an MP4 doubles the pixels: not its size)
            from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

            events = EventAccumulator(str(tmp_path / "tb0"), size_guidance={"images": 0})
            events.Reload()
            assert decoded(events.Images("convergence_anim")[0].encoded_image_string).shape == (3, 120, 160, 3)


def test_huggingface_callback_records_renders_and_changes_no_weight(tmp_path, monkeypatch):
    hf_example = example("huggingface_quadrants", "transformers")
    monkeypatch.chdir(tmp_path)
    model = hf_example.train(epochs=10, root="with")
    frames = decoded(tmp_path / "with" / "convergence.gif")
    assert frames.shape == (5, 480, 640, 3)  # steps 0, 10, 20, 30 and the last (39)
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 5

    import transformers

    monkeypatch.setattr(hf_example, "AnimationCallback", inert(transformers.TrainerCallback))
    plain = hf_example.train(epochs=10, root="without")
    assert same_weights(weights(model), weights(plain))


def test_huggingface_callback_loss_is_the_loss_the_trainer_logs_for_each_step(tmp_path):
    hf_example = example("huggingface_quadrants", "transformers")
    import torch
    from transformers import Trainer, TrainingArguments

    from convergence_anim.integrations.huggingface import AnimationCallback

    torch.manual_seed(1)
    x = torch.randn(40, 2)
    y = (x[:, 0] > 0).long()
    # Two micro-batches a step: the step's loss is their mean, as the Trainer logs it.
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=6, per_device_train_batch_size=10,
                             gradient_accumulation_steps=2, logging_steps=1, save_strategy="no",
                             report_to="none", disable_tqdm=True, use_cpu=True)
    callback = AnimationCallback(ca.scenes.DecisionBoundary(x, y, resolution=20), every=1, size=(160, 120))
    trainer = Trainer(model=hf_example.Quadrants(), args=args, callbacks=[callback],
                      train_dataset=[{"x": p, "labels": c} for p, c in zip(x, y)])
    trainer.train()
    logged = {entry["step"]: entry["loss"] for entry in trainer.state.log_history if "loss" in entry}
    assert sorted(logged) == [1, 2, 3, 4, 5, 6]
    assert callback.trace.steps.tolist() == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose(callback.trace.losses, [logged[s + 1] for s in range(6)], rtol=1e-4)
    assert len(decoded(callback.animation)) == 6


def test_tensorboard_log_animation_plays_the_trace_in_the_images_tab(tmp_path, monkeypatch):
    tensorboard_example = example("tensorboard_linear", "tensorboard")
    monkeypatch.chdir(tmp_path)
    trace = tensorboard_example.train(root="runs")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator("runs", size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    assert len(events.Scalars("loss")) == 1000  # the writer's own events are still there
    (image,) = events.Images("convergence_anim")
    frames = decoded(image.encoded_image_string)
    assert image.step == 999 and frames.shape == (len(trace), 360, 480, 3) == (51, 360, 480, 3)
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 2

    from convergence_anim.integrations.tensorboard import log_animation

    with pytest.raises(ca.UsageError, match=r"takes \.gif files, got 'clip\.mp4'; pass the trace"):
        log_animation("runs", tmp_path / "clip.mp4")
    with pytest.raises(ca.UsageError, match="SummaryWriter, a Lightning TensorBoardLogger or a log folder"):
        log_animation(42, trace)


def test_wandb_log_animation_logs_a_video_to_an_offline_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    wandb_example = example("wandb_linear", "wandb")
    trace = wandb_example.train()
    (video,) = (tmp_path / "wandb").glob("offline-run-*/files/media/videos/convergence_anim_999_*.gif")
    frames = decoded(video)
    assert frames.shape == (len(trace), 360, 480, 3)

    from convergence_anim.integrations.wandb import log_animation

    with pytest.raises(ca.UsageError, match=r"no W&B run is active: call wandb.init\(\) first, or pass run="):
        log_animation(trace)


def test_a_missing_framework_says_which_extra_to_install(monkeypatch):
    for module, extra, framework in [("lightning", "lightning", "lightning.pytorch"),
                                     ("huggingface", "huggingface", "transformers"),
                                     ("tensorboard", "tensorboard", "tensorboard"), ("wandb", "wandb", "wandb")]:
        monkeypatch.setitem(sys.modules, framework, None)  # as if it were not installed
        monkeypatch.delitem(sys.modules, f"convergence_anim.integrations.{module}", raising=False)
        with pytest.raises(ca.MissingDependencyError) as caught:
            importlib.import_module(f"convergence_anim.integrations.{module}")
        message = str(caught.value)
        assert isinstance(caught.value, ImportError) and "\n" not in message
        assert message.endswith(f"is not installed: pip install 'convergence-anim[{extra}]'"), message


def test_importing_the_package_imports_no_framework():
    code = ("import sys, convergence_anim, convergence_anim.integrations;"
            "print(sorted(m for m in ('lightning', 'transformers', 'tensorboard', 'wandb') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["lightning_quadrants", "huggingface_quadrants", "tensorboard_linear",
                                  "wandb_linear", "cluster_batch"])
def test_the_frameworks_page_shows_exactly_the_tested_examples(name):
    page = PAGE.read_text()
    marker = f"<!-- {name}.py:"
    block = page[page.index(marker):].split("```python\n", 1)[1].split("\n```\n", 1)[0]
    assert block + "\n" == (EXAMPLES / f"{name}.py").read_text()


@pytest.mark.parametrize("name", ["lightning_quadrants", "huggingface_quadrants", "tensorboard_linear",
                                  "wandb_linear"])
def test_each_example_adds_two_lines_to_the_users_script(name):
    added = [line for line in (EXAMPLES / f"{name}.py").read_text().splitlines() if line.endswith("# added")]
    assert len(added) == 2, added


def test_the_cluster_example_runs_its_batch_on_an_adaptive_cluster(tmp_path, monkeypatch):
    """docs/examples/cluster_batch.py with a LocalCluster standing in for its SLURMCluster: both are
    Dask ``Cluster`` objects, so ``adapt()``, ``Client(cluster)`` and the executor are the same calls."""
    distributed = pytest.importorskip("distributed")
    cluster_example = example("cluster_batch", "distributed")
    monkeypatch.chdir(EXAMPLES)  # where experiment.py is, as the example says to run it
    # Worker threads in this process (already past importing torch) keep the test quick; the batch
    # still goes through the scheduler, which adapt() scales from no worker at all.
    with distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        result = cluster_example.main(cluster, seeds="0-1", params={"lr": [0.05], "steps": [20]},
                                      folder=str(tmp_path / "runs"))
    assert [entry["status"] for entry in result.entries] == ["rendered", "rendered"]
    assert [len(decoded(tmp_path / "runs" / f"lr0.05-s{seed}.gif")) for seed in (0, 1)] == [3, 3]
    assert (tmp_path / "runs" / "summary.png").is_file() and result.manifest == tmp_path / "runs" / "batch.json"
