"""Altair chart builders shared by the report and the app (each returns an ``alt.Chart``).

DRAM designs are drawn in blues and SRAM designs in oranges, so the headline comparison reads at
a glance; every axis names its unit.
"""

from __future__ import annotations

import altair as alt
import polars as pl

from perfmodel.units import ureg

#: Room for a chart's title, axis and legend [px]: Streamlit fits the whole chart in its height.
FRAME_HEIGHT = 160
#: A chart's plot is never shorter than this [px], so a chart of one or two designs still reads.
MIN_PLOT_HEIGHT = 90
#: Height of one design's row in a horizontal bar chart [px].
ROW_HEIGHT = 24
#: A legend under the chart, one entry a row and labels never cut, so it fits a phone's width.
_BELOW = alt.Legend(orient="bottom", columns=1, labelLimit=0)
#: Hypothetical and announced designs are drawn dashed; chips that ship, solid.
AVAILABILITY_DASH = alt.Scale(
    domain=["shipping", "announced", "hypothetical"], range=[[1, 0], [6, 3], [2, 2]]
)

#: DRAM designs in cool colours (blues, teals, greens, purples), SRAM designs in warm ones, so the
#: memory class reads at a glance and each chip's line can still be told from its neighbours. Enough
#: of each for every design of the packaged catalogs to have its own colour.
_DRAM = [
    "#1f4e9c",
    "#17a2b8",
    "#2e8b57",
    "#6a51a3",
    "#4292c6",
    "#00675b",
    "#8c6bb1",
    "#08306b",
    "#41ab5d",
    "#3f007d",
    "#6baed6",
    "#1c9099",
    "#74a9cf",
    "#88419d",
    "#005a32",
    "#9e9ac8",
    "#2b8cbe",
    "#006d2c",
    "#54278f",
    "#0570b0",
    "#66c2a4",
    "#807dba",
    "#225ea8",
    "#4eb3d3",
    "#238b45",
    "#756bb1",
    "#0868ac",
    "#7bccc4",
    "#4a1486",
    "#253494",
    "#99d8c9",
    "#a6bddb",
]
_SRAM = ["#d94801", "#c51b1b", "#fd8d3c", "#a63603", "#e7298a", "#fdae6b", "#b84c07", "#ce1256", "#f768a1"]


def design_palette(designs: pl.DataFrame) -> dict[str, str]:
    """A colour for each ``hardware`` name of ``designs`` (with its ``memory_class``): DRAM designs
    in cool colours, SRAM designs in warm ones, given in name order, so a design keeps its colour
    in every chart drawn with the same palette, whichever designs each chart shows."""
    rows = designs.select(pl.col("hardware").cast(pl.String), "memory_class").unique().sort("hardware")
    palette, counts = {}, {"SRAM": 0, "DRAM": 0}
    for name, cls in rows.iter_rows():
        kind = "SRAM" if cls == "SRAM" else "DRAM"
        colors = _SRAM if kind == "SRAM" else _DRAM
        palette[name] = colors[counts[kind] % len(colors)]
        counts[kind] += 1
    return palette


def design_colors(
    designs: pl.DataFrame, palette: dict[str, str] | None = None, key: str = "hardware"
) -> alt.Scale:
    """Colour scale over the ``hardware`` labels of ``designs``, each coloured by its ``key``
    column's name in ``palette`` (default: :func:`design_palette` of these designs)."""
    names = designs.select(pl.col(key).cast(pl.String).alias("hardware"), "memory_class")
    palette = palette if palette is not None else design_palette(names)
    missing = names.filter(~pl.col("hardware").is_in(list(palette)))
    palette = palette | (design_palette(missing) if missing.height else {})
    rows = designs.select(pl.col("hardware").cast(pl.String), pl.col(key).cast(pl.String).alias("_key"))
    rows = rows.unique(maintain_order=True)
    return alt.Scale(domain=rows["hardware"].to_list(), range=[palette[k] for k in rows["_key"]])


