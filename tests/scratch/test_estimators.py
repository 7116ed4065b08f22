"""The NumPy estimators: scikit-learn's contract, agreement with it, the exact training rules."""

import numpy as np
import pytest
import sklearn.linear_model
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from nnlab.errors import ConfigError, NnlabError
from nnlab.scratch import (
    Autoencoder,
    LogisticRegression,
    MLPClassifier,
    Perceptron,
    ScratchValueError,
    SoftmaxRegression,
    TrainingDiverged,
    softmax,
)
from nnlab.scratch.perceptron import online_pass

# Small settings keep the ~50 checks per estimator fast; every check applies, none is expected to
# fail (pandas-based checks skip themselves where pandas is not installed).
CHECKED = [
    SoftmaxRegression(lr=0.1, batch_size=32, max_iter=200),
    LogisticRegression(lr=0.1, batch_size=32, max_iter=200),
    Perceptron(eta0=1.0, max_iter=20),
    MLPClassifier(hidden_layer_sizes=(16,), lr=0.1, max_iter=20),
    Autoencoder(hidden_layer_sizes=(4,), lr=0.01, loss_reduction="mean", max_iter=5),
]


@parametrize_with_checks(CHECKED)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.3, random_state=0, stratify=y)


def _pair(data, a, b):
    X_train, X_test, y_train, y_test = data
    keep, keep_test = np.isin(y_train, (a, b)), np.isin(y_test, (a, b))
    return X_train[keep], y_train[keep], X_test[keep_test], y_test[keep_test]


def test_softmax_regression_is_within_a_few_points_of_scikit_learn(digits):
    X_train, X_test, y_train, y_test = digits
    ours = SoftmaxRegression(lr=0.5, batch_size=64, max_iter=1500, alpha=1e-3, random_state=0)
    ours.fit(X_train, y_train)
    with threadpool_limits(1):  # lbfgs on many threads crawls on a busy 2-core machine
        theirs = sklearn.linear_model.LogisticRegression(max_iter=500).fit(X_train, y_train)
    assert theirs.score(X_test, y_test) > 0.93
    assert abs(ours.score(X_test, y_test) - theirs.score(X_test, y_test)) <= 0.03
    proba = ours.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(ours.classes_[proba.argmax(1)], ours.predict(X_test))


@pytest.mark.parametrize("pair", [(4, 9), (3, 8)])
def test_perceptron_and_logistic_regression_are_near_scikit_learn(digits, pair):
    X_train, y_train, X_test, y_test = _pair(digits, *pair)
    theirs = sklearn.linear_model.Perceptron(random_state=0).fit(X_train, y_train)
    ours = Perceptron(random_state=0).fit(X_train, y_train)
    assert abs(ours.score(X_test, y_test) - theirs.score(X_test, y_test)) <= 0.05
    assert ours.score(X_test, y_test) > 0.9
    logistic = LogisticRegression(lr=0.5, batch_size=32, max_iter=1000, random_state=0)
    logistic.fit(X_train, y_train)
    assert abs(logistic.score(X_test, y_test) - theirs.score(X_test, y_test)) <= 0.05
    p = logistic.predict_proba(X_test)[:, 1]
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-logistic.decision_function(X_test))))


def _plain_perceptron_pass(X, s, w, eta):
    """The textbook loop, one sample at a time: the reference for the batched pass."""
    mistakes = 0
    for x, label in zip(X, s, strict=True):
        if label * (x @ w) <= 0:
            w += eta * label * x
            mistakes += 1
    return mistakes


@pytest.mark.parametrize("run", [1, 8, 4096])
def test_batched_online_pass_is_the_per_sample_rule(digits, run):
    X_train, y_train, _, _ = _pair(digits, 4, 9)
    Xa = np.hstack([X_train, np.ones((len(X_train), 1))])
    s = np.where(y_train == 4, 1.0, -1.0)
    w0 = np.random.default_rng(0).normal(scale=0.01, size=Xa.shape[1])
    w_ref, w_ours = w0.copy(), w0.copy()
    for _ in range(3):
        expected = _plain_perceptron_pass(Xa, s, w_ref, 0.01)
        assert online_pass(Xa, s, w_ours, 0.01, run) == expected
        np.testing.assert_allclose(w_ours, w_ref, rtol=1e-12, atol=1e-15)


