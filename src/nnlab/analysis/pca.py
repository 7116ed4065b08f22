"""Principal component projection, per-class statistics and confidence ellipses in the 2-D view.

`pca(X, 2)` projects images (flattened) onto their top principal components; `class_stats`
gives each class's centroid and variances there, and `confidence_ellipse` the region that holds
a given fraction (95%) of a 2-D Gaussian with the class's mean and covariance: the points whose
squared Mahalanobis distance is at most the chi-square quantile with 2 degrees of freedom.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.patches import Ellipse as EllipsePatch
from scipy.stats import chi2

from nnlab.errors import ConfigError


@dataclass(frozen=True)
class Projection:
    """Data projected onto its principal components.

    Attributes
    ----------
    points : np.ndarray
        float64 [N, k]: the centred data times the components.
    components : np.ndarray
        float64 [k, D]: orthonormal rows, by decreasing variance; each one's largest-magnitude
        entry is positive (a fixed sign, so runs agree).
    mean : np.ndarray
        float64 [D]: what was subtracted first.
    explained_variance : np.ndarray
        float64 [k]: variance of the data along each component (N - 1 denominator).
    explained_variance_ratio : np.ndarray
        float64 [k]: that as a fraction of the total variance.
    """

    points: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    explained_variance: np.ndarray
    explained_variance_ratio: np.ndarray


def pca(X, n_components: int = 2) -> Projection:
    """Project rows of X onto their top `n_components` principal components (exact).

    The axes are the eigenvectors of the covariance matrix when N >= D, else from an SVD of the
    centred data.

    Parameters
    ----------
    X : array-like [N, ...]
        NumPy array or torch tensor; every row is flattened to D values.
    n_components : int
        At most min(N, D).

    Returns
    -------
    Projection
    """
    x = as_numpy(X).reshape(len(X), -1).astype(np.float64)
    n, d = x.shape
    if not 1 <= n_components <= min(n, d) or n < 2:
        raise ConfigError(
            f"pca of {n} samples × {d} features can give 1 to {min(n, d)} components (and "
            f"needs 2 samples), asked for {n_components}."
        )
    mean = x.mean(axis=0)
    centred = x - mean
    if n >= d:
        # many samples: eigenvectors of the D×D covariance, far cheaper than an N×D SVD
        eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / (n - 1))
        variance = np.clip(eigenvalues[::-1], 0, None)  # descending
        axes = eigenvectors[:, ::-1].T  # [D, D], rows = principal axes
    else:
        # thin SVD of the centred data: the rows of vt are the principal axes
        _, s, axes = np.linalg.svd(centred, full_matrices=False)
        variance = s**2 / (n - 1)
    components = axes[:n_components]
    flip = np.sign(components[np.arange(n_components), np.abs(components).argmax(axis=1)])
    components = components * flip[:, None]
    return Projection(
        points=centred @ components.T,
        components=components,
        mean=mean,
        explained_variance=variance[:n_components],
        explained_variance_ratio=variance[:n_components] / variance.sum(),
    )


def class_stats(points, labels, classes: Sequence[str]) -> list[dict]:
    """Centroid, variance along each axis and size of every class in a 2-D projection.

    Parameters
    ----------
    points : array-like [N, 2]
    labels : array-like of int [N]
    classes : sequence of str
        Names, index = class; a class without points is left out.

    Returns
    -------
    list of dict
        Rows {"class", "centroid_pc1", "centroid_pc2", "var_pc1", "var_pc2", "n"}
        (variances with the N - 1 denominator).
    """
    xy, y = as_numpy(points).astype(np.float64), as_numpy(labels)
    rows = []
    for k, name in enumerate(classes):
        mine = xy[y == k]
        if len(mine):
            var = mine.var(axis=0, ddof=1) if len(mine) > 1 else np.full(2, np.nan)
            rows.append(
                {
                    "class": name,
                    "centroid_pc1": float(mine[:, 0].mean()),
                    "centroid_pc2": float(mine[:, 1].mean()),
                    "var_pc1": float(var[0]),
                    "var_pc2": float(var[1]),
                    "n": len(mine),
                }
            )
    return rows


@dataclass(frozen=True)
class Ellipse:
    """The confidence region {p : (p - center)ᵀ cov⁻¹ (p - center) <= quantile} in 2-D.

    Attributes
    ----------
    center : np.ndarray
        [2]
    cov : np.ndarray
        [2, 2], the sample covariance it was made from.
    level : float
        The probability mass a Gaussian with this mean and covariance has inside.
    quantile : float
        chi2.ppf(level, df=2), the squared Mahalanobis radius (5.991 for 95%).
    semi_axes : np.ndarray
        [2]: major then minor half-length, sqrt(quantile * eigenvalue).
    angle : float
        Degrees, counter-clockwise from the first axis to the major axis.
    """

    center: np.ndarray
    cov: np.ndarray
    level: float
    quantile: float
    semi_axes: np.ndarray
    angle: float

    def contains(self, points) -> np.ndarray:
        """bool [N]: whether each point [N, 2] lies inside (or on) the ellipse."""
        d = as_numpy(points).astype(np.float64) - self.center
        # squared Mahalanobis distance of each row: d cov^-1 d^T, without an explicit inverse
        m2 = np.einsum("ij,ij->i", d, np.linalg.solve(self.cov, d.T).T)
        return m2 <= self.quantile

    def patch(self, **style) -> EllipsePatch:
        """A matplotlib patch of the ellipse (no fill by default) for `ax.add_patch`."""
        style = {"fill": False, **style}
        width, height = 2 * self.semi_axes
        return EllipsePatch(tuple(self.center), width, height, angle=self.angle, **style)


def confidence_ellipse(points, level: float = 0.95) -> Ellipse:
    """The ellipse holding `level` of a Gaussian fitted to 2-D points (mean, sample covariance).

    Parameters
    ----------
    points : array-like [N, 2]
        At least 3 points, not all on one line.
    level : float
        In (0, 1).

    Returns
    -------
    Ellipse
    """
    xy = as_numpy(points).astype(np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) < 3:
        raise ConfigError(f"confidence_ellipse needs points [N >= 3, 2], got {xy.shape}.")
    if not 0 < level < 1:
        raise ConfigError(f"confidence_ellipse level must be in (0, 1), got {level}.")
    cov = np.cov(xy, rowvar=False)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)  # ascending
    if eigenvalues[0] <= 0:
        raise ConfigError("confidence_ellipse: the points lie on a line (a singular covariance).")
    quantile = float(chi2.ppf(level, df=2))
    major = eigenvectors[:, 1]
    return Ellipse(
        center=xy.mean(axis=0),
        cov=cov,
        level=level,
        quantile=quantile,
        semi_axes=np.sqrt(quantile * eigenvalues[::-1]),
        angle=float(np.degrees(np.arctan2(major[1], major[0]))),
    )


def as_numpy(values) -> np.ndarray:
    """A NumPy array of an array-like or a (CPU or GPU) tensor."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values)
