"""The activity power model against GPU draw measured while serving (ML.ENERGY Leaderboard v3).

ML.ENERGY measures steady-state GPU power with Zeus while vLLM serves chat requests
(github.com/ml-energy/leaderboard, public/data/models/*.json @ 0cd52dab89, field
``avg_power_watts`` per GPU, 184 configurations each on H100 SXM and B200, batch 8 to 256).
Their input lengths are not published with the results, so the per-point activity cannot be
rebuilt; what can be checked is the envelope: a chip at its lightest load draws no less than
the model's static power, and at its heaviest no more than its TDP.
"""

import pytest

from tco.catalogs import load_catalogs
from tco.chip_cost import chip_table

#: Lowest and highest measured draw per GPU [W] over the leaderboard's configurations.
MEASURED_DRAW_W = {"h100-sxm": (230.7, 690.1), "b200-hgx": (304.8, 974.6)}


@pytest.mark.parametrize("chip", sorted(MEASURED_DRAW_W))
def test_power_model_envelope_holds_the_measured_draw(chip):
    row = chip_table(load_catalogs()).filter(hardware=chip).row(0, named=True)
    low, high = MEASURED_DRAW_W[chip]
    assert row["static_power_w"] <= low  # idle-to-light floor of the activity model
    assert high <= row["tdp_w"]  # the cap of the activity model
    assert low <= 0.5 * row["tdp_w"]  # light load sits far below TDP: a TDP-only model overstates it