def test_perceptron_stops_when_the_mistake_rate_settles(digits):
    X_train, y_train, _, _ = _pair(digits, 3, 8)
    model = Perceptron(tol=1e-2, random_state=1).fit(X_train, y_train)
    rates = [r["mistake_rate"] for r in model.history_]
    assert model.n_iter_ == len(rates) < model.max_iter
    assert rates[-1] == 0 or abs(rates[-1] - rates[-2]) < 1e-2
    assert all(r != 0 for r in rates[:-1])
    assert all(abs(b - a) >= 1e-2 for a, b in zip(rates[:-2], rates[1:-1], strict=True))
    assert set(model.predict(X_train)) <= {3, 8}


def _hand_softmax_regression(X, y, k, lr, alpha, clip, steps):
    """Full-batch softmax regression written out, independent of `nnlab.scratch`."""
    W, b = np.zeros((k, X.shape[1])), np.zeros(k)
    Y = np.eye(k)[y]
    for _ in range(steps):
        P = softmax(X @ W.T + b)
        gW = (P - Y).T @ X / len(X) + alpha * W
        gb = (P - Y).mean(axis=0)
        norm = np.sqrt((gW**2).sum() + (gb**2).sum())
        scale = min(1.0, clip / norm)
        W, b = W - lr * scale * gW, b - lr * scale * gb
    return W, b


def test_softmax_regression_steps_are_sgd_with_l2_and_clipping(digits):
    X_train, _, y_train, _ = digits
    X, y = X_train[:200], y_train[:200]
    model = SoftmaxRegression(lr=0.3, batch_size=200, max_iter=7, alpha=0.05, clip_norm=0.42)
    model.fit(X, y)
    W, b = _hand_softmax_regression(X, y, 10, 0.3, 0.05, 0.42, 7)
    np.testing.assert_allclose(model.coef_, W, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-10, atol=1e-14)
    norms = [r["grad_norm"] for r in model.history_]
    assert min(norms) < 0.42 < max(norms)  # steps with and without clipping


def test_early_stopping_keeps_the_best_weights(digits):
    X_train, X_test, y_train, y_test = digits
    model = SoftmaxRegression(
        lr=2.0,
        batch_size=16,
        max_iter=3000,
        early_stopping=True,
        monitor="accuracy",
        patience=5,
        random_state=0,
    )
    model.fit(X_train, y_train, validation_data=(X_test, y_test))
    scored = [r for r in model.history_ if "val_acc" in r]
    best = max(scored, key=lambda r: r["val_acc"])
    assert model.stop_reason_ == "patience" and model.n_iter_ < 3000
    assert model.n_iter_ - model.best_iteration_ == 5  # five evaluations without improvement
    assert model.best_iteration_ == best["iteration"]
    assert model.score(X_test, y_test) == pytest.approx(best["val_acc"])


def test_target_accuracy_stops_as_soon_as_it_is_reached(digits):
    X_train, X_test, y_train, y_test = digits
    model = SoftmaxRegression(lr=0.5, batch_size=32, max_iter=3000, target_accuracy=0.9)
    model.fit(X_train, y_train, validation_data=(X_test, y_test))
    accs = [r["val_acc"] for r in model.history_]
    assert model.stop_reason_ == "target"
    assert accs[-1] >= 0.9 and max(accs[:-1]) < 0.9


