"""Fleet planning: from a demand forecast to servers bought month by month, with TCO, MW and CO2e.

For each stream of the forecast (a model at an input/output length under a UTPS floor,
:mod:`tco.demand`) the ranking (:func:`tco.rank.select`) gives every chip's best configuration:
an *instance* of ``chips`` chips serving ``stps`` output tokens/s, and its cost and carbon per hour.
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
   configuration: capital (the ranking's capex per hour: the purchase price over the lifetime)
   and operating cost (energy at the site's price, PUE and utilization, facility build and
   maintenance). TCO over the horizon is their sum, i.e. the purchases less the book value left
   at the horizon's end, plus the operating cost. ``capex_usd`` is the cash spent on purchases.
   Provisioned power is every owned chip at TDP with host overhead and PUE (what the site must
   supply); carbon is the ranking's operational and (amortized) embodied gCO2e per chip-hour.
4. **Which fleet.** Every chip that serves every stream is a single-chip fleet, ranked by TCO;
   a mixed-integer program (:func:`scipy.optimize.milp`, HiGHS) finds the cheapest fleet of at
   most two chips under the same sizing rules and a cap on provisioned MW.

References
----------
.. [1] SciPy, ``scipy.optimize.milp`` (HiGHS branch-and-cut), https://docs.scipy.org/doc/scipy/
       reference/generated/scipy.optimize.milp.html
.. [2] NVIDIA DGX H100 user guide: 8 GPUs, 10.2 kW per system (rack density of 4 systems).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import optimize, sparse

from perfmodel.catalog import InvalidInput
from perfmodel.catalog_set import Catalogs
from tco.demand import STREAM, Demand
from tco.rank import Evaluation, evaluate, select

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
#: Relative slack before rounding up: 2.0000000001 instances are 2 (float error, not demand).
ROUNDING_SLACK = 1e-9
#: The mixed-integer program stops within this relative gap of its bound, or after this time.
MIX_GAP = 1e-6
MIX_TIME_LIMIT_S = 10.0
#: Pairs of chips whose program is solved at most, cheapest lower bound first.
MIX_CANDIDATES = 12
_HOUR_S = 3600.0
_MONTH_S = 365.25 * 86400.0 / 12.0  # pint's year / 12, as the lifetime is amortized


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
            value = float(text)
        except ValueError:
            raise InvalidInput(f"headroom must be 'n+1' or a fraction >= 0, got {text!r}") from None
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
    unit : numpy.ndarray
        Chips per server, shape (C,) [chips].
    server_it_w : numpy.ndarray
        IT power of one server at TDP: ``unit x TDP x (1 + host overhead)``, shape (C,) [W].
    pue : float
        The site's power usage effectiveness [1].
    serves : numpy.ndarray
        The chip has a configuration that fits and meets the stream's floor, shape (K, C).
    reason : numpy.ndarray
        Why not, from the ranking, shape (K, C) (empty where it serves).
    chips, stps : numpy.ndarray
        Chips per instance [chips] and its output tokens/s [token/s], shape (K, C).
    capital, opex : numpy.ndarray
        Capital and operating cost per chip-hour of the configuration [USD/h], shape (K, C).
    purchase : numpy.ndarray
        Capital per chip: the capital per hour over the lifetime [USD], shape (K, C).
    average_w : numpy.ndarray
        Mean wall power per chip at the site's utilization [W], shape (K, C).
    operational_g, embodied_g : numpy.ndarray
        gCO2e per chip-hour, shape (K, C).
    usd_per_mtok : numpy.ndarray
        The ranking's $/Mtok of the configuration, shape (K, C).
    lifetime_months : int
        Hardware lifetime [month].
    """

    hardware: list[str]
    unit: np.ndarray
    server_it_w: np.ndarray
    pue: float
    serves: np.ndarray
    reason: np.ndarray
    chips: np.ndarray
    stps: np.ndarray
    capital: np.ndarray
    opex: np.ndarray
    purchase: np.ndarray
    average_w: np.ndarray
    operational_g: np.ndarray
    embodied_g: np.ndarray
    usd_per_mtok: np.ndarray
    lifetime_months: int

    @property
    def server_mw(self) -> np.ndarray:
        """Provisioned power of one server at the site's meter (IT power x PUE), shape (C,) [MW]."""
        return self.server_it_w * self.pue / 1e6

    def take(self, columns: Sequence[int]) -> Offer:
        """The offer of chips ``columns`` only."""
        cols = list(columns)
        fields = {
            f: (getattr(self, f)[..., cols] if isinstance(getattr(self, f), np.ndarray) else getattr(self, f))
            for f in self.__dataclass_fields__
        }
        fields["hardware"] = [self.hardware[i] for i in cols]
        return Offer(**fields)