def frontier_chart(
    points: pl.DataFrame,
    metric: str = "tokens_per_usd",
    title: str = "",
    marks: pl.DataFrame | None = None,
    palette: dict[str, str] | None = None,
) -> alt.Chart:
    """UTPS against ``metric`` along each design's Pareto frontier (log-log).

    ``marks`` (optional) adds labelled points, e.g. the baseline and trade-off configurations: the
    first one's label is drawn below it, the others' above, so two marks at one point stay legible.
    ``palette``: a colour per design (:func:`design_palette`), the same in every view.
    """
    label = METRIC_LABELS.get(metric, metric)
    data = points.select("hardware", "memory_class", "utps", metric, "chips", "batch", "users")
    base = alt.Chart(data).encode(
        x=alt.X("utps:Q", scale=alt.Scale(type="log"), title="tokens/s per user"),
        y=alt.Y(f"{metric}:Q", scale=alt.Scale(type="log"), title=label),
        color=alt.Color("hardware:N", scale=design_colors(points, palette), title="design", legend=_BELOW),
        tooltip=[
            alt.Tooltip("hardware:N", title="design"),
            alt.Tooltip("memory_class:N", title="memory"),
            alt.Tooltip("utps:Q", title="tokens/s per user", format=",.0f"),
            alt.Tooltip(f"{metric}:Q", title=label, format=",.4~g"),
            alt.Tooltip("chips:Q", title="chips"),
            alt.Tooltip("batch:Q", title="batch"),
            alt.Tooltip("users:Q", title="users", format=","),
        ],
    )
    chart = base.mark_line(point=True, interpolate="step-after", opacity=0.85)
    if marks is not None and marks.height:
        data = marks.select("utps", metric, "label").with_row_index("order")
        m = alt.Chart(data).encode(x="utps:Q", y=f"{metric}:Q")
        first = alt.datum.order == 0
        chart = (
            chart
            + m.mark_point(size=180, shape="diamond", filled=True, color="black")
            + m.transform_filter(first)
            .mark_text(dx=-8, dy=12, align="right", baseline="top", fontWeight="bold")
            .encode(text="label:N")
            + m.transform_filter(~first)
            .mark_text(dx=8, dy=-10, align="left", baseline="bottom", fontWeight="bold")
            .encode(text="label:N")
        )
    heading = alt.TitleParams(
        title or f"tokens/s per user against {label}",
        subtitle="DRAM designs in cool colours, SRAM designs in warm ones; each step is a configuration",
    )
    return chart.properties(width=560, height=FRAME_HEIGHT + 300, title=heading)


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
            color=alt.Color(
                "part:N",
                title=None,
                scale=alt.Scale(domain=list(parts.values())),
                legend=_BELOW,
            ),
            tooltip=[
                alt.Tooltip("hardware:N", title="design"),
                alt.Tooltip("part:N", title="part"),
                alt.Tooltip("value:Q", title=unit, format=",.4~g"),
            ],
        )
        .properties(width=520, height=_height(len(order)), title=title)
    )


def _height(rows: int, per_row: float = 1.0) -> int:
    """Height of a chart with ``rows`` rows of bars [px]: its frame and a plot of at least
    :data:`MIN_PLOT_HEIGHT`."""
    return FRAME_HEIGHT + max(MIN_PLOT_HEIGHT, round(ROW_HEIGHT * per_row * rows))


def buyer_chart(
    curves: pl.DataFrame,
    metric: str,
    floor: float | None = None,
    title: str = "",
    palette: dict[str, str] | None = None,
) -> alt.Chart:
    """One line per design: ``metric`` against tokens/s per user along its frontier (log-log).

    ``curves`` is :func:`tco.questions.cost_curves.buyer_curves`; DRAM designs in cool colours, SRAM in warm
    ones (``palette``: :func:`design_palette`, the same in every view), announced and hypothetical
    designs dashed and marked in the legend, whose labels are never cut; ``floor`` [tokens/s per
    user] is drawn as a rule. Hover names the configuration.
    """
    label = METRIC_LABELS[metric]
    data = curves.filter(pl.col("metric") == metric).with_columns(name=pl.col("hardware").cast(pl.String))
    dash = "availability" in data.columns
    if dash:
        data = data.with_columns(
            hardware=pl.when(pl.col("availability") == "shipping")
            .then("hardware")
            .otherwise(pl.format("{} ({})", "hardware", "availability"))
        )
    cols = ["hardware", "utps", "value", "config", "users"] + (["availability"] if dash else [])
    encoding = {
        "x": alt.X("utps:Q", scale=alt.Scale(type="log"), title="tokens/s per user"),
        "y": alt.Y("value:Q", scale=alt.Scale(type="log"), title=label),
        "color": alt.Color(
            "hardware:N",
            scale=design_colors(data, palette, key="name"),
            title="design",
            legend=alt.Legend(orient="bottom", columns=2, symbolLimit=0, labelLimit=0),
        ),
        "order": alt.Order("utps:Q"),
        "tooltip": [
            alt.Tooltip("hardware:N", title="design"),
            *([alt.Tooltip("availability:N", title="availability")] if dash else []),
            alt.Tooltip("utps:Q", title="tokens/s per user", format=",.0f"),
            alt.Tooltip("value:Q", title=label, format=",.4~g"),
            alt.Tooltip("config:N", title="configuration"),
            alt.Tooltip("users:Q", title="users", format=","),
        ],
    }
    if dash:
        encoding["strokeDash"] = alt.StrokeDash(
            "availability:N",
            scale=AVAILABILITY_DASH,
            legend=None,  # the design legend names each design's availability
        )
    chart = alt.Chart(data.select(cols)).mark_line(point=alt.OverlayMarkDef(size=18)).encode(**encoding)
    if floor:
        rule = alt.Chart(pl.DataFrame({"utps": [floor], "text": [f"floor {floor:,.0f}"]}))
        chart = (
            chart
            + rule.mark_rule(color="#b00020", strokeDash=[4, 3]).encode(x="utps:Q")
            + rule.mark_text(color="#b00020", align="left", dx=4, baseline="top", y=4).encode(
                x="utps:Q", text="text:N"
            )
        )
    legend_rows = -(-data["hardware"].n_unique() // 2)
    return chart.properties(
        width=520,
        height=FRAME_HEIGHT + 300 + 20 * legend_rows,
        title=title or label[0].upper() + label[1:],
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
                legend=_BELOW,
            ),
            tooltip=[
                alt.Tooltip("hardware:N", title="design"),
                alt.Tooltip("memory_class:N", title="memory"),
                alt.Tooltip(f"{metric}:Q", title=METRIC_LABELS[metric], format=",.4~g"),
            ],
        )
        .properties(width=420, height=_height(rows.height), title=METRIC_LABELS[metric])
    )


