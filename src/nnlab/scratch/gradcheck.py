"""Finite-difference gradient check: backprop's gradients against central differences.

For each checked entry θ_j, (f(θ + ε e_j) − f(θ − ε e_j)) / 2ε approximates ∂f/∂θ_j with a
truncation error of order ε²·f‴ and a rounding error of order 1e-16·|f|/ε. Relative to a small
gradient g the rounding term, 1e-16·|f|/(ε·|g|), dominates quickly: for a 36-class cross-entropy
(|f| ≈ 3) with gradient entries near 1e-4, ε = 1e-6 leaves relative errors near 1e-5 and
ε = 1e-4 near 1e-8. Either way the relative error |g − ĝ| / max(|g|, |ĝ|, atol) of a correct
gradient is far below that of a wrong one (≳ 1e-2); `atol` keeps entries whose gradient is
(nearly) zero from dividing rounding noise by nothing.
"""

from collections.abc import Callable

import numpy as np

from nnlab.scratch._checks import ScratchValueError, check_number
from nnlab.scratch._threads import one_blas_thread


@one_blas_thread  # the loss is evaluated twice per entry on small arrays
def gradcheck(
    f: Callable[[], tuple[float, dict[str, np.ndarray]]],
    params: dict[str, np.ndarray],
    *,
    eps: float = 1e-6,
    atol: float = 1e-8,
    max_entries: int | None = None,
    seed: int = 0,
    loss_only: Callable[[], float] | None = None,
) -> dict[str, float]:
    """Per-parameter maximum relative error between analytic and numerical gradients.

    Parameters
    ----------
    f : callable
        `f() -> (loss, grads)`: the scalar loss and its gradients (a dict with `params`' keys)
        at the parameters' current values. `gradcheck` changes the arrays of `params` in place
        between calls and restores them before returning.
    params : dict of ndarray
        The parameters to check (float64 for meaningful results).
    eps : float
        Finite-difference step.
    atol : float
        Gradient size below which a difference counts as absolute rather than relative.
    max_entries : int, optional
        Check at most this many entries of each parameter, drawn at random without
        replacement (None = every entry: two loss evaluations per entry).
    seed : int
        Seeds the choice of entries.
    loss_only : callable, optional
        `loss_only() -> loss`, the same loss without the backward pass, for the two
        evaluations per entry (default: `f()[0]`).

    Returns
    -------
    dict
        Parameter name -> max over its checked entries of |g − ĝ| / max(|g|, |ĝ|, atol).
    """
    check_number("gradcheck", "eps", eps, low=0, low_open=True)
    check_number("gradcheck", "max_entries", max_entries, kind=int, low=1, none_ok=True)
    _, grads = f()
    loss_only = loss_only or (lambda: f()[0])
    analytic = {name: np.array(grads[name], dtype=np.float64) for name in params}
    rng = np.random.default_rng(seed)
    errors = {}
    for name, p in params.items():
        flat = p.reshape(-1)  # a view for a contiguous array: writing it changes p
        if not np.shares_memory(flat, p):
            raise ScratchValueError(
                f"gradcheck: parameter {name!r} is not a contiguous array, so it cannot be "
                f"perturbed in place; pass the model's own (contiguous) parameter arrays."
            )
        entries = np.arange(flat.size)
        if max_entries is not None and flat.size > max_entries:
            entries = rng.choice(flat.size, size=max_entries, replace=False)
        numeric = np.empty(len(entries))
        for k, j in enumerate(entries):
            saved = flat[j]
            flat[j] = saved + eps
            up = loss_only()
            flat[j] = saved - eps
            down = loss_only()
            flat[j] = saved
            numeric[k] = (up - down) / (2 * eps)
        exact = analytic[name].reshape(-1)[entries]
        scale = np.maximum(np.maximum(np.abs(exact), np.abs(numeric)), atol)
        errors[name] = float(np.max(np.abs(exact - numeric) / scale)) if len(entries) else 0.0
    return errors