def evaluate_streams(
    streams: pl.DataFrame, catalogs: Catalogs, **kwargs
) -> dict[tuple[str, int, int], Evaluation]:
    """Evaluate each distinct (model, isl, osl) of ``streams`` once (``kwargs`` go to evaluate).

    The decode model is evaluated at a context of ``isl + osl`` tokens, the length every
    sequence reaches.
    """
    keys = streams.select("model", "isl", "osl").unique(maintain_order=True).rows()
    return {(m, i, o): evaluate(m, i + o, catalogs=catalogs, **kwargs) for m, i, o in keys}


def offer(
    demand: Demand,
    evaluations: Mapping[tuple[str, int, int], Evaluation],
    hardware: Sequence[str] | None = None,
) -> Offer:
    """Each chip's best configuration for each stream (cheapest per token at the floor).

    Parameters
    ----------
    demand : Demand
        The forecast (its ``streams`` name the evaluations needed).
    evaluations : mapping
        (model, isl, osl) -> :class:`tco.rank.Evaluation`, from :func:`evaluate_streams`.
    hardware : sequence of str, optional
        Chips to plan with (default: every chip evaluated).
    """
    first = next(iter(evaluations.values()))
    table = first.catalogs["hardware"].df
    names = [h for h in table["name"].to_list() if hardware is None or h in hardware]
    ranked = pl.concat(
        [
            select(evaluations[(m, i, o)], floor, "tokens_per_usd").with_columns(k=pl.lit(k, pl.Int64))
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

    serves = grid["meets_floor"].fill_null(False).to_numpy().reshape(shape)
    chips = col("chips")
    mtok_per_chip_hour = col("usd_per_hour") / col("usd_per_mtok") / chips
    capital = col("capex_usd_per_mtok") * mtok_per_chip_hour
    domain = dict(zip(table["name"], table["scaleup_domain"], strict=True))
    tdp = dict(zip(first.chips["hardware"].cast(pl.String), first.chips["tdp_w"], strict=True))
    site = first.site
    unit = server_chips(np.array([domain[h] for h in names]))
    return Offer(
        hardware=names,
        unit=unit,
        server_it_w=unit * np.array([tdp[h] for h in names]) * (1.0 + site.host_overhead),
        pue=site.pue,
        serves=serves,
        reason=grid["reason"].fill_null("not evaluated").to_numpy().reshape(shape),
        chips=chips,
        stps=col("stps"),
        capital=capital,
        opex=(col("usd_per_mtok") - col("capex_usd_per_mtok")) * mtok_per_chip_hour,
        purchase=capital * site.lifetime / _HOUR_S,
        average_w=col("wall_power_w") / chips,
        operational_g=col("operational_gco2e_per_mtok") * mtok_per_chip_hour,
        embodied_g=col("embodied_gco2e_per_mtok") * mtok_per_chip_hour,
        usd_per_mtok=col("usd_per_mtok"),
        lifetime_months=max(1, round(site.lifetime / _MONTH_S)),
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


@dataclass(frozen=True)
class Fleet:
    """Monthly figures of fleets, summed over streams: arrays of shape (T, F).

    ``F`` fleets (one per chip for single-chip fleets; the chips of a mix are summed).
    Money in USD, power in MW, carbon in tCO2e, tokens in tokens.
    """

    servers_owned: np.ndarray
    servers_bought: np.ndarray
    chips_owned: np.ndarray
    racks: np.ndarray
    capex_usd: np.ndarray
    capital_usd: np.ndarray
    opex_usd: np.ndarray
    mw: np.ndarray
    average_mw: np.ndarray
    operational_tco2e: np.ndarray
    embodied_tco2e: np.ndarray


def fleet_figures(owned: np.ndarray, bought: np.ndarray, offer: Offer, demand: Demand) -> Fleet:
    """Monthly money, power and carbon of owned servers, per chip: shape (T, C) each.

    ``owned``, ``bought``: (T, K, C) servers from :func:`keep` or the mixed program.
    """
    valid = offer.serves[None]

    def per_chip(rate: np.ndarray) -> np.ndarray:
        return np.where(valid, chips * np.nan_to_num(rate)[None], 0.0).sum(axis=1)

    chips = owned * offer.unit
    hours = demand.hours[:, None]
    servers = owned.sum(axis=1)
    return Fleet(
        servers_owned=servers,
        servers_bought=bought.sum(axis=1),
        chips_owned=chips.sum(axis=1),
        racks=racks(servers, offer),
        capex_usd=np.where(valid, bought * offer.unit * np.nan_to_num(offer.purchase)[None], 0.0).sum(axis=1),
        capital_usd=per_chip(offer.capital) * hours,
        opex_usd=per_chip(offer.opex) * hours,
        mw=servers * offer.server_mw,
        average_mw=per_chip(offer.average_w) / 1e6,
        operational_tco2e=per_chip(offer.operational_g) * hours / 1e6,
        embodied_tco2e=per_chip(offer.embodied_g) * hours / 1e6,
    )


def racks(servers: np.ndarray, offer: Offer) -> np.ndarray:
    """Racks that hold ``servers`` (T, C) of each chip: as many servers as :data:`RACK_W` allows,
    at least one [racks]."""
    per_rack = np.maximum(np.floor(RACK_W / offer.server_it_w), 1.0)
    return np.ceil(servers / per_rack)


def pair_program(
    demand: Demand, offer: Offer, headroom: Headroom, max_mw: float | None = None
) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """The cheapest fleet on the chips of ``offer`` (two, for a mix), by mixed-integer programming [1].

    Variables per (month t, stream k, chip c): servers bought ``B`` and instances ``I``
    (integers) and, with ``n+1`` headroom, ``z`` (binary: the pool is in use and carries its
    spare domain). Owned servers ``S = W B``, with ``W[t, s] = 1`` while a server bought in month s
    is within its lifetime at t. Constraints:

    - demand: ``sum_c stps[k, c] I[t, k, c] >= peak[t, k] (1 + fraction)``;
    - packing: ``per_server S >= servers_per I + servers_per per_server z`` (whole instances on
      whole servers, plus the spare domain), and ``I <= M z``;
    - power: ``sum_(k, c) server_mw[c] S[t, k, c] <= max_mw`` every month.

    The objective is the TCO: ``sum S (capital + opex per chip-hour) x chips per server x hours``.
    On one chip the program's optimum is :func:`servers_needed` bought by :func:`keep`.

    Returns
    -------
    tuple or None
        (owned, bought) servers of shape (T, K, C) and whether HiGHS proved the optimum; None
        when no fleet on these chips serves the demand under the cap.
    """
    t_n, (k_n, c_n) = demand.peak_tps.shape[0], offer.serves.shape
    p_n = k_n * c_n
    n = t_n * p_n
    per_server, servers_per = _packing(offer)
    spare = headroom.spare_domain
    target = demand.peak_tps * (1.0 + headroom.fraction)
    stps = np.where(offer.serves, offer.stps, np.inf)
    i_max = np.where(offer.serves, _ceil(target.max(axis=0)[:, None] / stps), 0.0)
    s_max = _ceil(i_max * servers_per / per_server) + servers_per * spare * (i_max > 0)
    lag = np.arange(t_n)[:, None] - np.arange(t_n)[None, :]
    window = sparse.csr_array(((lag >= 0) & (lag < offer.lifetime_months)).astype(float))
    owned_of = sparse.kron(window, sparse.identity(p_n), format="csr")
    ips, spi, i_top = (np.tile(a.ravel(), t_n) for a in (per_server, servers_per, i_max))
    pool_demand = sparse.csr_array(
        (np.where(offer.serves, offer.stps, 0.0).ravel(), (np.repeat(np.arange(k_n), c_n), np.arange(p_n))),
        shape=(k_n, p_n),
    )
    z_n = n if spare else 0
    blocks = [  # ([B, I, z] blocks, lower bound, upper bound)
        ([None, sparse.kron(sparse.identity(t_n), pool_demand), None], target.ravel(), np.inf),
        (
            [
                sparse.diags_array(ips) @ owned_of,
                -sparse.diags_array(spi),
                -sparse.diags_array(spi * ips),
            ],
            0.0,
            np.inf,
        ),
    ]
    if spare:
        blocks.append(([None, sparse.identity(n), -sparse.diags_array(i_top)], -np.inf, 0.0))
    if max_mw is not None:
        mw_row = sparse.csr_array(np.tile(offer.server_mw, k_n)[None, :])
        blocks.append(([sparse.kron(window, mw_row), None, None], -np.inf, max_mw))
    widths = (n, n, z_n)
    rows = []
    for parts, lo, hi in blocks:
        height = next(p.shape[0] for p in parts if p is not None)
        cells = [
            p if p is not None else sparse.csr_array((height, w))
            for p, w in zip(parts, widths, strict=True)
            if w
        ]
        rows.append(optimize.LinearConstraint(sparse.hstack(cells, format="csr"), lo, hi))
    rate = np.where(offer.serves, offer.capital + offer.opex, 0.0) * offer.unit
    cost = np.concatenate([np.outer(window.T @ demand.hours, rate.ravel()).ravel(), np.zeros(n + z_n)])
    upper = np.concatenate([np.tile(s_max.ravel(), t_n), i_top, np.ones(z_n)])
    res = optimize.milp(
        cost,
        constraints=rows,
        integrality=np.ones(cost.size),
        bounds=optimize.Bounds(0.0, upper),
        options={"mip_rel_gap": MIX_GAP, "time_limit": MIX_TIME_LIMIT_S},
    )
    if res.x is None:
        return None
    bought = np.round(res.x[:n]).reshape(t_n, k_n, c_n)
    return (owned_of @ bought.ravel()).reshape(t_n, k_n, c_n), bought, res.status == 0


def pair_bounds(demand: Demand, offer: Offer, headroom: Headroom) -> np.ndarray:
    """A lower bound on the TCO of every two-chip fleet, shape (C, C) [USD].

    Per stream, the cheaper chip's cost of its peak capacity with no rounding (instances as
    fractions, each month only its own need), plus the cheaper chip's spare domains in the months
    the stream has demand. Splitting a stream between the two chips cannot cost less: capacity
    costs at least the cheaper rate per token/s, and the stream carries a spare on at least one.
    Infinite where the pair leaves a stream unserved.
    """
    per_server, servers_per = _packing(offer)
    rate = np.where(offer.serves, offer.capital + offer.opex, np.inf)
    stps = np.where(offer.serves, offer.stps, 1.0)
    peak_hours = (demand.peak_tps * (1.0 + headroom.fraction)).T @ demand.hours  # (K,) [token/s x h]
    capacity = peak_hours[:, None] * offer.chips / stps * rate
    busy_hours = (demand.peak_tps > 0).T @ demand.hours
    spare = busy_hours[:, None] * servers_per * offer.unit * rate * headroom.spare_domain
    capacity = np.where(offer.serves, capacity, np.inf)
    spare = np.where(offer.serves, spare, np.inf)
    active = peak_hours > 0

    def cheaper(x: np.ndarray) -> np.ndarray:
        return np.minimum(x[active, :, None], x[active, None, :]).sum(axis=0)

    return cheaper(capacity) + cheaper(spare)


def cheapest_mix(
    demand: Demand, offer: Offer, headroom: Headroom, max_mw: float | None, incumbent: float
) -> tuple[list[int], np.ndarray, np.ndarray, bool] | None:
    """The cheapest fleet of two chips that costs less than ``incumbent`` [USD], if any.

    Branch and bound over the pairs: pairs in order of :func:`pair_bounds`, each solved by
    :func:`pair_program`, until the next pair's bound cannot beat the best fleet found (then the
    result is proven optimal) or :data:`MIX_CANDIDATES` programs have been solved.

    Returns
    -------
    tuple or None
        (the two chip columns, owned (T, K, 2), bought (T, K, 2), proven optimal), or None when
        no two-chip fleet under the cap costs less than ``incumbent``.
    """
    bound = pair_bounds(demand, offer, headroom)
    first, second = np.triu_indices(len(offer.hardware), 1)
    pair_bound = bound[first, second]
    best, best_cost, proven = None, incumbent, True
    for tried, i in enumerate(np.argsort(pair_bound, kind="stable")):
        if not pair_bound[i] < best_cost * (1.0 - MIX_GAP):
            break
        if tried == MIX_CANDIDATES:
            proven = False
            break
        pair = [int(first[i]), int(second[i])]
        solved = pair_program(demand, offer.take(pair), headroom, max_mw)
        if solved is None:
            continue
        owned, bought, optimal = solved
        proven &= optimal
        rate = np.nan_to_num(offer.take(pair).capital + offer.take(pair).opex) * offer.unit[pair]
        cost = demand.hours @ (owned * rate).sum(axis=(1, 2))
        if cost < best_cost and owned.any(axis=(0, 1)).all():
            best, best_cost = (pair, owned, bought), cost
    return None if best is None else (*best, proven)


#: Per-fleet columns of :attr:`Plan.plans`, in order.
PLAN_COLUMNS = (
    "fleet",
    "hardware",
    "servers",
    "chips",
    "servers_bought",
    "racks",
    "capex_usd",
    "capital_usd",
    "opex_usd",
    "tco_usd",
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
#: Monthly figures summed per (fleet, month, chip) in :attr:`Plan.monthly`.
MONTHLY_FIGURES = tuple(Fleet.__dataclass_fields__)


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
    """

    plans: pl.DataFrame
    monthly: pl.DataFrame
    unserved: pl.DataFrame
    demand: Demand
    headroom: Headroom
    max_mw: float | None
    mix_optimal: bool | None

    def to_json(self) -> dict:
        """``plans`` (``hardware`` a name, or a list of two for a mix) and ``monthly``, as dicts."""
        plans = [
            r | {"hardware": r["hardware"][0] if len(r["hardware"]) == 1 else r["hardware"]}
            for r in self.plans.to_dicts()
        ]
        return {
            "horizon": {"first": self.demand.months[0], "last": self.demand.months[-1]},
            "headroom": str(self.headroom),
            "max_mw": self.max_mw,
            "plans": plans,
            "monthly": self.monthly.to_dicts(),
            "unserved": self.unserved.to_dicts(),
        }


def _totals(f: Fleet, demand: Demand) -> dict[str, np.ndarray]:
    """Horizon totals of each fleet (one per column of ``f``)."""
    capital, opex = f.capital_usd.sum(axis=0), f.opex_usd.sum(axis=0)
    tco = capital + opex
    tokens = float(demand.output_tokens().sum())
    return {
        "servers": f.servers_owned.max(axis=0).astype(np.int64),
        "chips": f.chips_owned.max(axis=0).astype(np.int64),
        "servers_bought": f.servers_bought.sum(axis=0).astype(np.int64),
        "racks": f.racks.max(axis=0).astype(np.int64),
        "capex_usd": f.capex_usd.sum(axis=0),
        "capital_usd": capital,
        "opex_usd": opex,
        "tco_usd": tco,
        "output_tokens": np.full(tco.shape, tokens),
        "usd_per_mtok": tco / (tokens / 1e6),
        "peak_mw": f.mw.max(axis=0),
        "average_mw": demand.hours @ f.average_mw / demand.hours.sum(),
        "tco2e": f.operational_tco2e.sum(axis=0) + f.embodied_tco2e.sum(axis=0),
        "operational_tco2e": f.operational_tco2e.sum(axis=0),
        "embodied_tco2e": f.embodied_tco2e.sum(axis=0),
    }


def _monthly(f: Fleet, fleets: list[str], hardware: list[str], months: list[str]) -> pl.DataFrame:
    t_n, c_n = f.mw.shape
    return pl.DataFrame(
        {
            "fleet": np.tile(fleets, t_n),
            "month": np.repeat(months, c_n),
            "hardware": np.tile(hardware, t_n),
        }
        | {name: getattr(f, name).ravel() for name in MONTHLY_FIGURES}
    ).with_columns(pl.col("servers_owned", "servers_bought", "chips_owned", "racks").cast(pl.Int64))


def _summed(f: Fleet) -> Fleet:
    return Fleet(**{name: getattr(f, name).sum(axis=1, keepdims=True) for name in MONTHLY_FIGURES})


def plan(
    demand: Demand,
    evaluations: Mapping[tuple[str, int, int], Evaluation],
    *,
    headroom: Headroom | None = None,
    max_mw: float | None = None,
    hardware: Sequence[str] | None = None,
    mix: bool = True,
) -> Plan:
    """Every single-chip fleet that serves ``demand``, and the cheapest mix of two, by TCO.

    Parameters
    ----------
    demand : Demand
        The forecast on the horizon's calendar (:func:`tco.demand.demand_arrays`).
    evaluations : mapping
        (model, isl, osl) -> Evaluation for every stream (:func:`evaluate_streams`).
    headroom : Headroom, optional
        Capacity for failures (default ``n+1``).
    max_mw : float, optional
        Cap on provisioned power in every month [MW]. A single-chip fleet over it is listed
        after the others with ``meets_demand`` false; the mix must stay under it.
    hardware : sequence of str, optional
        Chips to plan with (default: all).
    mix : bool
        Also solve for the cheapest mix of two chips (a mixed-integer program).

    Returns
    -------
    Plan
    """
    if max_mw is not None and not (max_mw > 0 and np.isfinite(max_mw)):
        raise InvalidInput(f"max_mw must be a finite number > 0, got {max_mw!r}")
    headroom = headroom or Headroom.parse(DEFAULT_HEADROOM)
    off = offer(demand, evaluations, hardware)
    active = demand.peak_tps.max(axis=0) > 0  # streams with demand in the horizon
    serves_all = off.serves[active].all(axis=0)
    need = servers_needed(demand, off, headroom)
    owned, bought = keep(need, off.lifetime_months)
    singles = off.take(np.flatnonzero(serves_all))
    keep_cols = np.flatnonzero(serves_all)
    f = fleet_figures(owned[:, :, keep_cols], bought[:, :, keep_cols], singles, demand)
    totals = _totals(f, demand)
    table = pl.DataFrame(
        {"fleet": singles.hardware, "hardware": [[h] for h in singles.hardware]} | totals,
        schema_overrides={"hardware": pl.List(pl.String)},
    )
    monthly = [_monthly(f, singles.hardware, singles.hardware, demand.months)]
    cap = np.inf if max_mw is None else max_mw
    within = totals["peak_mw"] <= cap
    incumbent = totals["tco_usd"][within].min() if within.any() else np.inf
    solved = cheapest_mix(demand, off, headroom, max_mw, incumbent) if mix else None
    mix_optimal = None
    if solved is not None:
        used, m_owned, m_bought, mix_optimal = solved
        pair = off.take(used)
        fm = fleet_figures(m_owned, m_bought, pair, demand)
        label = " + ".join(pair.hardware)
        table = pl.concat(
            [
                table,
                pl.DataFrame(
                    {"fleet": [label], "hardware": [pair.hardware]} | _totals(_summed(fm), demand),
                    schema_overrides={"hardware": pl.List(pl.String)},
                ),
            ]
        )
        monthly.append(_monthly(fm, [label] * len(used), pair.hardware, demand.months))
    table = (
        table.with_columns(meets_demand=pl.col("peak_mw") <= cap)
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
    return Plan(table, monthly_df, unserved, demand, headroom, max_mw, mix_optimal)
