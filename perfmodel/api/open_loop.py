"""Open-loop figures of a serving plan under Poisson arrivals (docs/model.md §9.5): TTFT and TPOT
quantiles, attainment of a TTFT and a TPOT objective, and goodput as DistServe defines it
(arXiv 2401.09670), from the queueing model of :mod:`perfmodel.model.arrivals`."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pint

from perfmodel.inputs import InvalidInput
from perfmodel.model import arrivals
from perfmodel.model.disaggregated import decode_pool, prefill_pool
from perfmodel.units import Q_

#: DistServe's chatbot objectives (OPT-66B on ShareGPT, arXiv 2401.09670 Table 1): TTFT 2.5 s,
#: TPOT 0.15 s, met by 90 % of requests.
DEFAULT_TTFT_SLO = Q_(2.5, "s")
DEFAULT_TPOT_SLO = Q_(0.15, "s")


@dataclass(frozen=True)
class Arrivals:
    """Open-loop figures at ``rate`` requests/s (docs/model.md §9.5)."""

    rate: pint.Quantity
    ttft: dict  # quantile name -> Quantity
    tpot: dict
    attainment: float
    goodput: pint.Quantity
    ttft_slo: pint.Quantity
    tpot_slo: pint.Quantity
    overloaded: bool

    def as_dict(self) -> dict:
        out = {"arrival_rate_rps": float(self.rate.to("1/s").m)}
        for name, q in (("ttft", self.ttft), ("tpot", self.tpot)):
            out |= {f"{name}_{p}_s": _finite(v.to("s").m) for p, v in q.items()}
        return out | {
            "slo_attainment": self.attainment,
            "goodput_rps": float(self.goodput.to("1/s").m),
            "ttft_slo_s": float(self.ttft_slo.to("s").m),
            "tpot_slo_s": float(self.tpot_slo.to("s").m),
            "overloaded": self.overloaded,
        }


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _slos(rate, ttft_slo, tpot_slo) -> tuple[float, float, float]:
    r = float(Q_(rate).to("1/s").m)
    if not (math.isfinite(r) and r > 0):
        raise InvalidInput(f"arrival rate must be a positive number of requests per second, got {rate}")
    a, b = (float(Q_(x).to("s").m) for x in (ttft_slo, tpot_slo))
    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        raise InvalidInput(
            f"the TTFT and TPOT objectives must be positive times, got {ttft_slo} and {tpot_slo}"
        )
    return r, a, b


QUANTILES = {"p50": 0.5, "p90": 0.9, "p99": 0.99}


def aggregated_arrivals(at, cap, rate, ttft_slo, tpot_slo) -> Arrivals:
    """An aggregated instance under Poisson arrivals: M/G/infinity occupancy with its whole time
    in system (module :mod:`perfmodel.model.arrivals`), quantiles at the occupancy met."""
    r, a, b = _slos(rate, ttft_slo, tpot_slo)

    def residence(n):
        return at(n)["request_latency_s"]

    def figures(rate_):
        mean = float(arrivals.occupancy(rate_, residence, cap))
        ttft_ok = arrivals.share_within(lambda n: at(n)["ttft_s"], mean, a)
        tpot_ok = arrivals.share_within(lambda n: at(n)["tpot_s"], mean, b)
        return mean, ttft_ok * tpot_ok

    mean, share = figures(r)
    q = {
        k: arrivals.occupancy_quantiles(mean, v) if math.isfinite(mean) else math.inf
        for k, v in QUANTILES.items()
    }
    at_q = {k: at(float(n)) if math.isfinite(n) else None for k, n in q.items()}
    top = cap / float(residence(float(cap)))
    good = arrivals.goodput(lambda x: figures(x)[1], top)
    return Arrivals(
        Q_(r, "1/s"),
        {k: Q_(math.inf if v is None else float(v["ttft_s"]), "s") for k, v in at_q.items()},
        {k: Q_(math.inf if v is None else float(v["tpot_s"]), "s") for k, v in at_q.items()},
        share,
        Q_(good, "1/s"),
        Q_(a, "s"),
        Q_(b, "s"),
        not math.isfinite(mean),
    )


def disaggregated_arrivals(
    d, budget, lay_p, lay_d, r, spec, c, isl, osl, hit, counts, rate, ttft_slo, tpot_slo
) -> Arrivals:
    """A disaggregated plan under Poisson arrivals: the prefill pool's FCFS queue simulated
    (M/D/c over its ``N_p PP k`` prompt slots, ``k`` prompts per step: of 1, 2, 4, ... up to the
    budget's, the one with the lowest p90 TTFT at the rate, as a scheduler sizes its steps to the
    load), the decode instances' occupancy from the M/G/infinity fixed point
    (:mod:`perfmodel.model.arrivals`)."""
    r_, a, b = _slos(rate, ttft_slo, tpot_slo)
    n_p, n_d = counts
    most = float(r["prompts_per_step"])
    sizes = np.unique(np.minimum(2.0 ** np.arange(0, np.ceil(np.log2(most)) + 1), most))
    steps = prefill_pool(d, lay_p, float(isl), hit, prompts=sizes, budget=budget)
    services, slots = np.broadcast_to(steps["service_s"], sizes.shape), n_p * lay_p.pp * sizes
    t_kv = float(r["kv_transfer_s"])
    decode_tokens = float(osl) - 1.0

    def tpot(n):
        return decode_pool(d, lay_d, n, float(isl), float(osl), spec)["tpot_s"]

    def figures(rate_):
        waits = [
            arrivals.prefill_waits(rate_, int(k), float(sv)) + sv
            for k, sv in zip(slots, services, strict=True)
        ]
        ttft = min(waits, key=lambda w: np.quantile(w, 0.9)) + t_kv
        mean = float(arrivals.occupancy(rate_ / n_d, lambda n: decode_tokens * tpot(n), float(c)))
        return ttft, mean, arrivals.attainment(ttft, a, arrivals.share_within(tpot, mean, b))

    ttft, mean, share = figures(r_)
    top = min(float(np.max(slots / services)), n_d * float(c) / (decode_tokens * float(tpot(float(c)))))
    good = arrivals.goodput(lambda x: figures(x)[2], top)
    tq = {k: Q_(float(np.quantile(ttft, v)), "s") for k, v in QUANTILES.items()}
    pq = {
        k: Q_(float(tpot(arrivals.occupancy_quantiles(mean, v))) if math.isfinite(mean) else math.inf, "s")
        for k, v in QUANTILES.items()
    }
    overloaded = not math.isfinite(mean) or r_ >= top
    return Arrivals(Q_(r_, "1/s"), tq, pq, share, Q_(good, "1/s"), Q_(a, "s"), Q_(b, "s"), overloaded)
