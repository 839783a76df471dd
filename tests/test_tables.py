"""govstats.tables: regression tables (Markdown, HTML, LaTeX) and coefficient plots."""

from __future__ import annotations

import warnings

import pytest

from govstats import datasets, tables
from govstats.models import FewClustersWarning, fit

GF = "invest ~ value + capital"


@pytest.fixture(scope="module")
def results():
    g = datasets.load_grunfeld()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        fe = fit(GF + " | firm", g, bootstrap="never")
    re = fit(GF + " | firm", g, estimator="random", vcov="iid")
    return fe, re


@pytest.mark.parametrize("fmt", ["markdown", "html", "latex"])
def test_table_shows_se_type_clusters_effects_and_n(results, fmt):
    text = tables.regression_table(list(results), format=fmt, model_names=["FE", "RE"])
    for needle in ("S.E. type", "CRV1 by firm", "Clusters (G)", "Effects", "Observations", "200",
                   "0.110", "(0.015)", "(0.010)"):
        assert needle in text, (fmt, needle)
    # the exact covariance convention is in the notes
    assert "G/(G-1)*(N-1)/(N-K)" in text


def test_markdown_is_a_pipe_table(results):
    md = tables.regression_table(list(results), model_names=["FE", "RE"])
    lines = md.splitlines()
    assert lines[0] == "|  | FE | RE |" and lines[1] == "|---|---|---|"
    assert all(line.count("|") == 4 for line in lines[2:] if line.startswith("|"))


def test_few_cluster_models_show_bootstrap_p_and_a_warning():
    pytest.importorskip("govstats.inference")
    with pytest.warns(FewClustersWarning):
        r = fit(GF + " | firm", datasets.load_grunfeld(), reps=999)
    md = tables.regression_table(r)
    assert "Wild bootstrap p: value" in md
    assert "WARNING: only 10 clusters" in md
    assert "Stars from the wild cluster bootstrap p-value" in md


def test_simulated_results_say_so_in_the_title(results):
    data = datasets.load_grunfeld()
    data.attrs["simulated"] = True
    r = fit(GF + " | firm", data, vcov="iid")
    assert tables.regression_table(r, title="Staffing").startswith("**SIMULATED: Staffing**")
    assert "SIMULATED: Staffing" in tables.regression_table(r, title="Staffing", format="html")
    assert "SIMULATED" in tables.regression_table(r, format="html")  # a title is made
    assert "SIMULATED: Staffing" in tables.regression_table(r, title="Staffing", format="latex")
    ax = tables.coef_plot(r, title="Staffing")
    assert ax.get_title() == "SIMULATED: Staffing"
    assert any(t.get_text() == "SIMULATED" for t in ax.figure.texts)  # watermark


def test_coef_plot_draws_every_term_and_chinese_labels_render(results):
    import pandas as pd

    g = datasets.load_grunfeld().rename(columns={"value": "市值", "capital": "资本"})
    r = fit("invest ~ 市值 + 资本 | firm", g, vcov="iid")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ax = tables.coef_plot([r, r], model_names=["A", "B"], title="系数")
        ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["市值", "资本"]
    assert not [w for w in caught if "Glyph" in str(w.message)]
    assert isinstance(r.coef(), pd.Series)


def test_export_table_writes_latex_markdown_and_csv(results, tmp_path):
    files = tables.export_table(list(results), "grunfeld_fe_re", model_names=["FE", "RE"], directory=tmp_path)
    assert sorted(files) == ["csv", "md", "tex"]
    tex = files["tex"].read_text(encoding="utf-8")
    assert "\\begin{tabular" in tex or "\\begin{threeparttable}" in tex
    md = files["md"].read_text(encoding="utf-8")
    assert md.startswith("|  | FE | RE |")
    csv = files["csv"].read_text(encoding="utf-8")
    assert "0.110***" in csv and "(0.015)" in csv and "G/(G-1)*(N-1)/(N-K)" in csv
    with pytest.raises(ValueError, match="plain file stem"):
        tables.export_table(list(results), "../x", directory=tmp_path)
