"""Plotly chart builders: a published (already suppressed) frame in, a Figure out; no Streamlit calls.

One colour-blind-safe theme (Okabe–Ito), titles that state the subject and the population (N, period),
axes with units, hover text, CI bands. The same builders serve the dashboard and the static evidence
pack (`to_image` renders PNG/SVG with kaleido and Debian's chromium).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from peer_outcomes.analysis.disclosure import label

# plotly_white cut to the trace types drawn here (its whole layout kept): a figure gets a deep copy of its
# template, and the full one, with defaults for 24 trace types, was about half the CPU of building a chart.
# The same look, pixel for pixel (benchmarks/same_pack.py), and a smaller figure sent to every page.
_WHITE = pio.templates["plotly_white"]
TEMPLATE = go.layout.Template(layout=_WHITE.layout, data={t: _WHITE.data[t] for t in ("scatter", "bar", "heatmap")})

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
CAUSE_COLOURS = {"relapse": "#D55E00", "dropout": "#E69F00", "completion": "#009E73"}
FONT = "Liberation Sans, Arial, sans-serif"


def _layout(fig: go.Figure, title: str, population: str, x: str, y: str, height: int = 440) -> go.Figure:
    fig.update_layout(
        title={"text": f"{title}<br><sup>{population}</sup>", "x": 0.01, "xanchor": "left"},
        xaxis_title=x,
        yaxis_title=y,
        colorway=OKABE_ITO,
        font={"family": FONT, "size": 13},
        template=TEMPLATE,
        height=height,
        margin={"l": 60, "r": 20, "t": 80, "b": 50},
        legend={"orientation": "h", "y": -0.18, "x": 0},
        hovermode="closest",
    )
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _step_with_band(fig: go.Figure, d: pd.DataFrame, name: str, colour: str, y: str, lo: str, hi: str, unit: str) -> None:
    """One step curve with its shaded 95% CI band (hover: time, estimate, CI, rounded number at risk)."""
    t = d["time"].to_numpy()
    fig.add_trace(go.Scatter(x=t, y=d[hi], mode="lines", line={"width": 0, "shape": "hv"}, showlegend=False,
                             hoverinfo="skip", legendgroup=name))  # fmt: skip
    fig.add_trace(go.Scatter(x=t, y=d[lo], mode="lines", line={"width": 0, "shape": "hv"}, fill="tonexty",
                             fillcolor=_rgba(colour, 0.18), showlegend=False, hoverinfo="skip", legendgroup=name))  # fmt: skip
    custom = np.column_stack([d[lo], d[hi], d["n_at_risk"] if "n_at_risk" in d else np.full(len(d), np.nan)])
    fig.add_trace(
        go.Scatter(
            x=t, y=d[y], mode="lines", name=name, legendgroup=name, line={"color": colour, "shape": "hv", "width": 2},
            customdata=custom,
            hovertemplate=f"<b>{name}</b><br>day %{{x:.0f}}<br>{unit} %{{y:.1%}} (95% CI %{{customdata[0]:.1%}}–"
            "%{customdata[1]:.1%})<br>at risk ≈ %{customdata[2]:,.0f}<extra></extra>",
        )  # fmt: skip
    )


def km_curve(curve: pd.DataFrame, title: str, population: str, y_label: str = "Still engaged") -> go.Figure:
    """Kaplan–Meier step curves per group with CI bands; y in percent, x in days since enrollment."""
    fig = go.Figure()
    for i, (g, d) in enumerate(curve.groupby("group", sort=True)):
        _step_with_band(fig, d, str(g), OKABE_ITO[i % len(OKABE_ITO)], "survival", "lower_95", "upper_95", y_label)
    _layout(fig, title, population, "Days since enrollment", f"{y_label} (%)")
    fig.update_xaxes(rangemode="tozero")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return fig


def cif_curve(cif: pd.DataFrame, title: str, population: str) -> go.Figure:
    """Cumulative incidence of each competing outcome (one colour per cause, dashes per group)."""
    fig = go.Figure()
    dashes = ["solid", "dash", "dot", "dashdot", "longdash"]
    for j, (g, dg) in enumerate(cif.groupby("group", sort=True)):
        for cause, d in dg.groupby("cause", sort=False):
            d = d.rename(columns={"cif": "est"})
            name = str(cause) if g == "All" else f"{cause} – {g}"
            colour = CAUSE_COLOURS.get(str(cause), OKABE_ITO[j])
            _step_with_band(fig, d, name, colour, "est", "lower_95", "upper_95", "cumulative incidence")
            fig.data[-1].line.dash = dashes[j % len(dashes)]
    _layout(fig, title, population, "Days since enrollment", "Cumulative incidence (%)")
    fig.update_xaxes(rangemode="tozero")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def cohort_heatmap(cells: pd.DataFrame, title: str, population: str) -> go.Figure:
    """Share still engaged by enrollment month (rows) and months since enrollment (columns)."""
    grid = cells.pivot(index="cohort_month", columns="months", values="survival").sort_index()
    text = grid.map(lambda v: "" if pd.isna(v) else f"{v:.0%}")
    extra = [c for c in ("lower_95", "upper_95", "n_at_risk") if c in cells]
    custom = np.dstack([cells.pivot(index="cohort_month", columns="months", values=c).reindex_like(grid).to_numpy(float)
                        for c in extra]) if extra else None  # fmt: skip
    hover = " (95% CI %{customdata[0]:.1%}–%{customdata[1]:.1%})<br>at risk ≈ %{customdata[2]:,.0f}" if len(extra) == 3 else ""
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(), x=[f"{m}" for m in grid.columns], y=list(grid.index), text=text.to_numpy(),
            texttemplate="%{text}", colorscale="Cividis", zmin=0, zmax=1, colorbar={"title": "engaged", "tickformat": ".0%"},
            customdata=custom, hoverongaps=False,
            hovertemplate=f"enrolled %{{y}}<br>month %{{x}}<br>still engaged %{{z:.1%}}{hover}<extra></extra>",
        )  # fmt: skip
    )
    _layout(fig, title, population, "Months since enrollment", "Enrollment month", height=max(360, 22 * len(grid) + 140))
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def forest(terms: pd.DataFrame, title: str, population: str) -> go.Figure:
    """Hazard ratios with 95% CIs on a log axis; 1 = no difference from the reference level."""
    d = terms.iloc[::-1].replace([np.inf, -np.inf], np.nan)
    vals = d[["hr", "hr_lower_95", "hr_upper_95"]].to_numpy(float)
    vals = vals[np.isfinite(vals) & (vals > 0)]  # a log axis: a bound of 0 or inf is drawn to the edge
    lo = float(vals.min()) / 1.2 if vals.size else 0.5
    hi = float(vals.max()) * 1.2 if vals.size else 2.0
    d = d.assign(hr_lower_95=d["hr_lower_95"].fillna(lo), hr_upper_95=d["hr_upper_95"].fillna(hi))  # unbounded: to the edge
    labels = d["label"].fillna(d["term"]).astype(str).str.replace("_", " ")
    fig = go.Figure(
        go.Scatter(
            x=d["hr"], y=labels, mode="markers", marker={"color": OKABE_ITO[0], "size": 9},
            error_x={"type": "data", "symmetric": False, "array": d["hr_upper_95"] - d["hr"],
                     "arrayminus": d["hr"] - d["hr_lower_95"], "color": OKABE_ITO[0]},
            customdata=np.column_stack([d["hr_lower_95"], d["hr_upper_95"], d["p"]]),
            hovertemplate="%{y}<br>HR %{x:.2f} (95% CI %{customdata[0]:.2f}–%{customdata[1]:.2f})<br>"
            "p = %{customdata[2]:.3f}<extra></extra>",
        )  # fmt: skip
    )
    fig.add_vline(x=1, line={"color": "#666", "dash": "dash"})
    _layout(fig, title, population, "Hazard ratio (log scale; < 1 = lower hazard)", "", height=max(320, 34 * len(d) + 140))
    ticks = [v for v in (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20) if lo <= v <= hi] or [1]
    fig.update_xaxes(type="log", range=[np.log10(lo), np.log10(hi)], tickvals=ticks, ticktext=[f"{v:g}" for v in ticks])
    return fig


def bars(df: pd.DataFrame, x: str, y: str, title: str, population: str, x_label: str, y_label: str,
         percent: bool = False, colour: str | None = None, ci: tuple[str, str] | None = None,
         n: str | None = None, n_label: str = "people") -> go.Figure:  # fmt: skip
    """Bar chart of one published column; a suppressed (NaN) value is an empty slot saying why, as the CSVs
    do (`disclosure.label`): "< 11" for a count, "hidden (fewer than 11 people)" or the recorded reason for a
    share or rate.

    A rate or share carries its 95% CI as error bars (`ci`: the lower and upper columns) and its
    denominator `n` in the hover ("among about 1,235 people": published counts are rounded to 5).
    """
    fig = go.Figure()
    groups = df.groupby(colour, sort=True) if colour else [(None, df)]
    fmt = ".1%" if percent else (",.2f" if ci else ",.0f")
    for i, (g, d) in enumerate(groups):
        extra, custom, error = "", [], None
        if ci:
            lo, hi = (d[c].astype(float) for c in ci)
            error = {"type": "data", "symmetric": False, "array": hi - d[y], "arrayminus": d[y] - lo,
                     "color": "#333", "thickness": 1.5, "width": 6}  # fmt: skip
            custom += [lo, hi]
            extra += f" (95% CI %{{customdata[0]:{fmt}}}–%{{customdata[1]:{fmt}}})"
        if n:
            custom.append(d[n].astype(float))
            extra += f"<br>among about %{{customdata[{len(custom) - 1}]:,.0f}} {n_label}"  # published counts are rounded
        fig.add_trace(
            go.Bar(x=d[x].astype(str), y=d[y], name=str(g) if g is not None else y_label,
                   marker_color=OKABE_ITO[i % len(OKABE_ITO)], showlegend=colour is not None, error_y=error,
                   customdata=np.column_stack(custom) if custom else None,
                   hovertemplate=f"%{{x}}<br>{y_label} %{{y:{fmt}}}{extra}<extra>{'' if g is None else g}</extra>")  # fmt: skip
        )
    gaps = df[df[y].isna()]
    if len(gaps):
        why = label(df, [y], estimates=[y] if percent or ci else [])[y][df[y].isna()].astype(str)
        short = why.where(why.str.len() <= len("hidden"), "hidden")  # a bar's slot holds a word: the reason on hover
        fig.add_trace(go.Scatter(x=gaps[x].astype(str), y=[0] * len(gaps), mode="text", text=short.to_numpy(),
                                 hovertext=why.str.capitalize().to_numpy(), hoverinfo="text",
                                 textposition="top center", showlegend=False))  # fmt: skip
    _layout(fig, title, population, x_label, y_label)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")
    fig.update_yaxes(rangemode="tozero")  # counts and shares are never negative, hidden slots sit at 0
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return fig


def hbars(df: pd.DataFrame, label: str, value: str, title: str, population: str, value_label: str) -> go.Figure:
    """Horizontal bars for long category names (e.g. quarantine reasons), largest on top."""
    d = df.sort_values(value, ascending=True)
    fig = go.Figure(
        go.Bar(x=d[value], y=d[label].astype(str), orientation="h", marker_color=OKABE_ITO[0],
               hovertemplate=f"%{{y}}<br>{value_label} %{{x:,.0f}}<extra></extra>")  # fmt: skip
    )
    _layout(fig, title, population, value_label, "", height=max(300, 28 * len(d) + 140))
    fig.update_yaxes(type="category", automargin=True)
    return fig


def lines(df: pd.DataFrame, x: str, y: str, colour: str, title: str, population: str, x_label: str, y_label: str,
          percent: bool = True) -> go.Figure:  # fmt: skip
    """One line per level of `colour` (e.g. weekly attendance rate by format)."""
    fig = go.Figure()
    for i, (g, d) in enumerate(df.sort_values(x).groupby(colour, sort=True)):
        fig.add_trace(
            go.Scatter(x=d[x], y=d[y], mode="lines", name=str(g), line={"color": OKABE_ITO[i % len(OKABE_ITO)]},
                       connectgaps=False,
                       hovertemplate=f"{g}<br>%{{x|%Y-%m-%d}}<br>{y_label} %{{y:{'.1%' if percent else ',.1f'}}}<extra></extra>")  # fmt: skip
        )
    _layout(fig, title, population, x_label, y_label)
    if percent:
        fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    return fig


def has_values(fig: go.Figure) -> bool:
    """Whether the figure draws anything: some trace holds a value above zero (not only gaps, zeros or the
    "< 11" labels of hidden slots). A chart without one would be an empty axis, e.g. from −1 to 1.

    The value axis is z for the heatmap, x for horizontal bars and the forest plot's markers, y otherwise; a
    line counts only when it spans two points in time.
    """
    for trace in fig.data:
        mode = getattr(trace, "mode", None)
        if mode == "text":
            continue
        if trace.type == "heatmap":
            values = trace.z
        elif getattr(trace, "orientation", None) == "h" or mode == "markers":
            values = trace.x
        else:
            values = trace.y
        if mode == "lines" and (trace.x is None or len(set(np.ravel(trace.x))) < 2):
            continue  # a curve needs two times: one that stops at day 0 draws nothing
        if values is not None and (pd.to_numeric(pd.Series(np.ravel(values)), errors="coerce") > 0).any():
            return True
    return False


def to_image(fig: go.Figure, fmt: str = "png", width: int = 1000, height: int | None = None) -> bytes:
    """Render a figure as PNG or SVG bytes (kaleido 1.x with the system chromium)."""
    return fig.to_image(format=fmt, width=width, height=height or fig.layout.height or 440, scale=2 if fmt == "png" else 1)


def bars_ci(df: pd.DataFrame, x: str, y: str, title: str, population: str, x_label: str, y_label: str,
            percent: bool = False) -> go.Figure:  # fmt: skip
    """`bars` with each bar's 95% CI as an error bar (columns `<y>_lower_95`, `<y>_upper_95`)."""
    fig = bars(df, x, y, title, population, x_label, y_label, percent=percent)
    lo, hi = df[f"{y}_lower_95"], df[f"{y}_upper_95"]
    fig.update_traces(selector={"type": "bar"}, error_y={"type": "data", "symmetric": False, "array": hi - df[y],
                      "arrayminus": df[y] - lo, "color": "#555555"}, customdata=np.column_stack([lo, hi]),
                      hovertemplate=f"%{{x}}<br>{y_label} %{{y:{'.1%' if percent else ',.1f'}}} (95% CI "
                      f"%{{customdata[0]:{'.1%' if percent else ',.1f'}}}–%{{customdata[1]:{'.1%' if percent else ',.1f'}}})"
                      "<extra></extra>")  # fmt: skip
    return fig
