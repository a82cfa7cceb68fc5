"""PNG plots for benchmark reports (matplotlib, headless ``Agg`` backend).

Plots are drawn from the results document only. Each series shows the median of the runs
as a line with markers and the min-max range of the runs as a shaded band or error bars,
so a reader sees at once whether a difference is larger than the noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbtune.errors import DBTuneError

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")


@dataclass
class Series:
    """One line: ``ys`` medians at ``xs``; ``lows``/``highs`` the run range (optional)."""

    label: str
    xs: list[float]
    ys: list[float | None]
    lows: list[float | None] = field(default_factory=list)
    highs: list[float | None] = field(default_factory=list)
    dashed: bool = False


@dataclass
class Panel:
    """One set of axes: a title, axis labels and its series; ``vlines`` mark thresholds."""

    title: str
    xlabel: str
    ylabel: str
    series: list[Series]
    xlog: bool = False
    ylim_zero: bool = True
    vlines: list[tuple[float, str]] = field(default_factory=list)
    ylim: tuple[float, float] | None = None
    percent_x: bool = False


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise DBTuneError(
            "matplotlib is needed for the report's plots; pip install matplotlib"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw(path: Path, panels: Sequence[Panel], title: str = "") -> Path:
    """Draw ``panels`` side by side into ``path`` (PNG) and return it."""
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False)
    for axis, panel in zip(axes[0], panels, strict=True):
        _panel(axis, panel)
    if title:
        figure.suptitle(title, fontsize=12)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _panel(axis: Any, panel: Panel) -> None:
    drawn = False
    for index, series in enumerate(panel.series):
        color = COLORS[index % len(COLORS)]
        pairs = [(x, y) for x, y in zip(series.xs, series.ys, strict=True) if y is not None]
        if not pairs:
            continue
        xs, ys = zip(*pairs, strict=True)
        style = "--" if series.dashed else "-"
        axis.plot(xs, ys, style, marker="o", color=color, label=series.label, linewidth=1.8)
        drawn = True
        band = [
            (x, lo, hi)
            for x, lo, hi in zip(series.xs, series.lows, series.highs, strict=False)
            if lo is not None and hi is not None
        ]
        if len(band) > 1:
            bx, blo, bhi = zip(*band, strict=True)
            axis.fill_between(bx, blo, bhi, color=color, alpha=0.15, linewidth=0)
        elif band:
            x, lo, hi = band[0]
            axis.vlines(x, lo, hi, color=color, alpha=0.5)
    for x, label in panel.vlines:
        axis.axvline(x, color="#555555", linestyle=":", linewidth=1.2)
        axis.annotate(
            label,
            (x, 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            va="bottom",
            ha="right",
            fontsize=8,
            color="#555555",
        )
    if panel.xlog:
        axis.set_xscale("log", base=2)
        ticks = sorted({x for series in panel.series for x in series.xs})
        if ticks:
            axis.set_xticks(ticks)
            axis.set_xticklabels([f"{t:,.0f}" if t >= 10 else f"{t:.2g}" for t in ticks])
            axis.minorticks_off()
    if panel.percent_x:
        axis.xaxis.set_major_formatter(_pyplot().FuncFormatter(lambda v, _: f"{v:.0%}"))
    if panel.ylim is not None:
        axis.set_ylim(*panel.ylim)
    elif panel.ylim_zero:
        axis.set_ylim(bottom=0)
    axis.set_title(panel.title, fontsize=11)
    axis.set_xlabel(panel.xlabel)
    axis.set_ylabel(panel.ylabel)
    axis.grid(True, alpha=0.3)
    if drawn:
        axis.legend(fontsize=8, loc="best")
    else:
        axis.text(0.5, 0.5, "no data", transform=axis.transAxes, ha="center", color="#777777")


def bars(
    path: Path,
    title: str,
    groups: list[str],
    series: dict[str, list[float]],
    ylabel: str,
    ylim: tuple[float, float] | None = None,
) -> Path:
    """Grouped bar chart: one group per entry of ``groups``, one bar per ``series`` key."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(max(6.2, 0.9 * len(groups) + 2), 4.4))
    width = 0.8 / max(len(series), 1)
    for index, (label, values) in enumerate(series.items()):
        positions = [g + (index - (len(series) - 1) / 2) * width for g in range(len(groups))]
        axis.bar(positions, values, width, label=label, color=COLORS[index % len(COLORS)])
    axis.set_xticks(range(len(groups)))
    axis.set_xticklabels(groups, rotation=20, ha="right", fontsize=8)
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=11)
    if ylim is not None:
        axis.set_ylim(*ylim)
    axis.grid(True, axis="y", alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
