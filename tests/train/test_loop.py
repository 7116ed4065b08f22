"""`fit` and `evaluate`: known accuracy, scores equal to a direct computation, history, errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.data import ImageSet, load
from nnlab.data.transforms import to_signed
from nnlab.errors import ConfigError, DivergedError, NnlabError
from nnlab.train import ProgressBar, evaluate, fit, resolve_device

KEYS = {"step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"}


@pytest.fixture(scope="module")
def digits():
    """The embedded 8x8 digits: (train 1438, test 359) images, 10 classes."""
    return load("digits", "train"), load("digits", "test")


def _mlp(seed=0, hidden=32):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def _logreg(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))


def _sgd(model, lr=0.1):
    return torch.optim.SGD(model.parameters(), lr=lr)


def _no_seconds(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def test_fit_reaches_known_accuracy(digits):
    train, test = digits
    model = _mlp()
    history = fit(
        model,
        train,
        test,
        epochs=10,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
        transform=to_signed,
        precision="fp32",  # as evaluate's: "auto" is bf16 autocast on a CPU with native bf16
    )
    scores = evaluate(model, test, transform=to_signed)
    assert scores.accuracy >= 0.9
    assert history[-1]["val_acc"] == scores.accuracy
    assert history[-1]["val_loss"] == pytest.approx(scores.loss, abs=1e-9)
    assert history[-1]["train_loss"] < history[0]["train_loss"]


class _ModeSpy(nn.Module):
    """A linear model that records whether it ran in training mode."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(64, 10)
        self.modes = []

    def forward(self, x):
        self.modes.append(self.training)
        return self.fc(x.flatten(1))


def test_evaluate_equals_a_direct_whole_set_computation(digits):
    _, test = digits
    model = _ModeSpy()
    model.train()
    # 359 images in batches of 100: the last batch is smaller and must weigh less
    scores = evaluate(model, test, batch_size=100, transform=to_signed)
    with torch.no_grad():
        output = model.fc(to_signed(test.x).flatten(1))
    assert scores.loss == pytest.approx(F.cross_entropy(output, test.y).item(), abs=1e-6)
    assert scores.accuracy == (output.argmax(1) == test.y).double().mean().item()
    assert scores.predictions.dtype == torch.int64 and scores.predictions.device.type == "cpu"
    assert torch.equal(scores.predictions, output.argmax(1))
    assert model.modes == [False] * 4  # eval mode inside, 4 batches
    assert model.training  # and the previous mode restored


def test_a_lone_last_image_is_left_out_so_batchnorm_can_train():
    """65 images in batches of 32: two steps an epoch, not a third on one image (which
    BatchNorm refuses in training mode); the order still reaches every image over the epochs."""
    torch.manual_seed(0)
    images = ImageSet(
        torch.randint(0, 256, (65, 1, 4, 4), dtype=torch.uint8),
        torch.arange(65) % 2,
        ("a", "b"),
        "tiny",
        "train",
    )
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.BatchNorm1d(8), nn.Linear(8, 2))
    seen = []
    model[0].register_forward_hook(lambda m, args, out: seen.append(len(args[0])))
    history = fit(
        model, images, epochs=3, optimizer=_sgd(model), transform=to_signed, batch_size=32
    )
    assert [r["step"] for r in history] == [2, 4, 6]
    assert seen == [32] * 6


def test_fit_switches_modes_and_restores_the_callers(digits):
    train, test = digits
    model = _ModeSpy()
    model.eval()
    fit(model, train, test, steps=3, optimizer=_sgd(model), transform=to_signed, batch_size=512)
    assert model.modes == [True, True, True, False]  # 3 steps, then one evaluation batch
    assert not model.training


def test_one_record_per_epoch_by_default(digits):
    train, test = digits
    model = _logreg()
    history = fit(model, train, test, epochs=3, optimizer=_sgd(model), transform=to_signed)
    per_epoch = math.ceil(len(train) / 64)
    assert [r["step"] for r in history] == [per_epoch, 2 * per_epoch, 3 * per_epoch]
    assert history.column("epoch") == [1.0, 2.0, 3.0]
    assert all(set(r) == KEYS for r in history)
    assert history.column("lr") == [0.1] * 3
    seconds = history.column("seconds")
    assert all(0 < a < b for a, b in zip(seconds, seconds[1:], strict=False))
    assert history.stop_reason is None


def test_eval_every_gives_records_at_multiples_and_the_last_step(digits):
    train, _ = digits
    model = _logreg()
    history = fit(model, train, steps=50, eval_every=20, optimizer=_sgd(model), transform=to_signed)
    assert [r["step"] for r in history] == [20, 40, 50]
    assert history.column("epoch") == pytest.approx([20 / 23, 40 / 23, 50 / 23])
    assert set(history[0]) == KEYS - {"val_loss", "val_acc"}


