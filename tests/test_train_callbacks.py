"""The trainer's pieces: callbacks (hooks, state across a resume, stopping), batches (tables and graphs)."""

from __future__ import annotations

import json
import re

import pytest
import torch

import rpnkit as rk
import rpnkit.data as rd
from rpnkit.train import Callback, Trainer, seed_everything
from rpnkit.train.batches import GraphBatches, TabularBatches, make_batches
from rpnkit.train.callbacks import EarlyStopping, Tracker


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


class Recorder(Callback):
    """Counts epochs across a resume (its count is training state) and logs the hooks it sees."""

    state_key = "recorder"

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[str] = []
        self.epochs_seen = 0
        self.stop_after = stop_after

    def on_fit_start(self, trainer):
        self.calls.append("fit_start")

    def on_epoch_start(self, trainer, epoch):
        self.calls.append(f"epoch_start {epoch}")

    def on_batch_end(self, trainer, batch, loss):
        self.calls.append("batch")

    def on_epoch_end(self, trainer, record):
        self.epochs_seen += 1
        self.calls.append(f"epoch_end {record['epoch']}")
        if self.stop_after is not None and record["epoch"] >= self.stop_after:
            trainer.should_stop = True

    def on_train_end(self, trainer):
        self.calls.append("train_end")

    def on_fit_end(self, trainer, result):
        self.calls.append(f"fit_end {result.epochs_run}")

    def state_dict(self):
        return {"epochs_seen": self.epochs_seen}

    def load_state_dict(self, state):
        self.epochs_seen = state["epochs_seen"]


def iris_model():
    seed_everything(0)
    return rk.RPN([4, 3], head={"expansion": "taylor"})


def test_hooks_run_in_order_with_one_call_per_batch():
    data = rd.load("iris", val_fraction=0.2)
    recorder = Recorder()
    Trainer(iris_model(), epochs=2, batch_size=40, quiet=True, callbacks=[recorder]).fit(data)
    batches = ["batch"] * 3  # 96 training rows in batches of 40
    assert recorder.calls == [
        "fit_start",
        "epoch_start 1",
        *batches,
        "epoch_end 1",
        "epoch_start 2",
        *batches,
        "epoch_end 2",
        "train_end",
        "fit_end 2",
    ]


def test_a_callback_can_stop_training():
    data = rd.load("iris", val_fraction=0.2)
    result = Trainer(iris_model(), epochs=5, quiet=True, callbacks=[Recorder(stop_after=2)]).fit(data)
    assert result.stopped_early and result.epochs_run == 2 and len(result.history) == 2


def test_callback_state_survives_a_resume(tmp_path):
    data = rd.load("iris", val_fraction=0.2)

    def interrupt(trainer, epoch, record):
        if epoch == 2:
            raise KeyboardInterrupt

    first = Recorder()
    with pytest.raises(KeyboardInterrupt):
        Trainer(iris_model(), epochs=4, run_dir=tmp_path, quiet=True, callbacks=[first, interrupt]).fit(data)
    assert first.epochs_seen == 2
    second = Recorder()
    result = Trainer(iris_model(), epochs=4, run_dir=tmp_path, quiet=True, callbacks=[second]).fit(data, resume=True)
    assert second.epochs_seen == 4 and result.epochs_run == 4
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    csv = (tmp_path / "history.csv").read_text().splitlines()
    assert csv[0].split(",") == list(history[0]) and len(csv) == 5


def test_graph_runs_resume_bit_identically(tmp_path):
    data = rd.load("sbm", num_nodes=90, num_classes=3, num_features=6, num_val=20, num_test=30, train_per_class=10)

    def fit(folder, callbacks=(), resume=False):
        seed_everything(0)
        model = rk.RPN([6, 3], head={"expansion": "taylor", "output_processing": {"name": "dropout", "p": 0.3}})
        trainer = Trainer(model, epochs=5, optimizer={"name": "adam", "lr": 0.05}, run_dir=folder, quiet=True,
                          early_stopping=10, callbacks=callbacks)  # fmt: skip
        return model, trainer.fit(data, resume=resume)

    def interrupt(trainer, epoch, record):
        if epoch == 3:
            raise KeyboardInterrupt

    straight_model, straight = fit(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path / "b", [interrupt])
    resumed_model, resumed = fit(tmp_path / "b", resume=True)
    for key, value in straight_model.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[key]), key
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in straight.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in resumed.history]
    assert straight.test == resumed.test


