"""The cost equations of owning an accelerator, one small function per equation.

Every function is plain arithmetic, so it takes numpy arrays of magnitudes (the hot paths:
:func:`tco.economics.costs.cost_frame`, :mod:`tco.questions.monte_carlo`) or pint Quantities (the tests run them
on Quantities, so a wrong unit raises). Rates are per unit time; the registry converts.

References
----------
.. [1] R. A. Brealey, S. C. Myers, F. Allen, *Principles of Corporate Finance*, 13th ed.,
   McGraw-Hill, 2020, ch. 6 (equivalent annual cost; annuity factor).
.. [2] L. A. Barroso, U. Hoelzle, P. Ranganathan, *The Datacenter as a Computer*, 3rd ed.,
   Morgan & Claypool, 2018, sec. 6.1-6.3 (capital and operational cost of a data center;
   facility cost per W of provisioned IT power; PUE).
.. [3] The Green Grid, *PUE: a comprehensive examination of the metric*, white paper 49, 2012.
.. [4] J. Chung et al., "The ML.ENERGY Benchmark: Toward Automated Inference Energy Measurement
   and Optimization", arXiv 2505.06371, 2025 (accelerator power measured while serving; the
   fit of the serving floor and dynamic scale is in docs/model.md, section 8).
"""

from __future__ import annotations

import numpy as np
import pint

from perfmodel.units import Q_

#: One year of pint's calendar (365.25 days) in seconds: the period a yearly rate compounds over.
YEAR_S = Q_(1, "year").to("s").magnitude


def capital_recovery_rate(rate, lifetime, period=YEAR_S):
    """Annualized share of capital that repays it with interest over its lifetime.

    ``CRF = i / (1 - (1 + i)^-n)`` per period, with ``i = rate x period`` and ``n = lifetime /
    period`` [1]_ (eq. 6.1, the annuity factor's inverse); as ``i -> 0`` it tends to ``1 / n``
    (straight-line depreciation).

    Parameters
    ----------
    rate : numeric
        Cost of capital [1/s] (e.g. 10 %/year).
    lifetime : numeric
        Amortization period [s].
    period : numeric
        Compounding period [s] (default one year).

    Returns
    -------
    numeric
        Capital recovered per unit time per unit of capital [1/s].
    """
    if any(isinstance(x, pint.Quantity) for x in (rate, lifetime, period)):
        # Quantities at the boundary: base-unit magnitudes inside (a wrong dimension raises here)
        r, life = Q_(rate).to("1/s").magnitude, Q_(lifetime).to("s").magnitude
        per = period.to("s").magnitude if isinstance(period, pint.Quantity) else period
        return Q_(capital_recovery_rate(r, life, per), "1/s")
    i = np.asarray(rate * period, dtype=np.float64)
    n = lifetime / period
    safe = np.where(i > 0, i, 1.0)
    crf = safe / -np.expm1(-n * np.log1p(safe)) / period  # 1 - (1 + i)^-n without cancellation
    out = np.where(i > 0, crf, 1.0 / lifetime)
    return out[()] if out.ndim == 0 else out  # a scalar stays a scalar (it multiplies polars columns)


def annualized_capital(capital, rate, lifetime):
    """Cost per unit time of owning ``capital`` [1]_: ``capital x CRF(rate, lifetime)``.

    Parameters
    ----------
    capital : numeric
        Purchase price [USD].
    rate : numeric
        Cost of capital [1/s].
    lifetime : numeric
        Amortization period [s].

    Returns
    -------
    numeric
        Cost per unit time [USD/s].
    """
    return capital * capital_recovery_rate(rate, lifetime)


def colocation_cost(provisioned_power, colocation_price):
    """Facility rent per unit time: provisioned IT power x colocation price [2]_ (sec. 6.1).

    Parameters
    ----------
    provisioned_power : numeric
        Peak IT power the facility reserves [W].
    colocation_price : numeric
        Rent per provisioned power per unit time [USD/W/s] (quotes are per kW-month).

    Returns
    -------
    numeric
        Facility cost per unit time [USD/s].
    """
    return provisioned_power * colocation_price


def building_cost(provisioned_power, build_cost, rate, build_lifetime):
    """An owned building per unit time: ``build_cost x P_provisioned x CRF`` [2]_ (sec. 6.1).

    Parameters
    ----------
    provisioned_power : numeric
        Peak IT power the building is sized for [W].
    build_cost : numeric
        Construction cost per provisioned IT power [USD/W].
    rate : numeric
        Cost of capital [1/s].
    build_lifetime : numeric
        Amortization period of the building [s].

    Returns
    -------
    numeric
        Facility cost per unit time [USD/s].
    """
    return annualized_capital(build_cost * provisioned_power, rate, build_lifetime)


