"""The public surface of contour.evaluate."""

from __future__ import annotations

import contour.evaluate as ev
from tests.evalfixtures import grid_run, write_run


def test_every_exported_name_resolves():
    for name in ev.__all__:
        assert getattr(ev, name) is not None, name


def test_python_round_trip(tmp_path):
    folder = write_run(tmp_path / "run", grid_run(seed=8))
    result = ev.summarise([folder], group_by=["genresult.nesting"], resamples=50)
    assert {row.group["genresult.nesting"] for row in result.rows("group")} == {0, 1, 2, None}
    tables = ev.summary_tables(result)
    assert [t.name for t in tables] == ["runs", "leaderboard", "run", "task", "fits", "point", "group"]
    assert "### Per group (genresult.nesting)" in ev.to_markdown(tables)
    plots = ev.all_plots(result)
    assert [p.name for p in plots] == ["leaderboard", "axes_arithmetic", "heatmap_arithmetic"]
    html = ev.render_html(result, tables)
    assert 'id="task-0-heatmap"' in html and "Difficulty fits" in html
