"""Horizontal bar charts as inline SVG, generated here: time, tokens and cost per stage need no chart library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

from papercoder.run_dir import StageRecord

WIDTH = 820
LABEL_W = 110
BAR_W = 440
ROW_H = 26
BAR_H = 16
TOP = 8
LEGEND_H = 22


@dataclass(frozen=True)
class Segment:
    """One part of a bar: its value, its CSS class (its colour) and its tooltip."""

    value: float
    css: str
    title: str


@dataclass(frozen=True)
class Bar:
    """One row: a label, its segments stacked left to right, and the text printed after the bar."""

    label: str
    segments: Sequence[Segment]
    text: str


@dataclass(frozen=True)
class Chart:
    """A titled chart; ``legend`` maps CSS classes to their meaning."""

    title: str
    bars: Sequence[Bar]
    legend: Sequence[tuple[str, str]] = field(default_factory=tuple)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def render_svg(chart: Chart) -> str:
    """The chart as an ``<svg>`` element. Bars are scaled to the largest row total; every text is escaped."""
    largest = max((sum(s.value for s in bar.segments) for bar in chart.bars), default=0.0)
    scale = BAR_W / largest if largest > 0 else 0.0
    legend_h = LEGEND_H if chart.legend else 0
    height = TOP + legend_h + ROW_H * len(chart.bars) + TOP
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(chart.title)}">',
        f"<title>{escape(chart.title)}</title>",
    ]
    x = LABEL_W
    for css, meaning in chart.legend:
        parts.append(f'<rect class="{escape(css)}" x="{x}" y="{TOP}" width="12" height="12"/>')
        parts.append(f'<text class="legend" x="{x + 16}" y="{TOP + 10}">{escape(meaning)}</text>')
        x += 24 + 8 * len(meaning)
    for row, bar in enumerate(chart.bars):
        y = TOP + legend_h + row * ROW_H
        parts.append(
            f'<text class="label" x="{LABEL_W - 8}" y="{y + BAR_H - 3}" text-anchor="end">{escape(bar.label)}</text>'
        )
        offset = float(LABEL_W)
        for seg in bar.segments:
            width = seg.value * scale
            if width <= 0:
                continue
            parts.append(
                f'<rect class="{escape(seg.css)}" x="{_num(offset)}" y="{y}" width="{_num(width)}" height="{BAR_H}">'
                f"<title>{escape(seg.title)}</title></rect>"
            )
            offset += width
        parts.append(f'<text class="value" x="{_num(offset + 6)}" y="{y + BAR_H - 3}">{escape(bar.text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _tokens(n: int) -> str:
    return f"{n:,}"


def stage_charts(stages: dict[str, StageRecord]) -> list[Chart]:
    """The three charts of a run: wall time, tokens (prompt split into cached and uncached, then completion), cost.

    A stage whose cost is unknown (no price for the model) gets no bar and the text "unknown".
    """
    names = list(stages)
    time_bars = [
        Bar(name, [Segment(r.wall_s, "bar-time", f"{name}: {r.wall_s:.2f} s")], f"{r.wall_s:.1f} s")
        for name, r in stages.items()
    ]
    token_bars = []
    for name in names:
        u = stages[name].usage
        cached = min(u.cached_tokens, u.prompt_tokens)
        share = f" ({cached / u.prompt_tokens:.0%} of prompt cached)" if u.prompt_tokens and cached else ""
        token_bars.append(
            Bar(
                name,
                [
                    Segment(cached, "bar-cached", f"{name}: {_tokens(cached)} cached prompt tokens"),
                    Segment(
                        u.prompt_tokens - cached,
                        "bar-prompt",
                        f"{name}: {_tokens(u.prompt_tokens - cached)} uncached prompt tokens",
                    ),
                    Segment(
                        u.completion_tokens,
                        "bar-completion",
                        f"{name}: {_tokens(u.completion_tokens)} completion tokens",
                    ),
                ],
                f"{_tokens(u.prompt_tokens + u.completion_tokens)}{share}",
            )
        )
    cost_bars = []
    for name in names:
        cost = stages[name].cost_usd
        if cost is None:
            cost_bars.append(Bar(name, [], "unknown"))
        else:
            cost_bars.append(Bar(name, [Segment(cost, "bar-cost", f"{name}: ${cost:.4f}")], f"${cost:.4f}"))
    return [
        Chart("Wall time per stage", time_bars),
        Chart(
            "Tokens per stage",
            token_bars,
            (("bar-cached", "cached prompt"), ("bar-prompt", "prompt"), ("bar-completion", "completion")),
        ),
        Chart("Cost per stage (USD)", cost_bars),
    ]