METRIC_LABELS = {
    "tokens_per_usd": "tokens per USD",
    "tokens_per_joule": "tokens per joule (tokens/s per W)",
    "usd_per_mtok": "USD per million tokens",
    "gco2e_per_mtok": "gCO2e per million tokens",
    "stps_per_chip": "output tokens/s per chip",
}


def time_breakdown_chart(ranked: pl.DataFrame) -> alt.Chart:
    """Where the time of each design's decode step goes: max(compute, memory) and the exposed collectives [ms]."""
    ms = ureg.Quantity(1.0, "s").to("ms").magnitude
    rows = ranked.filter(pl.col("t_batch_s").is_not_null()).with_columns(
        overlapped=pl.max_horizontal("t_compute_s", "t_mem_s") * ms
    )
    compute_bound = pl.col("t_compute_s") >= pl.col("t_mem_s")
    rows = rows.with_columns(
        compute_ms=pl.when(compute_bound).then(pl.col("overlapped")).otherwise(0.0),
        memory_ms=pl.when(compute_bound).then(0.0).otherwise(pl.col("overlapped")),
        exposed_ms=pl.col("t_exposed_s") * ms,
    )
    parts = {"compute_ms": "compute-bound", "memory_ms": "memory-bound", "exposed_ms": "exposed collectives"}
    return _stacked(rows, parts, "time of one decode step [ms]", "Where the time of one decode step goes")


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
            y=alt.Y(
                "hardware:N",
                sort=ranked["hardware"].to_list(),
                title=None,
                axis=alt.Axis(labelOverlap=False, labelLimit=160),
            ),
            x=alt.X("gib:Q", title="memory [GiB]"),
            yOffset="what:N",
            color=alt.Color("what:N", title=None, legend=_BELOW),
            tooltip=[
                alt.Tooltip("hardware:N", title="design"),
                alt.Tooltip("what:N", title="memory"),
                alt.Tooltip("gib:Q", title="GiB", format=",.1f"),
            ],
        )
        .properties(width=520, height=_height(ranked.height, 1.5), title="Memory needed against memory held")
    )


def sweep_chart(sweep: pl.DataFrame, x: str, x_title: str, title: str) -> alt.Chart:
    """UTPS against a swept figure (log-log), one line per model and tensor parallelism."""
    data = sweep.with_columns(series=pl.format("{} TP{}", "model", "tp")).select("series", x, "utps", "bound")
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(f"{x}:Q", scale=alt.Scale(type="log"), title=x_title),
            y=alt.Y("utps:Q", scale=alt.Scale(type="log"), title="tokens/s per user"),
            color=alt.Color("series:N", title="model, parallelism", legend=_BELOW),
            tooltip=[
                alt.Tooltip("series:N", title="model, parallelism"),
                alt.Tooltip(f"{x}:Q", title=x_title, format=",.3~g"),
                alt.Tooltip("utps:Q", title="tokens/s per user", format=",.0f"),
                alt.Tooltip("bound:N", title="limited by"),
            ],
        )
        .properties(width=520, height=FRAME_HEIGHT + 260, title=title)
    )
