"""Fleet planning: from a demand forecast to servers bought month by month, with TCO, MW and CO2e.

For each stream of the forecast (a model at an input/output length under a UTPS floor,
:mod:`tco.planning.demand`) the ranking (:func:`tco.questions.ranking.select`, calibrated mode by default) gives every
chip's best configuration: an *instance* of ``chips`` chips serving ``stps`` output tokens/s
(prefill's share of the machine counted), and its cost and carbon per hour.
The planner works on (month x stream x chip) arrays:

1. **Sizing.** Instances to serve the month's peak, ``ceil(peak x (1 + fraction) / stps)``,
   packed into whole servers (the chip's purchasable unit, :func:`server_chips`): an instance of
   ``n <= u`` chips on a ``u``-chip server takes one of ``floor(u / n)`` slots; a larger one
   takes ``ceil(n / u)`` whole servers. Headroom ``n+1`` adds one scale-up domain (one server,
   or the servers of one instance if it spans several) to every stream's fleet, so it serves its
   peak with any one domain down.
2. **Buying.** Owned servers stay for the hardware's lifetime: a stream's fleet grows when its
   demand first needs a server and never shrinks before the lifetime ends (servers are not moved
   between streams). ``owned(t) = max(need(t), owned(t-1) - retired(t))``.
3. **Money, power, carbon.** Each owned chip costs the ranking's per-hour parts for its
   configuration (:mod:`tco.economics.costs`): capital (chip, system and network, annualized over the
   lifetime with the cost of capital) and operating cost by item (energy at the site's price,
   PUE and utilization; facility; maintenance; operations). TCO over the horizon is their sum
   over the months each chip is owned; ``capex_usd`` is the cash spent on purchases. With the
   ``rent`` cost basis the ranking prices the chip-hour at the rental price and servers are
   rented month by month (:func:`rent`). Provisioned power is every owned chip at the ranking's
   provisioned power (TDP, host and network share) times PUE (what the site must supply);
   carbon is the ranking's operational and (amortized) embodied gCO2e per chip-hour.
4. **Which fleet.** Every chip that serves every stream is a single-chip fleet, ranked by TCO
   (with its p10/p90 when uncertainty is on, :func:`cost_spread`).
   An integer program (:func:`scipy.optimize.milp`, HiGHS [1]) gives each stream to one of at
   most two chips, at the cost and power of that stream's fleet on it, for the cheapest mix under
   a cap on provisioned MW.

References
----------
.. [1] SciPy, ``scipy.optimize.milp`` (HiGHS branch-and-cut), https://docs.scipy.org/doc/scipy/
       reference/generated/scipy.optimize.milp.html
.. [2] NVIDIA DGX H100 user guide: 8 GPUs, 10.2 kW per system (rack density of 4 systems).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl
from scipy import optimize, sparse

from perfmodel.catalog.economics_set import load_catalogs
from perfmodel.inputs import InvalidInput, digits_hint, parse_number
from perfmodel.units import Q_
from tco.economics.costs import OTHER_ITEMS
from tco.equations import capital_recovery_rate
from tco.planning.demand import STREAM, Demand, demand_arrays, load_demand
from tco.questions.monte_carlo import uncertainty
from tco.questions.question import Question
from tco.questions.ranking import Evaluation, check_availability, evaluate, select

#: Largest scale-up domain sold as one unit: a rack-scale system (GB200/GB300 NVL72, 72 GPUs).
RACK_SCALE_CHIPS = 72
#: A pod-scale domain (TPU pods of 256 or 9216 chips, Groq's 576-chip fabric) is built and
#: bought host by host; a host holds this many chips (estimate: TPU v6e-8 and GroqNode hosts).
POD_HOST_CHIPS = 8
#: IT power one rack holds [W]: four 8-GPU HGX H100 servers of 10.2 kW [2]. A server that draws
#: more (a 120-130 kW NVL72 rack) fills a rack alone.
RACK_W = 40_800.0
#: Default headroom for failures: one spare scale-up domain per stream's fleet.
DEFAULT_HEADROOM = "n+1"
#: Most servers one stream may need on one chip: a million times the largest fleets built (about
#: 1e5 servers), and far inside the integers a plan counts in (int64, 9.2e18).
MAX_SERVERS = 1e11
#: Relative slack before rounding up: 2.0000000001 instances are 2 (float error, not demand).
ROUNDING_SLACK = 1e-9
#: The integer program stops within this relative gap of its bound, or after this time.
MIX_GAP = 1e-6
MIX_TIME_LIMIT_S = 10.0
#: A mix holds at most this many chips (the issue's "up to two").
MIX_CHIPS = 2
_HOUR_S = Q_(1.0, "hour").to("s").magnitude
_MONTH_S = Q_(1.0, "year").to("s").magnitude / 12.0  # pint's year, as the lifetime is amortized
_W_PER_MW = Q_(1.0, "MW").to("W").magnitude
_G_PER_T = Q_(1.0, "t").to("g").magnitude
_TOKENS_PER_MTOK = Q_(1.0, "Mtoken").to("token").magnitude


def server_chips(scaleup_domain: np.ndarray) -> np.ndarray:
    """Chips per purchasable unit (server or rack) of each chip.

    Parameters
    ----------
    scaleup_domain : numpy.ndarray
        Chips in one scale-up domain (hardware.csv ``scaleup_domain``) [chips].

    Returns
    -------
    numpy.ndarray
        The scale-up domain when it is one server or rack (at most :data:`RACK_SCALE_CHIPS`:
        an 8-GPU HGX server, a 72-GPU NVL72 rack, a 1-wafer system); a pod-scale domain is
        bought by hosts of :data:`POD_HOST_CHIPS` chips [chips].
    """
    d = np.asarray(scaleup_domain)
    return np.where(d <= RACK_SCALE_CHIPS, d, POD_HOST_CHIPS)


@dataclass(frozen=True)
class Headroom:
    """Capacity kept for failures: a ``fraction`` more instances, or one spare domain (``n+1``)."""

    fraction: float = 0.0
    spare_domain: bool = False

    @classmethod
    def parse(cls, text: str) -> Headroom:
        """``'n+1'`` or a fraction such as ``'0.1'`` (10 % more instances than the peak needs)."""
        if text.strip().lower() == "n+1":
            return cls(spare_domain=True)
        try:
            value = parse_number(text)  # ASCII digits only: float() reads ０.１ as 0.1
        except ValueError:
            raise InvalidInput(
                f"headroom must be 'n+1' or a fraction >= 0{digits_hint(text)}, got {text!r}"
            ) from None
        if not (0.0 <= value < 10.0):
            raise InvalidInput(f"headroom fraction must be in [0, 10), got {text!r}")
        return cls(fraction=value)

    def __str__(self) -> str:
        return "n+1 (one spare scale-up domain per stream)" if self.spare_domain else f"{self.fraction:g}"


@dataclass(frozen=True)
class Offer:
    """What each chip offers each stream: its ranked configuration, as (stream x chip) arrays.

    Attributes
    ----------
    hardware : list of str
        The C chips, in catalog order.
    availability : list of str
        ``shipping``, ``announced`` or ``hypothetical``, per chip.
    unit : numpy.ndarray
        Chips per server, shape (C,) [chips].
    server_it_w : numpy.ndarray
        Provisioned IT power of one server: ``unit x`` the ranking's provisioned power per chip
        (TDP, host and network share), shape (C,) [W].
    pue : float
        The site's power usage effectiveness [1].
    serves : numpy.ndarray
        The chip has a configuration that fits and meets the stream's floor, shape (K, C).
    reason : numpy.ndarray
        Why not, from the ranking, shape (K, C) (empty where it serves).
    chips, stps : numpy.ndarray
        Chips per instance [chips] and its output tokens/s [token/s], shape (K, C).
    capital : numpy.ndarray
        Capital cost per chip-hour of the configuration [USD/h], shape (K, C): chip, system and
        network annualized with the cost of capital, as the ranking charges it (0 when rented).
    opex_items : dict of str to numpy.ndarray
        Operating cost per chip-hour by item as the ranking itemizes it (``energy``, ``other``,
        ...) [USD/h], each of shape (K, C).
    purchase : numpy.ndarray
        Purchase price per chip with its system and network share: the capital per hour over
        the capital recovery rate [USD], shape (K, C).
    average_w : numpy.ndarray
        Mean wall power per chip at the site's utilization [W], shape (K, C).
    operational_g, embodied_g : numpy.ndarray
        gCO2e per chip-hour, shape (K, C).
    usd_per_mtok : numpy.ndarray
        The ranking's $/Mtok of the configuration, shape (K, C) [USD/Mtok].
    lifetime_months : int
        Hardware lifetime [month].
    rented : bool
        The cost basis is rent: servers are rented month by month, not bought.
    """

    hardware: list[str]
    availability: list[str]
    unit: np.ndarray
    server_it_w: np.ndarray
    pue: float
    serves: np.ndarray
    reason: np.ndarray
    chips: np.ndarray
    stps: np.ndarray
    capital: np.ndarray
    opex_items: dict[str, np.ndarray]
    purchase: np.ndarray
    average_w: np.ndarray
    operational_g: np.ndarray
    embodied_g: np.ndarray
    usd_per_mtok: np.ndarray
    lifetime_months: int
    rented: bool

    @property
    def opex(self) -> np.ndarray:
        """Operating cost per chip-hour, all items [USD/h], shape (K, C)."""
        return sum(self.opex_items.values())

    @property
    def server_mw(self) -> np.ndarray:
        """Provisioned power of one server at the site's meter (IT power x PUE), shape (C,) [MW]."""
        return self.server_it_w * self.pue / _W_PER_MW


