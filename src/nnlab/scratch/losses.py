"""Loss functions, each returning the loss and its gradient with respect to its first argument.

Losses are summed over the outputs of one sample and then averaged over the samples
(`reduction="mean"`, the first axis) or summed over them (`"sum"`, as the CMU 16-720 networks
do: there the learning rate multiplies the batch's summed gradient). Cross-entropy comes fused
with its softmax or sigmoid (from logits, stable for any logit) and on probabilities with an ε
clip (for probabilities made elsewhere).
"""

import numpy as np
from scipy.special import expit

from nnlab.scratch._checks import check_choice

REDUCTIONS = ("mean", "sum")


def _scale(n: int, reduction: str) -> float:
    """The factor that turns a sum over `n` samples into the requested reduction."""
    check_choice("the loss", "reduction", reduction, REDUCTIONS)
    return 1.0 / max(n, 1) if reduction == "mean" else 1.0


def softmax_cross_entropy(
    logits: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[float, np.ndarray]:
    """Cross-entropy of softmax(logits) against integer labels.

    Parameters
    ----------
    logits : ndarray, shape (n, k)
    y : ndarray of int, shape (n,)
        Class indices in [0, k).
    reduction : {"mean", "sum"}

    Returns
    -------
    loss : float
        Σ_i [logsumexp(z_i) − z_i,y_i], averaged or summed over i.
    grad : ndarray, shape (n, k)
        dloss/dlogits = softmax(z) − onehot(y) (divided by n for "mean").
    """
    n = logits.shape[0]
    scale = _scale(n, reduction)
    rows = np.arange(n)
    top = logits.max(axis=1, keepdims=True)  # [n, 1]: exp(z - max) cannot overflow
    e = np.exp(logits - top)
    total = e.sum(axis=1, keepdims=True)  # [n, 1]
    lse = (top + np.log(total))[:, 0]  # log Σ exp z, [n]
    loss = float((lse - logits[rows, y]).sum() * scale)
    grad = e / total  # softmax, [n, k]
    grad[rows, y] -= 1
    grad *= scale
    return loss, grad


def cross_entropy(
    probs: np.ndarray, y: np.ndarray, eps: float = 1e-12, reduction: str = "mean"
) -> tuple[float, np.ndarray]:
    """Cross-entropy −log p_y of given class probabilities, clipped at `eps` so log(0) is finite.

    Parameters
    ----------
    probs : ndarray, shape (n, k)
        Rows of class probabilities.
    y : ndarray of int, shape (n,)
    eps : float
        Probabilities below `eps` count as `eps` (their gradient is then 0).
    reduction : {"mean", "sum"}

    Returns
    -------
    loss : float
    grad : ndarray, shape (n, k)
        dloss/dprobs: −1 / p_y in column y of each row, 0 elsewhere.
    """
    n = probs.shape[0]
    scale = _scale(n, reduction)
    rows = np.arange(n)
    p = probs[rows, y]
    clipped = np.maximum(p, eps)
    loss = float(-np.log(clipped).sum() * scale)
    grad = np.zeros_like(probs)
    grad[rows, y] = np.where(p > eps, -scale / clipped, 0)
    return loss, grad


def binary_cross_entropy(
    p: np.ndarray, y: np.ndarray, eps: float = 1e-12, reduction: str = "mean"
) -> tuple[float, np.ndarray]:
    """Binary cross-entropy of probabilities p against 0/1 targets, p clipped to [ε, 1 − ε].

    Parameters
    ----------
    p : ndarray, shape (n,) or (n, m)
        Probabilities of the positive class.
    y : ndarray, same shape
        Targets in [0, 1].
    eps : float
        Keeps log finite where p is exactly 0 or 1 (the gradient there is 0).
    reduction : {"mean", "sum"}

    Returns
    -------
    loss : float
        −Σ [y log p + (1 − y) log(1 − p)], summed over outputs, reduced over samples.
    grad : ndarray, same shape as p
        dloss/dp = (p − y) / (p (1 − p)).
    """
    scale = _scale(p.shape[0], reduction)
    pc = np.clip(p, eps, 1 - eps)
    loss = float(-(y * np.log(pc) + (1 - y) * np.log1p(-pc)).sum() * scale)
    inside = (p > eps) & (p < 1 - eps)
    grad = np.where(inside, (pc - y) / (pc * (1 - pc)), 0) * scale
    return loss, grad.astype(p.dtype, copy=False)


def binary_cross_entropy_with_logits(
    z: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[float, np.ndarray]:
    """Binary cross-entropy of σ(z), computed from the logit z without forming σ(z).

    Parameters
    ----------
    z : ndarray, shape (n,) or (n, m)
        Logits.
    y : ndarray, same shape
        Targets in [0, 1].
    reduction : {"mean", "sum"}

    Returns
    -------
    loss : float
        Σ [softplus(z) − y z] (= −[y log σ(z) + (1 − y) log(1 − σ(z))]), reduced over samples.
    grad : ndarray, same shape as z
        dloss/dz = σ(z) − y.
    """
    scale = _scale(z.shape[0], reduction)
    softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))  # log(1 + e^z), no overflow
    loss = float((softplus - y * z).sum() * scale)
    return loss, (expit(z) - y) * scale


def squared_error(
    y_hat: np.ndarray, y: np.ndarray, reduction: str = "mean"
) -> tuple[float, np.ndarray]:
    """Squared error Σ (ŷ − y)² over each sample's outputs, reduced over samples.

    Parameters
    ----------
    y_hat : ndarray, shape (n,) or (n, m)
        Predictions.
    y : ndarray, same shape
        Targets.
    reduction : {"mean", "sum"}
        "mean" averages the per-sample sums (for (n,) inputs: the mean squared error).

    Returns
    -------
    loss : float
    grad : ndarray, same shape as y_hat
        dloss/dŷ = 2 (ŷ − y) (divided by n for "mean").
    """
    scale = _scale(y_hat.shape[0], reduction)
    diff = y_hat - y
    return float((diff * diff).sum() * scale), 2 * scale * diff
