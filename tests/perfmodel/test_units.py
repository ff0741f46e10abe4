"""The package's unit registry: information, compute, tokens, money and emissions are dimensions
of their own, so a wrong unit raises instead of silently producing a wrong number."""

from __future__ import annotations

import itertools

import pint
import pytest

from perfmodel.units import Q_, ureg

#: Decimal/binary prefix ratios are computed in double precision by pint; a few ulp of slack.
FLOAT_RTOL = 1e-15

OWN_DIMENSIONS = {
    "FLOP": "[compute]",
    "token": "[token]",
    "USD": "[currency]",
    "gCO2e": "[emissions]",
    "B": "[information]",
}


def test_bandwidth_does_not_convert_to_frequency():
    # pint's stock registry makes the byte dimensionless, so GB/s -> Hz would "work".
    with pytest.raises(pint.DimensionalityError):
        Q_(1, "GB/s").to("Hz")


def test_byte_is_not_dimensionless():
    assert not Q_(1, "B").dimensionless
    with pytest.raises(pint.DimensionalityError):
        Q_(1, "B").to("dimensionless")


def test_gib_is_exactly_two_to_the_thirty_bytes():
    value = Q_(1, "GiB").to("B").magnitude
    assert value == 2**30
    assert Q_(1, "GB").to("B").magnitude == 10**9


def test_bit_is_an_eighth_of_a_byte():
    assert Q_(8, "bit").to("B").magnitude == 1


def test_terabyte_per_second_in_tebibyte_per_second():
    ratio = Q_(1, "TB/s").to("TiB/s").magnitude
    assert ratio == pytest.approx(10**12 / 2**40, rel=FLOAT_RTOL)
    # and back: the study's "4 TB/s" (binary) is 4.398046511104 decimal TB/s
    assert Q_(4, "TiB/s").to("TB/s").magnitude == pytest.approx(4.398046511104, rel=FLOAT_RTOL)


@pytest.mark.parametrize("unit,dimension", sorted(OWN_DIMENSIONS.items()))
def test_custom_units_have_their_own_dimension(unit, dimension):
    assert str(ureg.Unit(unit).dimensionality) == dimension


@pytest.mark.parametrize("a,b", list(itertools.permutations(OWN_DIMENSIONS, 2)))
def test_custom_dimensions_do_not_convert_into_each_other(a, b):
    with pytest.raises(pint.DimensionalityError):
        Q_(1, a).to(b)


@pytest.mark.parametrize("unit", ["FLOP", "token", "USD", "gCO2e"])
def test_custom_units_are_not_dimensionless(unit):
    with pytest.raises(pint.DimensionalityError):
        Q_(1, unit).to("dimensionless")


def test_emissions_are_not_mass():
    with pytest.raises(pint.DimensionalityError):
        Q_(1, "gCO2e").to("g")


def test_kilogram_co2e_is_a_thousand_grams():
    assert Q_(1, "kgCO2e").to("gCO2e").magnitude == pytest.approx(1000, rel=FLOAT_RTOL)
    assert Q_(2.5, "MgCO2e").to("kgCO2e").magnitude == pytest.approx(2500, rel=FLOAT_RTOL)


def test_flop_rate_prefixes():
    assert Q_(1, "TFLOP/s").to("FLOP/s").magnitude == pytest.approx(1e12, rel=FLOAT_RTOL)


def test_token_aliases():
    assert Q_(3, "tokens").to("token").magnitude == 3
    assert Q_(3, "tok").to("token").magnitude == 3


def test_usd_per_kwh_times_energy_is_money():
    cost = Q_(0.1, "USD/kWh") * Q_(2, "MWh")
    assert cost.to("USD").magnitude == pytest.approx(200, rel=FLOAT_RTOL)


def test_year_is_julian():
    # amortization uses pint's year = 365.25 days
    assert Q_(1, "year").to("h").magnitude == pytest.approx(8766, rel=FLOAT_RTOL)


def test_registry_is_pints_application_registry():
    app = pint.get_application_registry()
    assert app.get() is ureg
    # a Quantity made through the application registry uses the package's definitions
    q = app.Quantity(1, "GB/s")
    with pytest.raises(pint.DimensionalityError):
        q.to("Hz")


def test_quantities_of_the_registry_interoperate():
    total = Q_(1, "GiB") + ureg.Quantity(512, "MiB")
    assert total.to("MiB").magnitude == 1536
