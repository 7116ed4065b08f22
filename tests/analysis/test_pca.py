"""PCA against scikit-learn; class statistics by hand; 95% ellipses against a known Gaussian."""

import numpy as np
import pytest
from sklearn.decomposition import PCA

from nnlab.analysis.pca import class_stats, confidence_ellipse, pca
from nnlab.errors import ConfigError


@pytest.mark.parametrize("n, d", [(300, 12), (20, 50)])  # covariance route, then SVD route
def test_pca_matches_scikit_learn_up_to_sign(n, d):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 3.0
    ours = pca(X, 3)
    ref = PCA(n_components=3, svd_solver="full").fit(X)
    signs = np.sign(np.sum(ours.components * ref.components_, axis=1))
    assert np.all(np.abs(signs) == 1)
    np.testing.assert_allclose(ours.components, ref.components_ * signs[:, None], atol=1e-10)
    np.testing.assert_allclose(ours.points, ref.transform(X) * signs, atol=1e-9)
    np.testing.assert_allclose(ours.explained_variance, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(
        ours.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-10
    )
    # the fixed sign: each component's largest-magnitude loading is positive
    rows = np.arange(3)
    assert np.all(ours.components[rows, np.abs(ours.components).argmax(1)] > 0)


def test_pca_refuses_impossible_component_counts():
    with pytest.raises(ConfigError, match="1 to 4 components"):
        pca(np.zeros((10, 4)), 5)


def test_class_stats_are_the_direct_means_and_variances():
    rng = np.random.default_rng(1)
    points, labels = rng.normal(size=(50, 2)), rng.integers(0, 3, size=50)
    rows = class_stats(points, labels, ["a", "b", "c", "unused"])
    assert [r["class"] for r in rows] == ["a", "b", "c"]
    for k, row in enumerate(rows):
        mine = points[labels == k]
        assert row["n"] == len(mine)
        assert row["centroid_pc1"] == pytest.approx(mine[:, 0].mean())
        assert row["centroid_pc2"] == pytest.approx(mine[:, 1].mean())
        assert row["var_pc1"] == pytest.approx(np.var(mine[:, 0], ddof=1))
        assert row["var_pc2"] == pytest.approx(np.var(mine[:, 1], ddof=1))


def test_ellipse_holds_95_percent_of_a_known_gaussian():
    rng = np.random.default_rng(2)
    mean = np.array([1.5, -2.0])
    cov = np.array([[3.0, 1.2], [1.2, 1.0]])
    fitted_on = rng.multivariate_normal(mean, cov, size=10_000)
    ellipse = confidence_ellipse(fitted_on, 0.95)
    assert ellipse.quantile == pytest.approx(-2 * np.log(0.05))  # chi2(2) quantile: 5.991
    fresh = rng.multivariate_normal(mean, cov, size=10_000)
    inside = ellipse.contains(fresh).mean()
    assert abs(inside - 0.95) < 0.01  # binomial sd 0.0022
    # the axes from the true covariance's eigen-decomposition
    values, vectors = np.linalg.eigh(cov)
    np.testing.assert_allclose(ellipse.semi_axes, np.sqrt(5.991 * values[::-1]), rtol=0.03)
    major_angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])) % 180
    assert abs(ellipse.angle % 180 - major_angle) < 2.0
    assert confidence_ellipse(fitted_on, 0.5).contains(fresh).mean() == pytest.approx(0.5, abs=0.02)


def test_drawn_patch_covers_the_same_points():
    rng = np.random.default_rng(3)
    points = rng.multivariate_normal([0, 0], [[2.0, -1.5], [-1.5, 2.0]], size=2_000)
    ellipse = confidence_ellipse(points)
    patch = ellipse.patch()
    outline = patch.get_patch_transform().transform_path(patch.get_path())
    drawn = outline.contains_points(points)
    # the drawn outline is made of Bezier curves: points within a hair of the edge may differ
    assert (drawn != ellipse.contains(points)).mean() < 0.003
    assert patch.get_fill() is False


def test_degenerate_points_are_refused():
    with pytest.raises(ConfigError, match="on a line"):
        confidence_ellipse(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
    with pytest.raises(ConfigError, match="level"):
        confidence_ellipse(np.eye(3)[:, :2], 1.0)
