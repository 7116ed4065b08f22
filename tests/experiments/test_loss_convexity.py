"""`loss-convexity`: its losses against nnlab.scratch and finite differences, the Hessians'
signs by hand, and the smoke run's report."""

import numpy as np
import pytest

from nnlab.experiments.loss_convexity import CASES, Config, loss_and_grad, make_problem
from nnlab.scratch import binary_cross_entropy_with_logits, sigmoid, squared_error


@pytest.fixture(scope="module")
def problem():
    return make_problem(Config(), seed=0)


def test_losses_match_nnlab_scratch_and_finite_differences(problem):
    x, y = problem
    beta = np.array([[0.3, -1.2], [2.0, 0.5]])
    for model, loss in CASES:
        value, grad = loss_and_grad(beta, x, y, model, loss)
        for b, v in zip(beta, value, strict=True):
            z = b[0] + b[1] * x
            if loss == "cross-entropy":
                expected = binary_cross_entropy_with_logits(z, y)[0]
            else:
                expected = squared_error(sigmoid(z) if model == "logistic" else z, y)[0]
            assert v == pytest.approx(expected, rel=1e-12)
        h = 1e-6
        for j in range(2):
            step = np.eye(2)[j] * h
            numeric = (
                loss_and_grad(beta + step, x, y, model, loss)[0]
                - loss_and_grad(beta - step, x, y, model, loss)[0]
            ) / (2 * h)
            np.testing.assert_allclose(grad[:, j], numeric, rtol=1e-6, atol=1e-10)


def test_hessian_signs_by_hand(problem):
    """CE's Hessian mean σ'(z) φφᵀ is PSD everywhere; the squared error's is not."""
    x, y = problem
    phi = np.stack([np.ones_like(x), x], axis=1)  # [n, 2]
    rng = np.random.default_rng(0)
    min_eig = {"ce": np.inf, "mse": np.inf}
    for b in rng.uniform(-10, 10, size=(300, 2)):
        p = sigmoid(b[0] + b[1] * x)
        s1 = p * (1 - p)
        mse_curv = 2 * (s1**2 + (p - y) * s1 * (1 - 2 * p))  # d²(σ(z) − y)²/dz²
        for name, c in (("ce", s1), ("mse", mse_curv)):
            hessian = (phi * c[:, None]).T @ phi / len(x)
            min_eig[name] = min(min_eig[name], np.linalg.eigvalsh(hessian)[0])
    assert min_eig["ce"] >= 0 and min_eig["mse"] < -1e-3


def test_smoke_run_reports_surfaces_curvature_and_descent(smoke_run):
    run_dir, metrics = smoke_run("loss-convexity")
    for name in ("curvature", "descent"):
        assert (run_dir / "tables" / f"{name}.csv").is_file()
    assert (run_dir / "figures" / "surfaces.png").is_file()
    negative = {k.split(".")[1]: v for k, v in metrics.items() if k.endswith("lines_with_negative")}
    assert negative.pop("logistic_squared_error") > 0
    assert set(negative.values()) == {0}
    levels = {k.split(".")[1]: v for k, v in metrics.items() if k.endswith(".end_levels")}
    assert levels.pop("logistic_squared_error") > 1
    assert set(levels.values()) == {1}
    assert metrics["verdict.held"] is True
    assert (
        metrics["verdict.logistic_mse_end_levels"]
        == metrics["descent.logistic_squared_error.end_levels"]
    )
    assert "> **Claim held.** Along" in (run_dir / "report.md").read_text()
