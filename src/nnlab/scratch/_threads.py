"""Training (and gradient checks) run with one BLAS thread.

A mini-batch step multiplies small matrices (32 × 1024 by 1024 × 64 for the NIST36 network):
too little work to share between threads, so threads mostly wait for each other, and on a busy
machine that waiting made an epoch up to 8× slower (benchmarks/bench_scratch.py). Whole-set
products outside training keep the process's setting.
"""

import functools

from threadpoolctl import ThreadpoolController

_CONTROLLER = ThreadpoolController()


def one_blas_thread(method):
    """Decorate a training method (or function) so that BLAS uses one thread while it runs."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _CONTROLLER.limit(limits=1, user_api="blas"):
            return method(*args, **kwargs)

    return wrapper
