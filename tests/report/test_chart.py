"""The inline SVG bar charts: bar lengths proportional to the numbers, texts escaped, unknown cost shown as such."""

from __future__ import annotations

import re

import pytest

from papercoder.llm.base import Usage
from papercoder.report.chart import BAR_W, LABEL_W, Bar, Chart, Segment, render_svg, stage_charts
from papercoder.run_dir import StageRecord
from tests.report.fixtures import STAGES


def rects(svg: str) -> list[tuple[str, float, float]]:
    """(class, x, width) of every bar rectangle (legend swatches excluded)."""
    found = re.findall(r'<rect class="([\w-]+)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="16">', svg)
    return [(c, float(x), float(w)) for c, x, w in found]


def test_time_chart_scales_to_the_longest_stage() -> None:
    time_chart, _, _ = stage_charts(STAGES)
    svg = render_svg(time_chart)
    widths = [w for _, _, w in rects(svg)]
    # 0.5, 12, 6, 24 seconds: coding gets the full width.
    assert widths == pytest.approx([BAR_W * 0.5 / 24, BAR_W * 12 / 24, BAR_W * 6 / 24, BAR_W], abs=0.05)
    assert all(x == LABEL_W for _, x, _ in rects(svg))
    for text in ("0.5 s", "12.0 s", "6.0 s", "24.0 s"):
        assert f">{text}</text>" in svg


def test_token_chart_stacks_cached_prompt_and_completion() -> None:
    _, tokens, _ = stage_charts(STAGES)
    svg = render_svg(tokens)
    bars = rects(svg)
    # analysis is the largest (16,000 prompt of which 12,000 cached, plus 1,000 completion = 17,000).
    scale = BAR_W / 17000
    analysis = [b for b in bars if b[0] in {"bar-cached", "bar-prompt", "bar-completion"}][3:6]
    assert [c for c, _, _ in analysis] == ["bar-cached", "bar-prompt", "bar-completion"]
    assert [w for _, _, w in analysis] == pytest.approx([12000 * scale, 4000 * scale, 1000 * scale], abs=0.05)
    assert analysis[1][1] == pytest.approx(LABEL_W + 12000 * scale, abs=0.05)  # segments follow one another
    assert "17,000 (75% of prompt cached)" in svg
    assert "10,000 (25% of prompt cached)" in svg
    assert ">7,000</text>" in svg  # coding: nothing cached, no share
    assert "cached prompt" in svg and "completion" in svg  # legend


def test_cost_chart_unknown_and_zero() -> None:
    stages = dict(STAGES)
    stages["coding"] = StageRecord(usage=Usage(prompt_tokens=10), cost_usd=None)
    _, _, cost = stage_charts(stages)
    svg = render_svg(cost)
    assert ">unknown</text>" in svg and ">$0.0000</text>" in svg
    widths = [w for _, _, w in rects(svg)]
    assert widths == [BAR_W, BAR_W / 2]  # planning $0.04 is now the largest, analysis $0.02 half of it


def test_labels_escaped_and_empty_chart() -> None:
    svg = render_svg(Chart("<t>", [Bar("</svg><script>", [Segment(1, "x", "a&b")], "<v>")]))
    assert "<script>" not in svg and "&lt;/svg&gt;&lt;script&gt;" in svg and "a&amp;b" in svg
    empty = render_svg(Chart("none", [Bar("a", [Segment(0, "x", "")], "0")]))
    assert "<rect" not in empty
