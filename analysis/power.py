"""Power for a survival comparison: Schoenfeld's events needed for a hazard ratio, and the sample size.

D = (z_{1−α/2} + z_{power})² / (p (1 − p) (ln HR)²) for a two-sided log-rank / Cox test with a share p
in one arm (Schoenfeld 1983, Biometrika 70:315; Collett, Modelling Survival Data in Medical Research,
ch. 10). Sample size N = D / P(event), both rounded up.
"""

from __future__ import annotations

import math

from scipy.special import ndtri  # norm.ppf itself; scipy.stats takes seconds to import

from peer_outcomes.analysis.frames import AnalysisInputError


def _events(hr: float, alpha: float, power: float, allocation: float) -> float:
    if hr <= 0 or hr == 1:
        raise AnalysisInputError("The hazard ratio must be positive and different from 1.")
    if not (0 < alpha < 1 and 0 < power < 1 and 0 < allocation < 1):
        raise AnalysisInputError("alpha, power and allocation must each lie strictly between 0 and 1.")
    z = ndtri(1 - alpha / 2) + ndtri(power)
    return z**2 / (allocation * (1 - allocation) * math.log(hr) ** 2)


def events_needed(hr: float, alpha: float = 0.05, power: float = 0.8, allocation: float = 0.5) -> int:
    """Events needed to detect `hr` with a two-sided test (Schoenfeld 1983), rounded up."""
    return math.ceil(_events(hr, alpha, power, allocation) - 1e-9)


def sample_size(
    hr: float, event_probability: float, alpha: float = 0.05, power: float = 0.8, allocation: float = 0.5
) -> int:
    """People to enrol when each has `event_probability` of an observed event during follow-up."""
    if not 0 < event_probability <= 1:
        raise AnalysisInputError("The event probability must lie in (0, 1].")
    return math.ceil(events_needed(hr, alpha, power, allocation) / event_probability - 1e-9)
