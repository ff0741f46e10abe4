"""Altair chart builders shared by the report and the app (each returns an ``alt.Chart``).

DRAM designs are drawn in blues and SRAM designs in oranges, so the headline comparison reads at
a glance; every axis names its unit.
"""

from __future__ import annotations

import altair as alt
import polars as pl

_DRAM = [
    "#08306b",
    "#08519c",
    "#2171b5",
    "#4292c6",
    "#6baed6",
    "#9ecae1",
    "#3182bd",
    "#1c4f8a",
    "#5b8fc7",
    "#0b3d73",
    "#2f6fae",
    "#7fb2de",
    "#165a9c",
    "#4d87c0",
]
_SRAM = ["#d94801", "#f16913", "#fd8d3c", "#a63603", "#fdae6b", "#e6550d", "#b84c07"]


def design_colors(designs: pl.DataFrame) -> alt.Scale:
    """Colour scale over ``hardware`` names: DRAM designs in blues, SRAM designs in oranges."""
    rows = designs.select("hardware", "memory_class").unique(maintain_order=True)
    domain, colors = [], []
    dram = sram = 0
    for name, cls in rows.iter_rows():
        domain.append(name)
        if cls == "SRAM":
            colors.append(_SRAM[sram % len(_SRAM)])
            sram += 1
        else:
            colors.append(_DRAM[dram % len(_DRAM)])
            dram += 1
    return alt.Scale(domain=domain, range=colors)


def frontier_chart(
    points: pl.DataFrame, metric: str = "tokens_per_usd", title: str = "", marks: pl.DataFrame | None = None
) -> alt.Chart:
    """UTPS against ``metric`` along each design's Pareto frontier (log-log).

    ``marks`` (optional) adds labelled points, e.g. the baseline and trade-off configurations.
    """
    label = METRIC_LABELS.get(metric, metric)
    data = points.select("hardware", "memory_class", "utps", metric, "chips", "batch", "users")
    base = alt.Chart(data).encode(
        x=alt.X("utps:Q", scale=alt.Scale(type="log"), title="UTPS: tokens/s per user"),
        y=alt.Y(f"{metric}:Q", scale=alt.Scale(type="log"), title=label),
        color=alt.Color("hardware:N", scale=design_colors(points), title="design"),
        tooltip=[
            "hardware",
            "memory_class",
            alt.Tooltip("utps:Q", format=",.0f"),
            alt.Tooltip(f"{metric}:Q", format=",.4~g"),
            "chips",
            "batch",
            "users",
        ],
    )
    chart = base.mark_line(point=True, interpolate="step-after", opacity=0.85)
    if marks is not None and marks.height:
        m = alt.Chart(marks.select("utps", metric, "label")).encode(x="utps:Q", y=f"{metric}:Q")
        chart = (
            chart
            + m.mark_point(size=180, shape="diamond", filled=True, color="black")
            + m.mark_text(dx=8, dy=-10, align="left", fontWeight="bold").encode(text="label:N")
        )
    heading = alt.TitleParams(
        title or f"UTPS against {label}",
        subtitle="DRAM designs in blue, SRAM designs in orange; each step is a configuration",
    )
    return chart.properties(width=560, height=340, title=heading)


def _stacked(ranked: pl.DataFrame, parts: dict[str, str], unit: str, title: str) -> alt.Chart:
    rows = ranked.filter(pl.col("meets_floor")) if "meets_floor" in ranked.columns else ranked
    long = rows.select("hardware", *parts).unpivot(index="hardware", variable_name="part", value_name="value")
    long = long.with_columns(pl.col("part").replace_strict(parts))
    order = rows["hardware"].to_list()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("hardware:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=160)),
            x=alt.X("value:Q", title=unit, stack="zero"),
            color=alt.Color("part:N", title=None, scale=alt.Scale(domain=list(parts.values()))),
            tooltip=["hardware", "part", alt.Tooltip("value:Q", format=",.4~g")],
        )
        .properties(width=520, height=max(80, 22 * len(order)), title=title)
    )


def cost_breakdown_chart(ranked: pl.DataFrame) -> alt.Chart:
    """$/Mtok of each design meeting the floor, split into capital, energy and other."""
    parts = {
        "capex_usd_per_mtok": "capital",
        "energy_usd_per_mtok": "energy",
        "other_usd_per_mtok": "facility + maintenance + operations",
    }
    return _stacked(ranked, parts, "USD per million tokens", "Cost per million tokens")


