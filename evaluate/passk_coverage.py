"""Simulated coverage of the k-completion intervals (passk.py), for the tests and the benchmark.

Model of a point: n tests; test i is answered correctly with probability
p_i and otherwise with one of `wrong` wrong answers, uniformly. The p_i are
one fixed value, or drawn from a Beta(a, b) (tests of mixed difficulty). Each
metric's true value is exact: every per-test metric is a polynomial in p_i of
degree <= k, so its mean over a Beta is a sum of Beta moments. Replications
draw the K completions of every test, compute the metrics as passk.py does
(vectorised), and count how often the 95% interval holds the truth.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from itertools import product
from math import comb, factorial

import numpy as np

METRICS = ("pass@1", "pass@2", "pass@k", "maj@k", "agreement")


@dataclass(frozen=True)
class Scenario:
    name: str
    p: float | None = None                  # every test's chance of a correct completion
    beta: tuple[float, float] | None = None  # or p_i ~ Beta(a, b)

    def draw(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        if self.beta is not None:
            return rng.beta(*self.beta, size=shape)
        return np.full(shape, self.p)

    def moment(self, j: int, l: int) -> float:
        """E[p^j (1 - p)^l]."""
        if self.beta is None:
            return self.p ** j * (1 - self.p) ** l
        from scipy.special import betaln
        a, b = self.beta
        return float(np.exp(betaln(a + j, b + l) - betaln(a, b)))


SCENARIOS = (
    Scenario("p=0.02", p=0.02), Scenario("p=0.1", p=0.1), Scenario("p=0.5", p=0.5),
    Scenario("p=0.9", p=0.9), Scenario("p=0.98", p=0.98),
    Scenario("Beta(0.2,4) near 0", beta=(0.2, 4.0)), Scenario("Beta(4,0.2) near 1", beta=(4.0, 0.2)),
    Scenario("Beta(0.1,0.1) bimodal", beta=(0.1, 0.1)), Scenario("Beta(1,1) spread", beta=(1.0, 1.0)),
    # Most tests hopeless, a few half solved: where narrower (effective sample
    # size) intervals lose coverage.
    Scenario("Beta(0.05,0.5) mostly 0", beta=(0.05, 0.5)),
)


def _outcomes(k: int, wrong: int):
    """Every count vector (correct, wrong_1, ..., wrong_m) of k completions."""
    for counts in product(range(k + 1), repeat=wrong + 1):
        if sum(counts) == k:
            yield counts


def _credits(counts: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """The per-test metrics of count vectors (..., 1 + wrong), as passk.py defines them."""
    c = counts[..., 0]
    top = counts.max(axis=-1)
    tied = counts == top[..., None]
    pass_2 = 1 - np.array([comb(k - x, 2) / comb(k, 2) for x in range(k + 1)])[c]
    return {"pass@1": c / k,
            "pass@2": pass_2,
            "pass@k": (c > 0).astype(float),
            "maj@k": tied[..., 0] / tied.sum(axis=-1),
            "agreement": top / k}


def true_values(scenario: Scenario, k: int, wrong: int) -> dict[str, float]:
    outcomes = np.array(list(_outcomes(k, wrong)))
    credits = _credits(outcomes, k)
    truth = dict.fromkeys(METRICS, 0.0)
    for i, counts in enumerate(outcomes):
        c = int(counts[0])
        ways = factorial(k) / np.prod([factorial(int(x)) for x in counts])
        weight = ways * wrong ** -(k - c) * scenario.moment(c, k - c)
        for name in METRICS:
            truth[name] += weight * credits[name][i]
    return truth


def simulate(scenario: Scenario, tests: int, k: int = 4, wrong: int = 1, reps: int = 4000,
             seed: int = 0, confidence: float = 0.95) -> dict[str, float]:
    """Coverage of each metric's interval over `reps` simulated points."""
    from scipy.stats import beta

    rng = np.random.default_rng([seed, tests, k, wrong, zlib.crc32(scenario.name.encode())])
    p = scenario.draw(rng, (reps, tests))
    correct = rng.binomial(k, p)
    wrongs = rng.multinomial(k - correct, [1 / wrong] * wrong)
    counts = np.concatenate([correct[..., None], wrongs], axis=-1)
    credits = _credits(counts, k)
    truth = true_values(scenario, k, wrong)
    tail = (1 - confidence) / 2
    out = {}
    for name in METRICS:
        s = np.clip(credits[name].sum(axis=1), 0, tests)
        with np.errstate(all="ignore"):
            low = np.where(s <= 0, 0.0, beta.ppf(tail, s, tests - s + 1))
            high = np.where(s >= tests, 1.0, beta.ppf(1 - tail, s + 1, tests - s))
        eps = 1e-12
        out[name] = float(np.mean((low <= truth[name] + eps) & (truth[name] - eps <= high)))
    return out
