"""The cost equations of tco.equations on pint Quantities (a wrong unit raises) and on paper."""

from __future__ import annotations

import numpy as np
import pint
import pytest

from perfmodel.units import Q_
from tco import equations as eq

#: Closed forms evaluated with floats: only rounding differs.
EXACT = 1e-12
#: Figures written out with 7 significant digits.
PAPER = 1e-6


def test_capital_recovery_on_quantities():
    """CRF(10 %/year, 5 years) = 0.1 / (1 - 1.1^-5) = 0.2637975 per year (Brealey-Myers annuity)."""
    crf = eq.capital_recovery_rate(Q_(0.10, "1/year"), Q_(5, "year"), Q_(1, "year"))
    assert crf.to("1/year").magnitude == pytest.approx(0.2637975, rel=PAPER)
    cost = eq.annualized_capital(Q_(41_700, "USD"), Q_(0.10, "1/year"), Q_(5, "year"))
    assert cost.to("USD/hour").magnitude == pytest.approx(41_700 * 0.2637975 / 8766, rel=PAPER)


def test_capital_recovery_tends_to_straight_line():
    """As the rate goes to 0, CRF -> 1/n; at 0 exactly it is straight-line depreciation."""
    years = Q_(1, "year").to("s").magnitude
    assert eq.capital_recovery_rate(0.0, 5 * years) * years == pytest.approx(0.2, rel=EXACT)
    tiny = eq.capital_recovery_rate(1e-9 / years, 5 * years) * years
    assert tiny == pytest.approx(0.2, rel=1e-8)
    # and it grows with the rate
    rates = np.linspace(0.0, 0.3, 31) / years
    crf = eq.capital_recovery_rate(rates, 5 * years)
    assert (np.diff(crf) > 0).all()


def test_facility_energy_and_token_cost_on_quantities():
    colo = eq.colocation_cost(Q_(1.365, "kW"), Q_(163, "USD/kW/month"))
    assert colo.to("USD/hour").magnitude == pytest.approx(1.365 * 163 / 730.5, rel=EXACT)
    build = eq.building_cost(Q_(1, "kW"), Q_(10.7, "USD/W"), Q_(0.10, "1/year"), Q_(15, "year"))
    assert build.to("USD/year").magnitude == pytest.approx(10_700 * 0.1 / (1 - 1.1**-15), rel=PAPER)
    wall = eq.wall_power(eq.average_power(Q_(700, "W"), Q_(210, "W"), 0.7) + Q_(665, "W"), 1.56)
    assert wall.to("W").magnitude == pytest.approx((0.7 * 700 + 0.3 * 210 + 665) * 1.56, rel=EXACT)
    energy = eq.energy_cost(wall, Q_(0.081, "USD/kWh"))
    assert energy.to("USD/hour").magnitude == pytest.approx(wall.to("kW").magnitude * 0.081, rel=EXACT)
    maint = eq.maintenance_cost(Q_(41_700, "USD"), Q_(0.03, "1/year"))
    per_mtok = eq.cost_per_token(maint, Q_(1_000, "token/s"))
    assert per_mtok.to("USD/Mtoken").magnitude == pytest.approx(41_700 * 0.03 / (8766 * 3.6), rel=EXACT)


def test_wrong_units_raise():
    with pytest.raises(pint.DimensionalityError):
        eq.energy_cost(Q_(1, "kW"), Q_(0.1, "USD/kWh")).to("USD")
    with pytest.raises(pint.DimensionalityError):
        eq.colocation_cost(Q_(1, "kW"), Q_(163, "USD/kW/month")).to("USD/W")


def test_facility_cost_by_site_kind():
    """Colocation rents the provisioned kW; a building annualizes 10.7 USD/W over 15 years at 10 %."""
    p = Q_(1.365, "kW")
    colo = eq.facility_cost(
        p, "colocation", Q_(163, "USD/kW/month"), Q_(10.7, "USD/W"), Q_(0.1, "1/year"), Q_(15, "year")
    )
    build = eq.facility_cost(
        p, "build", Q_(163, "USD/kW/month"), Q_(10.7, "USD/W"), Q_(0.1, "1/year"), Q_(15, "year")
    )
    assert colo.to("USD/year").magnitude == pytest.approx(1.365 * 163 * 12, rel=EXACT)
    assert build.to("USD/year").magnitude == pytest.approx(1_365 * 10.7 * 0.1 / (1 - 1.1**-15), rel=PAPER)
    with pytest.raises(ValueError, match="facility"):
        eq.facility_cost(p, "tent", Q_(1, "USD/kW/month"), Q_(1, "USD/W"), Q_(0.1, "1/year"), Q_(1, "year"))


def test_serving_power_on_quantities():
    """H100 at 1 PFLOP/s FP8 (0.2 pJ/FLOP) and 2 TB/s (5 pJ/bit): 200 + 80 = 280 W dynamic;
    0.766 x 700 W + 0.62 x 280 W = 536.2 + 173.6 = 709.8 W, capped at the 700 W TDP."""
    dyn = eq.dynamic_power(Q_(0.2, "pJ/FLOP"), Q_(1, "PFLOP/s"), Q_(5, "pJ/bit"), Q_(2, "TB/s"))
    assert dyn.to("W").m == pytest.approx(280.0)
    assert eq.serving_power(Q_(700, "W"), 0.766, 0.62, dyn).to("W").m == pytest.approx(700.0)
    light = eq.serving_power(Q_(700, "W"), 0.766, 0.62, dyn / 10)
    assert light.to("W").m == pytest.approx(536.2 + 17.36)
    with pytest.raises(pint.DimensionalityError):
        eq.dynamic_power(Q_(0.2, "pJ/FLOP"), Q_(1, "PFLOP/s"), Q_(5, "pJ/bit"), Q_(2, "TB"))
