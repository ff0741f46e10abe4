"""Open-loop (Poisson) arrivals: TTFT and TPOT quantiles and goodput (docs/model.md §9.5).

Requests arrive as a Poisson process of rate ``R`` (the open loop of DistServe, arXiv 2401.09670,
and of serving benchmarks' ``--request-rate``), against the closed loop of a fixed concurrency.

- **Prefill queue, simulated.** Prompts wait first-come first-served for one of ``c`` prefill
  slots, each serving one prompt in the same time ``S`` (an M/D/c queue; a disaggregated plan has
  ``c = N_p PP n`` slots). With equal service times the slot that frees first is the one taken
  ``c`` prompts earlier, so prompt ``i`` starts at ``s_i = max(A_i, s_{i-c} + S)``; within each
  residue class of ``i`` mod ``c`` this is Lindley's recursion, solved in closed form,
  ``s_j = j S + max_{l <= j} (A_l - l S)`` (one cumulative maximum): a vectorized simulation of
  a seeded arrival sequence, exact for it (:func:`fcfs_start_times`).
- **Decode occupancy, a queueing model.** Requests stay in decode for ``(OSL - 1) TPOT(n)``,
  where the step time grows with the ``n`` sequences in it: an M/G/infinity system, whose
  occupancy is Poisson with mean ``nbar = R (OSL - 1) TPOT(nbar)`` (a fixed point, solved by
  bisection: :func:`occupancy`; an aggregated instance likewise with its whole time in system,
  TTFT included). A request's tokens are timed at the occupancy it meets,
  ``1 + Poisson(nbar)``; its TPOT quantiles are those of that occupancy's step time (per token,
  an upper bound on the spread of per-request means).
- **Goodput** (DistServe): the highest rate at which at least ``attainment`` (90 %) of requests
  meet both the TTFT and the TPOT objective, the two taken as independent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

#: Requests simulated per rate (the quantiles' sampling error at p90 is then about 1 %).
REQUESTS = 20_000
#: Seed of the arrival sequence: the same rate gives the same answer (common random numbers
#: across rates, so goodput's bisection sees a monotone attainment).
SEED = 2401_09670
#: Share of requests that must meet both objectives (DistServe's 90 % attainment).
ATTAINMENT = 0.9


def arrival_times(rate: float, n: int = REQUESTS, seed: int = SEED) -> np.ndarray:
    """Arrival times [s] of ``n`` Poisson arrivals at ``rate`` [1/s]: unit exponential gaps of a
    seeded stream, scaled by ``1 / rate``."""
    return _unit_arrivals(n, seed) / rate


@functools.cache
def _unit_arrivals(n: int, seed: int) -> np.ndarray:
    """Arrival times of the seeded stream at rate 1, drawn once (a goodput search asks for it at
    every rate it tries); read-only, so no caller changes the cached copy."""
    a = np.cumsum(np.random.default_rng(seed).exponential(1.0, n))
    a.flags.writeable = False
    return a


def fcfs_start_times(arrivals: np.ndarray, servers: int, service: float) -> np.ndarray:
    """Start of service of each arrival (sorted) at ``servers`` FCFS slots of equal
    ``service`` time [s]: ``s_i = max(A_i, s_{i-c} + S)`` (module doc), vectorized."""
    n = arrivals.size
    c = max(int(servers), 1)
    rows = -(-n // c)
    padded = np.full(rows * c, np.inf)
    padded[:n] = arrivals
    a = padded.reshape(rows, c)  # column r: arrivals r, r + c, r + 2c, ...
    j = np.arange(rows, dtype=np.float64)[:, None] * service
    start = j + np.maximum.accumulate(a - j, axis=0)
    return start.reshape(-1)[:n]


def prefill_waits(rate: float, servers: int, service: float, n: int = REQUESTS) -> np.ndarray:
    """Time each of ``n`` Poisson arrivals waits before its prompt starts [s] (M/D/c, FCFS); the
    first tenth is dropped as warm-up."""
    a = arrival_times(rate, n)
    wait = fcfs_start_times(a, servers, service) - a
    return wait[n // 10 :]


def occupancy(rate, residence: Callable[[np.ndarray], np.ndarray], capacity):
    """Mean requests in the system, ``nbar = R T(nbar)`` (Little's law with the time in system
    ``T`` growing with the occupancy; module doc), by bisection on ``[0, capacity]``; inf where
    even ``capacity`` requests cannot keep up (overload).

    ``residence``: seconds a request stays at a number of requests in the system (vectorized,
    non-decreasing), e.g. ``(OSL - 1) TPOT(n)`` in a decode instance."""
    rate = np.asarray(rate, dtype=np.float64)
    shape = np.broadcast(rate, capacity).shape
    lo, hi = np.zeros(shape), np.broadcast_to(np.asarray(capacity, dtype=np.float64), shape).copy()
    over = rate * residence(np.maximum(hi, 1.0)) > hi
    for _ in range(60):
        mid = (lo + hi) / 2
        low = rate * residence(np.maximum(mid, 1.0)) > mid
        lo, hi = np.where(low, mid, lo), np.where(low, hi, mid)
    return np.where(over, np.inf, hi)


def poisson_cdf(mean: float, top: float) -> np.ndarray:
    """``P(N <= k)`` for ``k = 0 .. top`` and ``N ~ Poisson(mean)``, from the log of each term
    (``k log mean - mean - log k!``), so a mean of thousands neither overflows nor underflows."""
    k = np.arange(0.0, np.floor(top) + 1.0)
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(k[1:]))])
    return np.minimum(np.cumsum(np.exp(k * np.log(max(mean, 1e-300)) - mean - log_factorial)), 1.0)


def _tail(mean: float) -> float:
    """A count beyond which a Poisson(mean) has no mass that matters (mean + 12 sd + 30)."""
    return mean + 12.0 * np.sqrt(mean) + 30.0


def occupancy_quantiles(mean, q) -> float:
    """Sequences a request meets in decode at quantile ``q``: itself plus ``Poisson(mean)``."""
    cdf = poisson_cdf(float(mean), _tail(float(mean)))
    return 1.0 + float(min(np.searchsorted(cdf, q), cdf.size - 1))


def attainment(ttft: np.ndarray, ttft_slo: float, tpot_share: float) -> float:
    """Share of requests meeting both objectives: ``P(TTFT <= a) P(TPOT <= b)``."""
    return float(np.mean(ttft <= ttft_slo)) * tpot_share


def goodput(meets: Callable[[float], float], top: float, target: float = ATTAINMENT) -> float:
    """Highest rate below ``top`` (the rate the plan completes at full use, where queues grow
    without bound) whose attainment ``meets(rate)`` is at least ``target``: bisection over the
    rate, 40 halvings; 0 if even a vanishing rate misses it."""
    lo, hi = 0.0, top
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if meets(mid) >= target else (lo, mid)
    return lo


def share_within(values_at: Callable[[np.ndarray], np.ndarray], mean: float, limit: float) -> float:
    """``P(f(1 + N) <= limit)`` for ``N ~ Poisson(mean)`` and a non-decreasing ``f`` (a step time
    at an occupancy): the share of requests whose figure meets ``limit``."""
    if not np.isfinite(mean):
        return 0.0
    cdf = poisson_cdf(mean, _tail(mean))
    ok = np.count_nonzero(values_at(np.arange(1.0, cdf.size + 1.0)) <= limit)
    return float(cdf[ok - 1]) if ok else 0.0
