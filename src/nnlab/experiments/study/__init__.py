"""Studies: one experiment over seeds (`--seeds`) and a settings grid (`--grid`), each cell an
ordinary run, fanned out on an engine (this process, local workers, Ray), summarised in a
study folder with intervals, verdict counts and paired differences (`nnlab.runs.study`)."""

from nnlab.experiments.study.driver import (
    IN_TURN,
    EngineChoice,
    StudyOutcome,
    find_study,
    is_study,
    resume_study,
    run_study,
)
from nnlab.experiments.study.plan import parse_grid, parse_seeds

__all__ = [
    "IN_TURN",
    "EngineChoice",
    "StudyOutcome",
    "find_study",
    "is_study",
    "parse_grid",
    "parse_seeds",
    "resume_study",
    "run_study",
]