def test_mlp_learns_digits_and_records_each_epoch(digits):
    X_train, X_test, y_train, y_test = digits
    model = MLPClassifier(hidden_layer_sizes=(32,), lr=0.3, max_iter=15, random_state=0)
    model.fit(X_train, y_train, validation_data=(X_test, y_test))
    assert [r["epoch"] for r in model.history_] == list(range(16))
    assert model.history_[-1]["val_acc"] == pytest.approx(model.score(X_test, y_test))
    assert model.score(X_test, y_test) > 0.9
    assert model.loss_curve_[-1] < model.history_[0]["train_loss"] / 5
    assert not np.array_equal(model.initial_coefs_[0], model.coefs_[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda epochs: SoftmaxRegression(lr=0.3, batch_size=10_000, max_iter=epochs),
        lambda epochs: MLPClassifier(hidden_layer_sizes=(8,), max_iter=epochs, random_state=3),
        lambda epochs: Perceptron(tol=None, max_iter=epochs, random_state=3),
    ],
    ids=["softmax", "mlp", "perceptron"],
)
def test_partial_fit_epochs_are_fit_epochs(digits, make):
    X_train, y_train, _, _ = _pair(digits, 3, 8)
    fitted = make(2).fit(X_train, y_train)
    online = make(1)
    for _ in range(2):
        online.partial_fit(X_train, y_train, classes=[3, 8])
    for ours, theirs in zip(_weights(online), _weights(fitted), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def _weights(model) -> list[np.ndarray]:
    if isinstance(model, MLPClassifier):
        return model.coefs_ + model.intercepts_
    return [model.coef_, model.intercept_]


def test_partial_fit_needs_every_class_first_then_accepts_batches_missing_some(digits):
    X_train, y_train, _, _ = _pair(digits, 3, 8)
    model = SoftmaxRegression(batch_size=16)
    with pytest.raises(ScratchValueError, match="partial_fit needs `classes`"):
        model.partial_fit(X_train, y_train)
    model.partial_fit(X_train, y_train, classes=[3, 5, 8])
    model.partial_fit(X_train[y_train == 3], y_train[y_train == 3])  # one class only: fine
    assert model.classes_.tolist() == [3, 5, 8] and model.coef_.shape == (3, 64)
    with pytest.raises(ScratchValueError, match=r"labels \[4\] are not among"):
        model.partial_fit(X_train[:2], [4, 3])
    with pytest.raises(ScratchValueError, match="expecting 64 features"):
        model.partial_fit(X_train[:, :10], y_train)


def test_float32_is_selectable():
    X, y = load_digits(return_X_y=True)
    model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, dtype="float32").fit(X / 16, y)
    assert model.coefs_[0].dtype == np.float32 and model.predict_proba(X).dtype == np.float32
    linear = SoftmaxRegression(max_iter=3, dtype="float32").fit(X / 16, y)
    assert linear.coef_.dtype == np.float32


def test_divergence_is_an_nnlab_error():
    X, y = load_digits(return_X_y=True)
    model = MLPClassifier(hidden_layer_sizes=(8,), activation="identity", lr=1e6, max_iter=5)
    with pytest.raises(TrainingDiverged, match="lr=1e\\+06") as caught, np.errstate(all="ignore"):
        model.fit(X, y)
    assert isinstance(caught.value, NnlabError)
    assert len(model.history_) >= 1  # the epochs before the divergence stay readable


def test_autoencoder_reconstructs_and_encodes(digits):
    X_train, X_test, _, _ = digits
    model = Autoencoder(
        hidden_layer_sizes=(24, 12, 24),
        lr=0.3,
        loss_reduction="mean",
        momentum=0.5,
        max_iter=30,
        random_state=0,
    )
    model.fit(X_train, validation_data=X_test)
    assert model.transform(X_test).shape == (len(X_test), 12)  # the middle layer's code
    out = model.reconstruct(X_test)
    assert out.shape == X_test.shape and out.min() > 0 and out.max() < 1
    per_image = ((out - X_test) ** 2).sum(axis=1).mean()
    assert model.score(X_test) == pytest.approx(-per_image)
    assert model.history_[-1]["val_loss"] == pytest.approx(per_image)
    assert per_image < 0.5 * ((X_test - X_train.mean(0)) ** 2).sum(axis=1).mean()  # beats the mean


def test_bad_settings_name_the_setting_and_what_is_allowed():
    X, y = load_digits(return_X_y=True)
    with pytest.raises(
        ScratchValueError,
        match="'lr' parameter of SoftmaxRegression must be a "
        "float in the range \\(0, inf\\). Got -1 instead",
    ) as caught:
        SoftmaxRegression(lr=-1).fit(X, y)
    assert isinstance(caught.value, ConfigError) and isinstance(caught.value, ValueError)
    with pytest.raises(ScratchValueError, match="Only binary classification"):
        Perceptron().fit(X, y)
    with pytest.raises(ScratchValueError, match="'activation' parameter of MLPClassifier"):
        MLPClassifier(activation="swish").fit(X, y)
