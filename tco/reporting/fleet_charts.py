"""The monthly chart of a fleet plan: servers owned, money spent and megawatts, month by month."""

from __future__ import annotations

import altair as alt
import polars as pl

#: Spend series: column of the monthly plan -> legend label.
SPEND = {
    "capex_usd": "purchases (capex, cash)",
    "capital_usd": "capital charge (amortized)",
    "opex_usd": "operating cost",
}
#: Power series: column -> legend label.
POWER = {"mw": "provisioned (TDP, host, PUE)", "average_mw": "average drawn"}
_WIDTH = 640
_HEIGHT = 150


def plan_chart(monthly: pl.DataFrame, fleet: str) -> alt.VConcatChart:
    """Servers owned (stacked by chip), spend and MW of ``fleet``, one panel each, months aligned.

    Parameters
    ----------
    monthly : polars.DataFrame
        :attr:`tco.planning.fleet.Plan.monthly` (rows of other fleets are ignored).
    fleet : str
        The fleet to draw (a chip, or ``"a + b"`` for a mix).

    Returns
    -------
    altair.VConcatChart
        Three panels over ``month``: servers [servers], spend [USD per month], power [MW].
    """
    rows = monthly.filter(pl.col("fleet") == fleet)
    month = alt.X("month:O", title="month", axis=alt.Axis(labelAngle=-60))
    servers = (
        alt.Chart(rows.select("month", "hardware", "servers_owned", "servers_bought"))
        .mark_bar()
        .encode(
            x=month,
            y=alt.Y("servers_owned:Q", title="servers owned", stack="zero"),
            color=alt.Color("hardware:N", title="chip"),
            tooltip=["month", "hardware", "servers_owned", "servers_bought"],
        )
        .properties(width=_WIDTH, height=_HEIGHT, title=f"{fleet}: servers owned")
    )
    per_month = rows.group_by("month", maintain_order=True).agg(pl.col([*SPEND, *POWER]).sum())

    def long(columns: dict[str, str], value: str) -> pl.DataFrame:
        return per_month.unpivot(
            list(columns), index="month", variable_name="series", value_name=value
        ).with_columns(pl.col("series").replace_strict(columns))

    spend = (
        alt.Chart(long(SPEND, "usd"))
        .mark_line(point=True)
        .encode(
            x=month,
            y=alt.Y("usd:Q", title="USD per month", axis=alt.Axis(format="~s")),
            color=alt.Color("series:N", title="spend", scale=alt.Scale(domain=list(SPEND.values()))),
            tooltip=["month", "series", alt.Tooltip("usd:Q", format=",.0f")],
        )
        .properties(width=_WIDTH, height=_HEIGHT, title="Spend per month")
    )
    power = (
        alt.Chart(long(POWER, "megawatts"))
        .mark_line(point=True)
        .encode(
            x=month,
            y=alt.Y("megawatts:Q", title="MW"),
            strokeDash=alt.StrokeDash("series:N", title="power"),
            tooltip=["month", "series", alt.Tooltip("megawatts:Q", format=",.3f")],
        )
        .properties(width=_WIDTH, height=_HEIGHT, title="Power")
    )
    return alt.vconcat(servers, spend, power).resolve_scale(color="independent")
