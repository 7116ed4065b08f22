"""Early stopping on a validation metric: patience without improvement, or a target accuracy."""

import math

from nnlab.scratch._checks import check_choice

MONITORS = ("loss", "accuracy")


class EarlyStopping:
    """Decide after each evaluation whether to stop, and remember the best one.

    Parameters
    ----------
    monitor : {"loss", "accuracy"}
        The validation metric that must improve (loss down, accuracy up).
    patience : int, optional
        Stop after this many evaluations in a row without improvement (None: never for this
        reason).
    target_accuracy : float, optional
        Stop as soon as the validation accuracy reaches this value.

    Attributes
    ----------
    best : float
        The best monitored value so far.
    best_step : int or None
        The step (iteration) it was reached at.
    improved : bool
        Whether the last `update` set a new best (so the caller can keep those parameters).
    """

    def __init__(
        self,
        monitor: str = "loss",
        patience: int | None = None,
        target_accuracy: float | None = None,
    ):
        self.monitor = check_choice("EarlyStopping", "monitor", monitor, MONITORS)
        self.patience = patience
        self.target_accuracy = target_accuracy
        self.best = math.inf if monitor == "loss" else -math.inf
        self.best_step: int | None = None
        self.improved = False
        self._waited = 0

    def update(self, step: int, loss: float, accuracy: float) -> str | None:
        """Record one evaluation; return why to stop ("target", "patience") or None."""
        value = loss if self.monitor == "loss" else accuracy
        self.improved = value < self.best if self.monitor == "loss" else value > self.best
        if self.improved:
            self.best, self.best_step, self._waited = value, step, 0
        else:
            self._waited += 1
        if self.target_accuracy is not None and accuracy >= self.target_accuracy:
            return "target"
        if self.patience is not None and self._waited >= self.patience:
            return "patience"
        return None