def test_tracker_and_early_stopping_from_a_spec():
    tracker = Tracker("max", min_delta=0.1)
    assert tracker.update(0.5, 1) and not tracker.update(0.55, 2) and tracker.update(0.7, 3)
    assert (tracker.best, tracker.best_epoch, tracker.bad_epochs, tracker.improved) == (0.7, 3, 0, True)
    spec = {"patience": 2, "monitor": None, "mode": "auto", "min_delta": 0.0}
    stopper = EarlyStopping.from_spec(spec, "val_accuracy", has_val=True)
    assert stopper.monitor == "val_accuracy" and stopper.tracker.mode == "max"
    with pytest.raises(rk.ConfigError, match=r"train\.early_stopping\.monitor: 'val_loss' needs a validation split"):
        EarlyStopping.from_spec({**spec, "monitor": "val_loss"}, "train_loss", has_val=False)


def test_tabular_batches_cover_the_training_rows_once_per_epoch():
    data = rd.load("iris", val_fraction=0.2)
    generator = torch.Generator().manual_seed(0)
    batches = make_batches(data, torch.device("cpu"), 40, 7, generator)
    assert isinstance(batches, TabularBatches) and batches.num_batches == 3
    seen = list(batches.train())
    assert [b.size for b in seen] == [40, 40, 16] and all(b.mask is None for b in seen)
    rows = torch.cat([b.inputs for b in seen])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, data.x_train.tolist()))
    model = torch.nn.Linear(4, 3)
    output, targets = batches.outputs(model, "val")  # in chunks of 7
    torch.testing.assert_close(output, model(data.x_val).detach())
    assert torch.equal(targets, data.y_val) and batches.has("val") and batches.has("test")


def test_graph_batches_are_the_whole_graph_with_a_mask():
    data = rd.load("sbm", num_nodes=60, num_classes=2, num_features=4, num_val=10, num_test=20, train_per_class=5)
    batches = make_batches(data, torch.device("cpu"), 16, 16)
    assert isinstance(batches, GraphBatches) and batches.num_batches == 1 and batches.train_size == 10
    (batch,) = list(batches.train())
    assert batch.inputs.shape == (60, 4) and torch.equal(batch.mask, data.train_mask) and batch.size == 10
    out, y = batch.select(batch.inputs)
    assert out.shape == (10, 4) and torch.equal(y, data.y[data.train_mask])
    model = torch.nn.Linear(4, 2)
    output, targets = batches.outputs(model, "test")
    torch.testing.assert_close(output, model(data.x)[data.test_mask].detach())
    assert torch.equal(targets, data.y[data.test_mask])


def test_progress_bar_shows_samples_per_second_and_the_runs_eta():
    from rpnkit.train.callbacks import ProgressBar, progress_postfix

    assert progress_postfix(12345.6, 3725.0) == "12,346 samples/s, run ETA 1:02:05"
    assert progress_postfix(80.4, 65.0) == "80 samples/s, run ETA 01:05"
    assert progress_postfix(80.0, None) == "80 samples/s, run ETA ?"

    bars = []

    class FakeBar:  # what ProgressBar uses of tqdm
        def __init__(self, total, desc, **kwargs):
            self.total, self.desc, self.n, self.postfixes, self.closed = total, desc, 0, [], False
            bars.append(self)

        def update(self, k):
            self.n += k

        def set_postfix_str(self, text, refresh=True):
            self.postfixes.append(text)

        def close(self):
            self.closed = True

    bar = ProgressBar()
    bar._tqdm = FakeBar
    data = rd.load_tabular("iris", seed=0)  # 120 training rows: 3 batches of 40 per epoch
    Trainer(iris_model(), epochs=3, batch_size=40, quiet=True, callbacks=[bar]).fit(data)
    assert [b.desc for b in bars] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all(b.closed and len(b.postfixes) == 3 for b in bars)
    pattern = r"^[\d,]+ samples/s, run ETA (\d\d:\d\d|\d+:\d\d:\d\d)$"
    for text in bars[0].postfixes + bars[1].postfixes:
        assert re.match(pattern, text), text
    assert bars[-1].postfixes[-1].endswith("run ETA 00:00")  # nothing left after the last batch
    assert bar._samples == 120  # the last epoch's training rows


def test_a_run_ends_with_wall_time_peak_memory_and_its_folder(tmp_path):
    from rpnkit.train import run

    lines: list[str] = []
    config = {
        "model": {"dims": ["auto", "auto"], "head": {"expansion": "taylor"}},
        "data": {"name": "iris", "val_fraction": 0.2},
        "train": {"epochs": 1},
        "output": {"plots": False},
    }
    run(config, out=tmp_path / "r", log=lines.append)
    last = lines[-1]
    assert last.startswith("done in ") and "peak memory RSS" in last and str(tmp_path / "r") in last