def facility_cost(provisioned_power, facility, colocation_price, build_cost, rate, build_lifetime):
    """The facility per unit time, by how the site pays for it [2]_ (sec. 6.1): colocation rent
    (:func:`colocation_cost`) or an owned building (:func:`building_cost`).

    Parameters
    ----------
    provisioned_power : numeric
        Peak IT power the facility reserves [W].
    facility : str
        ``colocation`` or ``build``.
    colocation_price : numeric
        Rent per provisioned power per unit time [USD/W/s].
    build_cost : numeric
        Construction cost per provisioned IT power [USD/W].
    rate : numeric
        Cost of capital [1/s].
    build_lifetime : numeric
        Amortization period of the building [s].

    Returns
    -------
    numeric
        Facility cost per unit time [USD/s].
    """
    if facility == "colocation":
        return colocation_cost(provisioned_power, colocation_price)
    if facility == "build":
        return building_cost(provisioned_power, build_cost, rate, build_lifetime)
    raise ValueError(f"facility must be 'colocation' or 'build', got {facility!r}")


def dynamic_power(
    energy_per_flop, flop_rate, energy_per_bit, bit_rate, tier2_energy_per_bit=0.0, tier2_bit_rate=0.0
):
    """Power of the work itself: ``e_FLOP x FLOP/s + e_bit x bit/s + e_bit,2 x bit/s_2``
    (arithmetic, memory traffic, and a second memory tier's traffic where a chip has one).

    Parameters
    ----------
    energy_per_flop : numeric
        Energy of one operation at the process node [J/FLOP].
    flop_rate : numeric
        Operations per second [FLOP/s].
    energy_per_bit : numeric
        Energy of moving one bit to or from memory [J/bit].
    bit_rate : numeric
        Memory traffic [bit/s].
    tier2_energy_per_bit : numeric, optional
        Energy per bit of the second tier [J/bit].
    tier2_bit_rate : numeric, optional
        Second-tier traffic [bit/s].

    Returns
    -------
    numeric
        Dynamic power [W].
    """
    return energy_per_flop * flop_rate + energy_per_bit * bit_rate + tier2_energy_per_bit * tier2_bit_rate


def serving_power(tdp, serving_floor, dynamic_scale, dynamic):
    """Power of a chip while serving: ``min(f x TDP + s x P_dynamic, TDP)`` [4]_.

    A serving chip draws far more than its work's physical energy: clocks, caches and the
    data movement on the die run whether a step is big or small. ``f`` and ``s`` are fitted
    to measured power (docs/model.md, section 8).

    Parameters
    ----------
    tdp : numeric
        Thermal design power, the cap [W].
    serving_floor : numeric
        Power of a chip serving at almost no load, as a fraction of its TDP [-].
    dynamic_scale : numeric
        Multiplier on the physical dynamic power [-].
    dynamic : numeric
        Dynamic power, :func:`dynamic_power` [W].

    Returns
    -------
    numeric
        Power while serving [W].
    """
    return np.minimum(serving_floor * tdp + dynamic_scale * dynamic, tdp)


def average_power(active, idle, utilization):
    """Mean power of a chip busy a fraction ``u`` of the time: ``u P_active + (1 - u) P_idle``.

    Parameters
    ----------
    active : numeric
        Power while serving [W].
    idle : numeric
        Power while idle [W].
    utilization : numeric
        Fraction of the time serving [-].

    Returns
    -------
    numeric
        Average power [W].
    """
    return utilization * active + (1.0 - utilization) * idle


def wall_power(it_power, pue):
    """Power drawn at the utility meter: IT power x PUE [3]_.

    Parameters
    ----------
    it_power : numeric
        Power of chips, hosts and network [W].
    pue : numeric
        Power usage effectiveness, total facility power / IT power [-].

    Returns
    -------
    numeric
        Wall power [W].
    """
    return it_power * pue


def energy_cost(power, energy_price):
    """Electricity per unit time: wall power x energy price.

    Parameters
    ----------
    power : numeric
        Wall power [W].
    energy_price : numeric
        Price of electricity [USD/J].

    Returns
    -------
    numeric
        Energy cost per unit time [USD/s].
    """
    return power * energy_price


def maintenance_cost(capital, maintenance):
    """Support contracts and spares per unit time: capital x yearly share [2]_ (sec. 6.2).

    Parameters
    ----------
    capital : numeric
        Hardware capital [USD].
    maintenance : numeric
        Share of capital spent per unit time [1/s].

    Returns
    -------
    numeric
        Maintenance cost per unit time [USD/s].
    """
    return capital * maintenance


def cost_per_token(cost_rate, token_rate):
    """Cost of one token: cost per unit time / tokens served per unit time.

    Parameters
    ----------
    cost_rate : numeric
        Cost per unit time [USD/s].
    token_rate : numeric
        Tokens served per unit time (STPS x utilization) [token/s].

    Returns
    -------
    numeric
        Cost per token [USD/token].
    """
    return cost_rate / token_rate