def test_train_metrics_are_means_over_the_images_seen(digits):
    # with lr = 0 the model never changes, so one epoch's train_loss/train_acc are the whole
    # training set's loss and accuracy, computed here directly
    train, _ = digits
    model = _logreg()
    history = fit(model, train, epochs=1, optimizer=_sgd(model, lr=0.0), transform=to_signed,
                  precision="fp32")  # fmt: skip
    with torch.no_grad():
        output = model(to_signed(train.x))
    assert history[0]["train_loss"] == pytest.approx(F.cross_entropy(output, train.y).item())
    assert history[0]["train_acc"] == (output.argmax(1) == train.y).double().mean().item()


def test_fit_is_deterministic_on_cpu(digits):
    train, test = digits
    runs = []
    for seed in (0, 0, 1):
        model = nn.Sequential(_mlp(), nn.Dropout(0.3))  # dropout draws from the global RNG
        torch.manual_seed(5)
        history = fit(
            model,
            train,
            test,
            epochs=2,
            optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
            transform=to_signed,
            seed=seed,
        )
        runs.append((model.state_dict(), _no_seconds(history)))
    (w0, h0), (w1, h1), (w2, h2) = runs
    assert all(torch.equal(w0[k], w1[k]) for k in w0) and h0 == h1
    assert not all(torch.equal(w0[k], w2[k]) for k in w0)  # another batch order


def test_accuracy_false_drops_train_acc_and_changes_nothing_else(digits, capsys):
    train, _ = digits
    histories = []
    for accuracy in (True, False):
        model = _logreg()
        history = fit(
            model,
            train,
            epochs=2,
            optimizer=_sgd(model),
            transform=to_signed,
            accuracy=accuracy,
            callbacks=[ProgressBar("spy")],
        )
        histories.append((model.state_dict(), _no_seconds(history)))
    (w_with, h_with), (w_without, h_without) = histories
    assert all(torch.equal(w_with[k], w_without[k]) for k in w_with)
    assert h_without == [{k: v for k, v in r.items() if k != "train_acc"} for r in h_with]
    lines = capsys.readouterr().err.strip().splitlines()  # not a terminal: a line per epoch
    assert " acc " in lines[0] and " acc " not in lines[-1]


def test_scheduler_per_epoch_and_per_step(digits):
    train, _ = digits
    model = _logreg()
    optimizer = _sgd(model)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(
        model, train, epochs=3, optimizer=optimizer, scheduler=scheduler, transform=to_signed
    )
    assert history.column("lr") == [0.1, 0.05, 0.025]  # the lr each epoch trained with
    assert optimizer.param_groups[0]["lr"] == 0.1 * 0.5**3

    model = _logreg()
    optimizer = _sgd(model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 / (1 + step))
    history = fit(
        model,
        train,
        steps=10,
        optimizer=optimizer,
        scheduler=scheduler,
        scheduler_interval="step",
        transform=to_signed,
    )
    assert history.column("lr") == [pytest.approx(0.1 / 10)]  # step 10 trained with lr(9)


def test_a_plateau_scheduler_steps_at_each_evaluation(digits):
    # threshold 10 (absolute): no change of val_loss counts as an improvement, so after the
    # first evaluation every one halves the lr (patience 0)
    train, test = digits
    model = _logreg()
    optimizer = _sgd(model)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.5, patience=0, threshold=10, threshold_mode="abs"
    )
    history = fit(
        model,
        train,
        test,
        steps=40,
        eval_every=10,
        optimizer=optimizer,
        scheduler=scheduler,
        transform=to_signed,
    )
    assert history.column("lr") == [0.1, 0.1, 0.05, 0.025]


def test_eval_transform_applies_to_the_evaluation_only(digits):
    train, test = digits
    model = _logreg()
    blank = lambda x: torch.zeros(x.shape)  # noqa: E731 - every image blank: output = bias
    history = fit(
        model,
        train,
        test,
        steps=5,
        optimizer=_sgd(model),
        transform=to_signed,
        eval_transform=blank,
        precision="fp32",  # the reference below is float32
    )
    bias = model[1].bias.detach().expand(len(test), 10)
    assert history[0]["val_loss"] == pytest.approx(F.cross_entropy(bias, test.y).item())
    real = evaluate(model, test, transform=to_signed).loss  # and fit's default would differ
    assert abs(real - history[0]["val_loss"]) > 1e-3


def _nan_at_step(bad_step):
    """A cross-entropy loss that returns nan at the `bad_step`-th call."""
    calls = []

    def loss(output, y):
        calls.append(1)
        value = F.cross_entropy(output, y)
        return value * math.nan if len(calls) == bad_step else value

    return loss