def evaluate_streams(streams: pl.DataFrame, question: Question) -> dict[tuple[str, int, int], Evaluation]:
    """Evaluate each distinct (model, isl, osl) of ``streams`` once, under ``question``'s
    assumptions (its model, workload and floor come from each stream).

    Its ``mode``: ``calibrated`` (the default: the serving model at the stream's input and output
    lengths, prefill counted in the instance's output tokens/s) or ``limit`` (the study's decode
    step at a context of ``isl + osl``).
    """
    keys = streams.select("model", "isl", "osl").unique(maintain_order=True).rows()
    mode = question.mode or "calibrated"
    return {
        (m, i, o): _buyable(evaluate(question.but(model=m, context=None, mode=mode, isl=i, osl=o)))
        for m, i, o in keys
    }


def _buyable(ev: Evaluation) -> Evaluation:
    """``ev`` without the chips no one sells (``rent_only``: TPUs, Trainium) when the fleet is
    owned: a plan buys what it counts; a rented fleet rents them as any other chip."""
    if ev.cost_basis != "own":
        return ev
    return replace(ev, frame=ev.frame.filter(~pl.col("rent_only")))


def offer(
    demand: Demand,
    evaluations: Mapping[tuple[str, int, int], Evaluation],
    availability: Sequence[str] | None = None,
) -> Offer:
    """Each chip's best configuration for each stream (cheapest per token at the floor).

    Parameters
    ----------
    demand : Demand
        The forecast (its ``streams`` name the evaluations needed).
    evaluations : mapping
        (model, isl, osl) -> :class:`tco.questions.ranking.Evaluation`, from :func:`evaluate_streams`.
    availability : sequence of str, optional
        Plan only with chips of these kinds (``shipping``, ``announced``, ``hypothetical``).

    Returns
    -------
    Offer
        Over the chips evaluated (and of the kinds asked for), in catalog order.
    """
    first = next(iter(evaluations.values()))
    table = first.catalogs["hardware"].df
    per_chip = (
        first.frame.with_columns(pl.col("hardware").cast(pl.String))
        .group_by("hardware")
        .agg(pl.col("provisioned_power_w", "availability").first())
    )
    if availability is not None:
        per_chip = per_chip.filter(pl.col("availability").is_in(check_availability(availability)))
    names = [h for h in table["name"].to_list() if h in set(per_chip["hardware"])]
    per_chip = per_chip.sort(pl.col("hardware").replace_strict(names, range(len(names))))
    ranked = pl.concat(
        [
            select(evaluations[(m, i, o)], floor, "tokens_per_usd", availability).with_columns(
                k=pl.lit(k, pl.Int64)
            )
            for k, (m, i, o, floor) in enumerate(demand.streams.select(STREAM).rows())
        ]
    )
    grid = (
        pl.DataFrame({"k": np.repeat(np.arange(demand.streams.height), len(names))})
        .with_columns(hardware=pl.Series(names * demand.streams.height))
        .join(ranked, on=["k", "hardware"], how="left")
    )
    shape = (demand.streams.height, len(names))

    def col(name: str) -> np.ndarray:
        return grid[name].cast(pl.Float64).fill_null(np.nan).to_numpy().reshape(shape)

    chips = col("chips")
    mtok_per_chip_hour = col("usd_per_hour") / col("usd_per_mtok") / chips
    capital = col("capex_usd_per_mtok") * mtok_per_chip_hour
    domain = dict(zip(table["name"], table["scaleup_domain"], strict=True))
    site = first.site
    unit = server_chips(np.array([domain[h] for h in names]))
    recovery_per_hour = capital_recovery_rate(site.cost_of_capital, site.lifetime) * _HOUR_S
    return Offer(
        hardware=names,
        availability=per_chip["availability"].to_list(),
        unit=unit,
        server_it_w=unit * per_chip["provisioned_power_w"].to_numpy(),
        pue=site.pue,
        serves=grid["meets_floor"].fill_null(False).to_numpy().reshape(shape),
        reason=grid["reason"].fill_null("not evaluated").to_numpy().reshape(shape),
        chips=chips,
        stps=col("stps"),
        capital=capital,
        opex_items={k: col(f"{k}_usd_per_mtok") * mtok_per_chip_hour for k in ("energy", *OTHER_ITEMS)},
        purchase=capital / recovery_per_hour,
        average_w=col("wall_power_w") / chips,
        operational_g=col("operational_gco2e_per_mtok") * mtok_per_chip_hour,
        embodied_g=col("embodied_gco2e_per_mtok") * mtok_per_chip_hour,
        usd_per_mtok=col("usd_per_mtok"),
        lifetime_months=max(1, round(site.lifetime / _MONTH_S)),
        rented=first.cost_basis == "rent",
    )


