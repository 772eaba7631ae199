"""Finding run directories two levels deep and summarising each one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from papercoder.errors import InputError
from papercoder.report import list_runs
from tests.report.fixtures import add_extras, make_run


def test_list_runs_depth_order_and_fields(tmp_path: Path) -> None:
    make_run(tmp_path / "a", updated_at="2025-01-01T00:00:00+00:00")
    make_run(tmp_path / "group" / "b", status="failed", model="gpt-x", updated_at="2025-03-01T00:00:00+00:00")
    make_run(tmp_path / "x" / "y" / "too-deep")
    add_extras(tmp_path / "a")
    (tmp_path / "not-a-run").mkdir()

    rows = list_runs(tmp_path)
    assert [r.name for r in rows] == ["group/b", "a"]  # most recent first; three levels down is not searched
    b, a = rows
    assert (b.status, b.model, b.files) == ("failed", "gpt-x", 3)
    assert a.tokens == 28000 + 6000
    assert a.cost_usd == pytest.approx(0.14)
    assert a.scores == {"ref-free": 3.5, "rubric": 0.25}  # weird.json has no score and does not parse
    assert a.score == 3.5
    assert b.score is None and b.scores == {}
    assert a.updated == "2025-01-01T00:00:00+00:00"
    assert a.path == tmp_path / "a"


def test_root_itself_a_run_and_nested_runs_not_searched(tmp_path: Path) -> None:
    make_run(tmp_path / "run")
    make_run(tmp_path / "run" / "inner")
    rows = list_runs(tmp_path / "run")
    assert [r.name for r in rows] == ["run"]


def test_unreadable_manifest_and_unknown_cost(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    make_run(tmp_path / "ok")
    manifest = json.loads((tmp_path / "ok" / "manifest.json").read_text())
    manifest["stages"]["coding"]["cost_usd"] = None
    (tmp_path / "ok" / "manifest.json").write_text(json.dumps(manifest))
    rows = {r.name: r for r in list_runs(tmp_path)}
    assert rows["broken"].status == "unreadable" and rows["broken"].error
    assert rows["ok"].cost_usd is None


def test_missing_root(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no runs folder"):
        list_runs(tmp_path / "nope")
    assert list_runs(tmp_path) == []