def test_a_nan_loss_stops_the_fit_naming_the_step_and_the_lr(digits):
    train, _ = digits
    model = _logreg()
    expected = r"became nan at step 3 \(epoch 1\).*learning rate 0\.1"
    with pytest.raises(DivergedError, match=expected):
        fit(
            model,
            train,
            epochs=1,
            optimizer=_sgd(model),
            loss=_nan_at_step(3),
            transform=to_signed,
        )
    # on the CPU the bad step is caught before it reaches the weights
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_a_huge_learning_rate_diverges_with_a_clear_error(digits):
    train, _ = digits
    model = _mlp()
    with pytest.raises(NnlabError, match=r"at step \d+ .*learning rate 1e\+20.*GradClip"):
        fit(model, train, epochs=5, optimizer=_sgd(model, lr=1e20), transform=to_signed)


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({}, "exactly one of epochs and steps"),
        ({"epochs": 1, "steps": 5}, "exactly one of epochs and steps"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"steps": 2.5}, "steps must be a positive integer"),
        ({"epochs": 1, "batch_size": 0}, "batch_size"),
        ({"epochs": 1, "eval_every": 0}, "eval_every"),
        ({"epochs": 1, "eval_batch_size": -1}, "eval_batch_size"),
        ({"epochs": 1, "scheduler_interval": "batch"}, "scheduler_interval"),
        ({"epochs": 1, "device": "tpu"}, "device 'tpu'.*cpu"),
        ({"epochs": 1, "callbacks": [object()]}, "Callback instances"),
    ],
)
def test_bad_settings_are_config_errors(digits, settings, match):
    train, _ = digits
    model = _logreg()
    with pytest.raises(ConfigError, match=match):
        fit(model, train, optimizer=_sgd(model), **settings)


def test_an_empty_set_is_a_config_error(digits):
    train, _ = digits
    empty = ImageSet(train.x[:0], train.y[:0], train.classes, "digits", "none")
    model = _logreg()
    with pytest.raises(ConfigError, match="empty"):
        fit(model, train, empty, epochs=1, optimizer=_sgd(model))
    with pytest.raises(ConfigError, match="empty"):
        evaluate(model, empty)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device(None).type == expected
    assert resolve_device("auto").type == expected
    with pytest.raises(ConfigError, match="not a device name"):
        resolve_device("gpu")
    missing = f"cuda:{torch.cuda.device_count()}"  # one past the last GPU, or any without one
    with pytest.raises(ConfigError, match=f"{missing!r} is not available.*cpu"):
        resolve_device(missing)


def test_history_column_and_best(digits):
    train, test = digits
    model = _logreg()
    history = fit(model, train, test, epochs=3, optimizer=_sgd(model), transform=to_signed)
    losses = history.column("val_loss")
    assert history.best("val_loss", "min")["val_loss"] == min(losses)
    assert history.best("val_acc")["val_acc"] == max(history.column("val_acc"))
    with pytest.raises(ConfigError, match="grad_norm.*train_loss"):
        history.column("grad_norm")


# ---- CUDA (run on a GPU machine)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 64, 10)
    )


@needs_cuda
def test_cuda_fit_with_acceleration_learns_and_keeps_the_sets_on_the_device(digits):
    train, test = digits
    model = _cnn()
    history = fit(
        model,
        train,
        test,
        epochs=10,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
        transform=to_signed,
        device="cuda",
    )
    assert next(model.parameters()).is_cuda
    assert history[-1]["val_acc"] >= 0.9
    # the bf16 evaluation inside fit agrees with a float32 one
    scores = evaluate(model, test, transform=to_signed)
    assert abs(scores.accuracy - history[-1]["val_acc"]) <= 0.02


@needs_cuda
def test_cuda_nan_check_names_the_first_bad_step(digits):
    train, _ = digits
    model = _cnn()
    with pytest.raises(NnlabError, match="at step 3 "):
        fit(
            model,
            train,
            epochs=4,
            optimizer=_sgd(model),
            loss=_nan_at_step(3),
            transform=to_signed,
            device="cuda",
        )


@needs_cuda
@pytest.mark.slow
def test_cuda_compiled_fit_matches_an_uncompiled_one_closely(digits):
    train, test = digits
    results = []
    for precision, compile_ in (("auto", True), ("fp32", False)):
        model = _cnn()
        history = fit(
            model,
            train,
            test,
            steps=500,  # long enough to compile
            optimizer=torch.optim.Adam(model.parameters(), lr=1e-3),
            transform=to_signed,
            device="cuda",
            precision=precision,
            compile=compile_,
        )
        results.append(history[-1]["val_acc"])
        assert not any(k.startswith("_orig_mod") for k in model.state_dict())
    assert results[0] >= 0.9 and abs(results[0] - results[1]) <= 0.03