def _packing(offer: Offer) -> tuple[np.ndarray, np.ndarray]:
    """Instances per server and servers per instance, shape (K, C) (one of them is 1)."""
    chips = np.where(offer.serves, offer.chips, 1.0)
    per_server = np.maximum(np.floor(offer.unit / chips), 1.0)
    servers_per = np.maximum(np.ceil(chips / offer.unit), 1.0)
    return per_server, servers_per


def _ceil(x: np.ndarray) -> np.ndarray:
    return np.ceil(x * (1.0 - ROUNDING_SLACK))


def servers_needed(demand: Demand, offer: Offer, headroom: Headroom) -> np.ndarray:
    """Servers each stream needs on each chip in each month (see the module doc, step 1).

    Parameters
    ----------
    demand : Demand
        ``peak_tps`` of shape (T, K) [token/s].
    offer : Offer
        Each chip's instance for each stream: ``chips`` [chips], ``stps`` [token/s], ``unit``
        [chips per server].
    headroom : Headroom
        ``fraction`` more instances [1], or one spare scale-up domain per stream (``n+1``).

    Returns
    -------
    numpy.ndarray
        Shape (T, K, C) [servers]; 0 where the chip does not serve the stream.
    """
    per_server, servers_per = _packing(offer)
    stps = np.where(offer.serves, offer.stps, np.inf)
    instances = _ceil(demand.peak_tps[:, :, None] * (1.0 + headroom.fraction) / stps)
    servers = _ceil(instances * servers_per / per_server)
    spare = servers_per * headroom.spare_domain * (instances > 0)
    return np.where(offer.serves, servers + spare, 0.0)