def carbon_breakdown_chart(ranked: pl.DataFrame) -> alt.Chart:
    """gCO2e/Mtok of each design meeting the floor, split into operational and embodied."""
    parts = {
        "operational_gco2e_per_mtok": "operational (grid)",
        "embodied_gco2e_per_mtok": "embodied (manufacturing)",
    }
    return _stacked(ranked, parts, "gCO2e per million tokens", "Carbon per million tokens")


def efficiency_bars(ranked: pl.DataFrame, metric: str = "tokens_per_usd") -> alt.Chart:
    """One bar per design meeting the floor, DRAM and SRAM coloured apart."""
    rows = ranked.filter(pl.col("meets_floor"))
    return (
        alt.Chart(rows.select("hardware", "memory_class", metric))
        .mark_bar()
        .encode(
            y=alt.Y("hardware:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=160)),
            x=alt.X(f"{metric}:Q", title=METRIC_LABELS[metric]),
            color=alt.Color(
                "memory_class:N",
                scale=alt.Scale(domain=["DRAM", "SRAM"], range=["#2171b5", "#f16913"]),
                title="memory",
            ),
            tooltip=["hardware", "memory_class", alt.Tooltip(f"{metric}:Q", format=",.4~g")],
        )
        .properties(width=420, height=max(80, 22 * rows.height), title=METRIC_LABELS[metric])
    )


METRIC_LABELS = {
    "tokens_per_usd": "tokens per USD",
    "tokens_per_joule": "tokens per joule (tokens/s per W)",
    "usd_per_mtok": "USD per million tokens",
    "gco2e_per_mtok": "gCO2e per million tokens",
    "stps_per_chip": "STPS per chip (tokens/s)",
}


def time_breakdown_chart(ranked: pl.DataFrame) -> alt.Chart:
    """Where each design's T_batch goes: max(compute, memory) and the exposed collectives [ms]."""
    rows = ranked.filter(pl.col("t_batch_s").is_not_null()).with_columns(
        overlapped=pl.max_horizontal("t_compute_s", "t_mem_s")
    )
    rows = rows.with_columns(
        compute_ms=pl.when(pl.col("t_compute_s") >= pl.col("t_mem_s"))
        .then(pl.col("overlapped"))
        .otherwise(0.0)
        * 1e3,
        memory_ms=pl.when(pl.col("t_compute_s") < pl.col("t_mem_s")).then(pl.col("overlapped")).otherwise(0.0)
        * 1e3,
        exposed_ms=pl.col("t_exposed_s") * 1e3,
    )
    parts = {"compute_ms": "compute-bound", "memory_ms": "memory-bound", "exposed_ms": "exposed collectives"}
    return _stacked(rows, parts, "T_batch per token step [ms]", "Where the time of one decode step goes")


def memory_chart(ranked: pl.DataFrame) -> alt.Chart:
    """Memory an instance needs against what its chips hold [GiB], per design."""
    long = ranked.select(
        "hardware",
        pl.col("memory_needed_gib").alias("needed by the model instance"),
        pl.col("memory_available_gib").alias("held by its chips"),
    ).unpivot(index="hardware", variable_name="what", value_name="gib")
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("hardware:N", sort=ranked["hardware"].to_list(), title=None),
            x=alt.X("gib:Q", title="memory [GiB]"),
            yOffset="what:N",
            color=alt.Color("what:N", title=None),
            tooltip=["hardware", "what", alt.Tooltip("gib:Q", format=",.1f")],
        )
        .properties(width=520, height=max(80, 30 * ranked.height), title="Memory needed against memory held")
    )


def sweep_chart(sweep: pl.DataFrame, x: str, x_title: str, title: str) -> alt.Chart:
    """UTPS against a swept figure (log-log), one line per model and tensor parallelism."""
    data = sweep.with_columns(series=pl.format("{} TP{}", "model", "tp")).select("series", x, "utps", "bound")
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", scale=alt.Scale(type="log"), title=x_title),
            y=alt.Y("utps:Q", scale=alt.Scale(type="log"), title="UTPS: tokens/s per user"),
            color=alt.Color("series:N", title="model, parallelism"),
            tooltip=[
                "series",
                alt.Tooltip(f"{x}:Q", format=",.3~g"),
                alt.Tooltip("utps:Q", format=",.0f"),
                "bound",
            ],
        )
        .properties(width=520, height=300, title=title)
    )