def within_count(offer: Offer, need: np.ndarray) -> Offer:
    """``offer`` less the chips that would need more than :data:`MAX_SERVERS` servers for a
    stream in some month (``need`` from :func:`servers_needed`), each with the count as its reason."""
    peak = need.max(axis=0)
    over = offer.serves & (peak > MAX_SERVERS)
    if not over.any():
        return offer
    reason = offer.reason.astype(object)
    for k, c in zip(*np.nonzero(over), strict=True):
        reason[k, c] = (
            f"needs {peak[k, c]:.3g} servers at the peak, more than the {MAX_SERVERS:.0e} a plan counts"
        )
    return replace(offer, serves=offer.serves & ~over, reason=reason)


def keep(need: np.ndarray, lifetime_months: int) -> tuple[np.ndarray, np.ndarray]:
    """Servers owned and bought when each is bought on first need and kept for its lifetime.

    Parameters
    ----------
    need : numpy.ndarray
        Servers needed, shape (T, ...) [servers].
    lifetime_months : int
        Months a server stays before it retires [month].

    Returns
    -------
    owned, bought : numpy.ndarray
        Shape of ``need``; ``owned(t) = max(need(t), owned(t-1) - bought(t - lifetime))``.
        The recursion runs over months; each step is vectorized over the other axes.
    """
    owned = np.zeros_like(need)
    bought = np.zeros_like(need)
    previous = np.zeros_like(need[0])
    for t in range(need.shape[0]):
        kept = previous - (bought[t - lifetime_months] if t >= lifetime_months else 0.0)
        owned[t] = np.maximum(need[t], kept)
        bought[t] = owned[t] - kept
        previous = owned[t]
    return owned, bought


def rent(need: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Servers rented month by month: as many as needed, and those newly rented each month.

    Returns
    -------
    owned, bought : numpy.ndarray
        ``need`` itself, and ``max(need(t) - need(t-1), 0)`` [servers].
    """
    return need, np.maximum(np.diff(need, axis=0, prepend=0.0), 0.0)


class Fleet(dict):
    """Monthly figures of fleets by name: arrays of shape (T, F), one column per chip of a fleet.

    ``servers_owned``, ``servers_bought``, ``chips_owned``, ``racks``; ``capex_usd`` (cash spent on
    purchases), ``capital_usd`` (capital charged for the month), ``opex_usd`` and its items
    (``energy_usd``, ``other_usd``, ... as the ranking itemizes its operating cost); ``mw``
    (provisioned), ``average_mw``; ``operational_tco2e``, ``embodied_tco2e``.
    """

    def columns(self, cols: Sequence[int] | np.ndarray) -> Fleet:
        """The figures of chips ``cols`` only."""
        return Fleet({name: value[:, cols] for name, value in self.items()})

    def summed(self) -> Fleet:
        """One column: the whole fleet."""
        return Fleet({name: value.sum(axis=1, keepdims=True) for name, value in self.items()})


def stream_figures(
    owned: np.ndarray, bought: np.ndarray, offer: Offer, demand: Demand
) -> dict[str, np.ndarray]:
    """Monthly money, power and carbon of each stream's fleet on each chip, shape (T, K, C) each.

    Parameters
    ----------
    owned, bought : numpy.ndarray
        Servers owned and bought in each month, shape (T, K, C) [servers], from :func:`keep`.
    offer : Offer
        Per chip-hour rates of each (stream, chip) [USD/h, W, gCO2e/h] and server figures.
    demand : Demand
        ``hours`` in each month [h].

    Returns
    -------
    dict of str to numpy.ndarray
        The :class:`Fleet` figures but ``racks`` (racks hold servers of several streams), in
        servers, chips, USD, MW and tCO2e; 0 where the chip does not serve the stream.
    """
    chips = owned * offer.unit
    hours = demand.hours[:, None, None]

    def per_chip(rate: np.ndarray) -> np.ndarray:
        return chips * np.where(offer.serves, rate, 0.0)

    return (
        {
            "servers_owned": owned,
            "servers_bought": bought,
            "chips_owned": chips,
            "capex_usd": bought * offer.unit * np.where(offer.serves, offer.purchase, 0.0),
            "capital_usd": per_chip(offer.capital) * hours,
            "opex_usd": per_chip(offer.opex) * hours,
        }
        | {f"{item}_usd": per_chip(rate) * hours for item, rate in offer.opex_items.items()}
        | {
            "mw": owned * offer.server_mw,
            "average_mw": per_chip(offer.average_w) / _W_PER_MW,
            "operational_tco2e": per_chip(offer.operational_g) * hours / _G_PER_T,
            "embodied_tco2e": per_chip(offer.embodied_g) * hours / _G_PER_T,
        }
    )


def fleet(figures: dict[str, np.ndarray], assigned: np.ndarray, offer: Offer) -> Fleet:
    """Per-chip monthly figures of the streams ``assigned`` (K, C) to each chip, shape (T, C)."""
    sums = {name: np.where(assigned, value, 0.0).sum(axis=1) for name, value in figures.items()}
    return Fleet(sums | {"racks": racks(sums["servers_owned"], offer)})


def racks(servers: np.ndarray, offer: Offer) -> np.ndarray:
    """Racks that hold ``servers`` (T, C) of each chip: as many servers as :data:`RACK_W` allows,
    at least one [racks]."""
    per_rack = np.maximum(np.floor(RACK_W / offer.server_it_w), 1.0)
    return np.ceil(servers / per_rack)


def cheapest_mix(
    cost: np.ndarray, mw: np.ndarray, serves: np.ndarray, max_mw: float | None
) -> tuple[np.ndarray, bool] | None:
    """The cheapest assignment of streams to at most :data:`MIX_CHIPS` chips, by integer programming [1].

    Each stream is served by one chip (a model's workload runs on one pool of hardware; splitting
    it between two would save at most one server of rounding), sized, bought and priced as in a
    single-chip fleet. Binary ``x[k, c]`` (stream k on chip c) and ``y[c]`` (chip c bought):

    - ``sum_c x[k, c] = 1`` for every stream, ``x[k, c] = 0`` where the chip cannot serve it;
    - ``x[k, c] <= y[c]``, ``sum_c y[c] <= 2``;
    - ``sum_(k, c) mw[t, k, c] x[k, c] <= max_mw`` in every month t.

    Objective: ``sum cost[k, c] x[k, c]``.

    Parameters
    ----------
    cost : numpy.ndarray
        TCO of each stream's fleet on each chip over the horizon, shape (K, C) [USD].
    mw : numpy.ndarray
        Provisioned power of each stream's fleet, shape (T, K, C) [MW].
    serves : numpy.ndarray
        The chip serves the stream, shape (K, C).
    max_mw : float or None
        Cap on provisioned power in every month [MW].

    Returns
    -------
    tuple or None
        (``x`` as a boolean (K, C) array, whether HiGHS proved it optimal), or None when no
        fleet of at most two chips serves every stream under the cap.
    """
    k_n, c_n = serves.shape
    x_n = k_n * c_n
    one_chip = sparse.kron(sparse.identity(k_n), np.ones((1, c_n)))
    link = sparse.hstack([sparse.identity(x_n), -sparse.kron(np.ones((k_n, 1)), sparse.identity(c_n))])
    rows = [
        optimize.LinearConstraint(sparse.hstack([one_chip, sparse.csr_array((k_n, c_n))]), 1.0, 1.0),
        optimize.LinearConstraint(link, -np.inf, 0.0),
        optimize.LinearConstraint(np.r_[np.zeros(x_n), np.ones(c_n)][None, :], 0.0, MIX_CHIPS),
    ]
    if max_mw is not None:
        power = np.hstack([np.nan_to_num(mw).reshape(mw.shape[0], x_n), np.zeros((mw.shape[0], c_n))])
        rows.append(optimize.LinearConstraint(power, -np.inf, max_mw))
    res = optimize.milp(
        np.r_[np.where(serves, cost, 0.0).ravel(), np.zeros(c_n)],
        constraints=rows,
        integrality=np.ones(x_n + c_n),
        bounds=optimize.Bounds(0.0, np.r_[serves.ravel().astype(float), np.ones(c_n)]),
        options={"mip_rel_gap": MIX_GAP, "time_limit": MIX_TIME_LIMIT_S},
    )
    if res.x is None:
        return None
    return res.x[:x_n].reshape(k_n, c_n) > 0.5, res.status == 0


def cost_spread(
    demand: Demand,
    evaluations: Mapping[tuple[str, int, int], Evaluation],
    offer: Offer,
    draws: int,
    availability: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """p10 and p90 of each stream's cost on each chip, as factors on its catalog-value cost.

    Each stream's configuration costs ``usd_per_mtok_pXX / usd_per_mtok`` times its catalog-value
    cost in the Monte Carlo of :func:`tco.questions.monte_carlo.uncertainty` (prices, site, cost of capital,
    calibrated throughput), at the stream's floor. A fleet's p10 (p90) sums its streams' p10
    (p90) costs: exact when the streams' draws move together, as they share the site's draws
    (same seed) and each chip's price.

    Returns
    -------
    dict
        ``"p10"``, ``"p90"`` -> factors of shape (K, C) [1]; NaN where the chip does not serve.
    """
    spreads = pl.concat(
        [
            uncertainty(evaluations[(m, i, o)], draws, floor, availability=availability).with_columns(
                k=pl.lit(k, pl.Int64)
            )
            for k, (m, i, o, floor) in enumerate(demand.streams.select(STREAM).rows())
        ],
        how="diagonal",
    )
    grid = pl.DataFrame(
        {
            "k": np.repeat(np.arange(demand.streams.height), len(offer.hardware)),
            "hardware": offer.hardware * demand.streams.height,
        }
    ).join(spreads, on=["k", "hardware"], how="left")
    return {
        q: grid[f"usd_per_mtok_{q}"].fill_null(np.nan).to_numpy().reshape(offer.serves.shape)
        / offer.usd_per_mtok
        for q in SPREAD
    }


#: The quantiles of TCO a plan reports when uncertainty is on.
SPREAD = ("p10", "p90")


#: Per-fleet columns of :attr:`Plan.plans`, in order.
PLAN_COLUMNS = (
    "fleet",
    "hardware",
    "availability",
    "servers",
    "chips",
    "servers_bought",
    "racks",
    "capex_usd",
    "capital_usd",
    "opex_usd",
    "tco_usd",
    "tco_usd_p10",
    "tco_usd_p90",
    "output_tokens",
    "usd_per_mtok",
    "peak_mw",
    "average_mw",
    "tco2e",
    "operational_tco2e",
    "embodied_tco2e",
    "meets_demand",
    "reason",
)
#: Monthly figures that are counts (integers in :attr:`Plan.monthly`).
_COUNTS = ("servers_owned", "servers_bought", "chips_owned", "racks")


@dataclass(frozen=True)
class Plan:
    """The fleets that serve a forecast, best first, and their month-by-month figures.

    Attributes
    ----------
    plans : polars.DataFrame
        One row per fleet (:data:`PLAN_COLUMNS`): fleets that meet the demand within the power
        cap by TCO, then those over the cap. ``hardware`` is a list of one chip, or two for a mix.
    monthly : polars.DataFrame
        One row per (fleet, month, chip): ``fleet``, ``month``, ``hardware`` and the
        :class:`Fleet` figures.
    unserved : polars.DataFrame
        Chips left out because they cannot serve a stream: ``hardware``, ``reason``.
    demand : Demand
    headroom : Headroom
    max_mw : float or None
        The cap on provisioned power [MW].
    mix_optimal : bool or None
        The mix was proven optimal (None: no mix of two chips was found).
    rented : bool
        The cost basis is rent.
    """

    plans: pl.DataFrame
    monthly: pl.DataFrame
    unserved: pl.DataFrame
    demand: Demand
    headroom: Headroom
    max_mw: float | None
    mix_optimal: bool | None
    rented: bool

    def to_json(self) -> dict:
        """``plans`` (``hardware`` a name, or a list of two for a mix) and ``monthly``, as dicts."""
        plans = [
            r | {k: r[k][0] if len(r[k]) == 1 else r[k] for k in ("hardware", "availability")}
            for r in self.plans.to_dicts()
        ]
        return {
            "horizon": {"first": self.demand.months[0], "last": self.demand.months[-1]},
            "headroom": str(self.headroom),
            "cost_basis": "rent" if self.rented else "own",
            "max_mw": self.max_mw,
            "mix_proven_optimal": self.mix_optimal,
            "plans": plans,
            "monthly": self.monthly.to_dicts(),
            "unserved": self.unserved.to_dicts(),
        }


def _totals(f: Fleet, demand: Demand) -> dict[str, np.ndarray]:
    """Horizon totals of each fleet (one per column of ``f``)."""
    capital, opex = f["capital_usd"].sum(axis=0), f["opex_usd"].sum(axis=0)
    tco = capital + opex
    tokens = float(demand.output_tokens().sum())
    operational, embodied = f["operational_tco2e"].sum(axis=0), f["embodied_tco2e"].sum(axis=0)
    return {
        "servers": f["servers_owned"].max(axis=0).astype(np.int64),
        "chips": f["chips_owned"].max(axis=0).astype(np.int64),
        "servers_bought": f["servers_bought"].sum(axis=0).astype(np.int64),
        "racks": f["racks"].max(axis=0).astype(np.int64),
        "capex_usd": f["capex_usd"].sum(axis=0),
        "capital_usd": capital,
        "opex_usd": opex,
        "tco_usd": tco,
        "output_tokens": np.full(tco.shape, tokens),
        "usd_per_mtok": tco / (tokens / _TOKENS_PER_MTOK),
        "peak_mw": f["mw"].max(axis=0),
        "average_mw": demand.hours @ f["average_mw"] / demand.hours.sum(),
        "tco2e": operational + embodied,
        "operational_tco2e": operational,
        "embodied_tco2e": embodied,
    }


def _monthly(f: Fleet, fleets: list[str], hardware: list[str], months: list[str]) -> pl.DataFrame:
    t_n, c_n = f["mw"].shape
    return pl.DataFrame(
        {
            "fleet": np.tile(fleets, t_n),
            "month": np.repeat(months, c_n),
            "hardware": np.tile(hardware, t_n),
        }
        | {name: value.ravel() for name, value in f.items()}
    ).with_columns(pl.col(_COUNTS).cast(pl.Int64))


def plan(
    demand: Demand,
    evaluations: Mapping[tuple[str, int, int], Evaluation],
    *,
    headroom: Headroom | None = None,
    max_mw: float | None = None,
    availability: Sequence[str] | None = None,
    draws: int | None = None,
    mix: bool = True,
) -> Plan:
    """Every single-chip fleet that serves ``demand``, and the cheapest mix of two, by TCO.

    Parameters
    ----------
    demand : Demand
        The forecast on the horizon's calendar (:func:`tco.planning.demand.demand_arrays`).
    evaluations : mapping
        (model, isl, osl) -> Evaluation for every stream (:func:`evaluate_streams`); the chips
        evaluated are the chips planned with.
    headroom : Headroom, optional
        Capacity for failures (default ``n+1``).
    max_mw : float, optional
        Cap on provisioned power in every month [MW]. A single-chip fleet over it is listed
        after the others with ``meets_demand`` false; the mix must stay under it.
    availability : sequence of str, optional
        Plan only with chips of these kinds (default: all; hypothetical ones are marked).
    draws : int, optional
        Uncertainty on: Monte Carlo draws per stream for the p10/p90 of each fleet's TCO
        (:func:`cost_spread`); off (null columns) by default.
    mix : bool
        Also solve for the cheapest mix of two chips (a mixed-integer program).

    Returns
    -------
    Plan
    """
    if max_mw is not None and not (max_mw > 0 and np.isfinite(max_mw)):
        raise InvalidInput(f"max_mw must be a finite number > 0, got {max_mw!r}")
    if not demand.output_tokens().sum() > 0:
        raise InvalidInput("the forecast has no output tokens in the horizon: nothing to plan")
    headroom = headroom or Headroom.parse(DEFAULT_HEADROOM)
    off = offer(demand, evaluations, availability)
    active = demand.peak_tps.max(axis=0) > 0  # streams with demand in the horizon
    off = within_count(off, servers_needed(demand, off, headroom))
    serves_all = off.serves[active].all(axis=0)
    need = servers_needed(demand, off, headroom)
    owned, bought = rent(need) if off.rented else keep(need, off.lifetime_months)
    figures = stream_figures(owned, bought, off, demand)
    singles = np.flatnonzero(serves_all)
    f = fleet(figures, np.ones_like(off.serves), off).columns(singles)
    names = [off.hardware[c] for c in singles]
    totals = _totals(f, demand)
    cost = (figures["capital_usd"] + figures["opex_usd"]).sum(axis=0)
    factors = cost_spread(demand, evaluations, off, draws, availability) if draws else {}

    def spread(assigned: np.ndarray) -> dict[str, np.ndarray]:
        """TCO quantiles per chip of the streams ``assigned`` to it (absent when uncertainty is off)."""
        return {f"tco_usd_{q}": np.where(assigned, cost * f, 0.0).sum(axis=0) for q, f in factors.items()}

    kinds = [[off.availability[c]] for c in singles]
    table = pl.DataFrame(
        {"fleet": names, "hardware": [[h] for h in names], "availability": kinds}
        | totals
        | {k: v[singles] for k, v in spread(np.ones_like(off.serves)).items()},
        schema_overrides={"hardware": pl.List(pl.String), "availability": pl.List(pl.String)},
    )
    monthly = [_monthly(f, names, names, demand.months)]
    solved = cheapest_mix(cost[active], figures["mw"][:, active], off.serves[active], max_mw) if mix else None
    mix_optimal = None
    if solved is not None and solved[0].any(axis=0).sum() == MIX_CHIPS:
        assigned = np.zeros_like(off.serves)
        assigned[active] = solved[0]
        mix_optimal = solved[1]
        used = np.flatnonzero(assigned.any(axis=0))
        fm = fleet(figures, assigned, off).columns(used)
        pair = [off.hardware[c] for c in used]
        label = " + ".join(pair)
        table = pl.concat(
            [
                table,
                pl.DataFrame(
                    {
                        "fleet": [label],
                        "hardware": [pair],
                        "availability": [[off.availability[c] for c in used]],
                    }
                    | _totals(fm.summed(), demand)
                    | {k: [v[used].sum()] for k, v in spread(assigned).items()},
                    schema_overrides={"hardware": pl.List(pl.String), "availability": pl.List(pl.String)},
                ),
            ]
        )
        monthly.append(_monthly(fm, [label] * MIX_CHIPS, pair, demand.months))
    cap = np.inf if max_mw is None else max_mw
    table = (
        table.with_columns(pl.lit(None, pl.Float64).alias(f"tco_usd_{q}") for q in SPREAD if not factors)
        .with_columns(meets_demand=pl.col("peak_mw") <= cap)
        .with_columns(
            reason=pl.when("meets_demand")
            .then(pl.lit(""))
            .otherwise(
                pl.format("needs {} MW, over the cap of {} MW", pl.col("peak_mw").round(2), pl.lit(cap))
            )
        )
        .sort(["meets_demand", "tco_usd"], descending=[True, False])
        .select(PLAN_COLUMNS)
    )
    order = table["fleet"].to_list()
    monthly_df = pl.concat(monthly).sort(pl.col("fleet").replace_strict(order, range(len(order))), "month")
    streams = demand.streams.select(STREAM).rows()
    lacking = [
        {
            "hardware": h,
            "reason": "; ".join(
                f"{m} ({i}+{o} tokens, {u:g} tokens/s): {off.reason[k, c]}"
                for k, (m, i, o, u) in enumerate(streams)
                if active[k] and not off.serves[k, c]
            ),
        }
        for c, h in enumerate(off.hardware)
        if not serves_all[c]
    ]
    unserved = pl.DataFrame(lacking, schema={"hardware": pl.String, "reason": pl.String})
    return Plan(table, monthly_df, unserved, demand, headroom, max_mw, mix_optimal, off.rented)


def plan_forecast(
    source: Path | str | bytes,
    question: Question,
    *,
    file: str | None = None,
    horizon_months: int | None = None,
    headroom: Headroom | None = None,
    max_mw: float | None = None,
    draws: int | None = None,
) -> Plan:
    """Plan a forecast file end to end: validate, lay on the calendar, evaluate, plan.

    ``source`` is a path or CSV bytes (named ``file`` in errors); ``question`` holds the
    assumptions (mode, site, cost basis, chips and their availability, scenario, power model,
    catalogs: the packaged ones when it has none) that every stream is evaluated under.
    """
    catalogs = question.catalogs or load_catalogs()
    demand = demand_arrays(load_demand(source, catalogs, file=file), horizon_months)
    evaluations = evaluate_streams(demand.streams, question.but(catalogs=catalogs))
    return plan(
        demand, evaluations, headroom=headroom, max_mw=max_mw, availability=question.availability, draws=draws
    )
