"""The mediation-network model: sizes trace to facts, the escalation model is right three ways.

Outside references used here:
- the documents' own numbers (589 grids, 205 communities, 17 subdistricts, 106 townships,
  95 communities, 四级) read from facts.csv by fact id, and the registry's checked sub-unit
  lists;
- census populations read straight from data/raw/place_measures.csv (copied from
  ../shared/reference/population_census.csv);
- hand computations of the closed form (exact fractions) and an independent loop over tiers;
- a Monte Carlo that sends disputes one by one through the graph.
"""

from __future__ import annotations

import doctest
import importlib
import math
import warnings
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from govstats import facts as facts_mod
from govstats import indicators, network, paths, places
from govstats.errors import DataValidationError

ASSUMPTIONS_CSV = paths.raw_dir() / "network_assumptions.csv"
MEASURES_CSV = paths.raw_dir() / "place_measures.csv"
PLACES = ["quzhou", "futian", "dongcheng"]


@pytest.fixture(scope="module")
def facts() -> pd.DataFrame:
    return facts_mod.load_facts()


@pytest.fixture(scope="module")
def assumptions() -> pd.DataFrame:
    return network.load_assumptions()


@pytest.fixture(scope="module")
def nets(facts, assumptions) -> dict:
    return network.build_networks(PLACES, facts=facts, assumptions=assumptions)


def fact(facts: pd.DataFrame, fact_id: str) -> pd.Series:
    row = facts[facts.fact_id.eq(fact_id)]
    assert len(row) == 1, fact_id
    return row.iloc[0]


def raw_assumption(node: str, parameter: str) -> float:
    """Read the committed assumptions file with plain pandas (not load_assumptions)."""
    a = pd.read_csv(ASSUMPTIONS_CSV, dtype=str)
    row = a[(a.place_id == "*") & (a.node == node) & (a.parameter == parameter)]
    assert len(row) == 1, (node, parameter)
    return float(row.value.iloc[0])


def census(place: str, date: str) -> float:
    m = pd.read_csv(MEASURES_CSV, dtype=str)
    row = m[(m.place_id == place) & (m.measure == "population") & (m.reference_date == date)]
    assert len(row) == 1
    return float(row.value.iloc[0])


def metric(m: pd.DataFrame, node: str, what: str, name: str) -> pd.Series:
    row = m[(m.node == node) & (m.what == what) & (m.metric == name)]
    assert len(row) == 1, (node, what, name)
    return row.iloc[0]


def problems_of(load, path, lines: list[str]) -> tuple[DataValidationError, pd.DataFrame]:
    """Write ``lines`` to ``path``, load it, and return the error and its problem table;
    every problem must name the file."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        load(path)
    table = err.value.table()
    assert (table.file == str(path)).all()
    return err.value, table


def hand_shares(rates: list[float]) -> list[float]:
    """s_k = r_k * prod_{j<k}(1 - r_j), then the remainder: an explicit loop."""
    out, alive = [], 1.0
    for r in rates:
        out.append(alive * r)
        alive *= 1 - r
    return [*out, alive]


# --------------------------------------------------------------------------- closed form


def test_closed_form_matches_exact_fractions():
    rates = [Fraction(1, 2), Fraction(2, 5), Fraction(1, 4)]
    # by hand: 1/2; 1/2 * 2/5 = 1/5; 1/2 * 3/5 * 1/4 = 3/40; unresolved 1/2 * 3/5 * 3/4 = 9/40
    expected = [Fraction(1, 2), Fraction(1, 5), Fraction(3, 40), Fraction(9, 40)]
    got = network.resolution_shares([float(r) for r in rates])
    assert got.tolist() == pytest.approx([float(e) for e in expected], abs=1e-15)


@pytest.mark.parametrize("bad", [[1.2], [-0.1, 0.5], [float("nan")], [[0.5]]])
def test_closed_form_rejects_rates_outside_zero_one(bad):
    with pytest.raises(ValueError, match="between 0 and 1"):
        network.resolution_shares(bad)


def test_quzhou_escalation_by_hand(nets, facts):
    # village: printed coverage x assumed rate, plus the peace promoters beside it
    coverage = fact(facts, "f002_023").value / 100  # 95.8%
    r_v, r_t, r_c, r_city = (
        raw_assumption(n, "resolution_rate") for n in ("village", "township", "county", "city")
    )
    p, q = raw_assumption("beside", "referral_share"), raw_assumption("beside", "resolution_rate")
    township_cov = fact(facts, "f002_020").value / 100  # 100%
    village = 1 - (1 - coverage * r_v) * (1 - p * q)
    township = township_cov * r_t
    county = 1 - (1 - r_c) * (1 - p * q)  # professional bodies beside the county
    expected = hand_shares([village, township, county, r_city])
    e = network.escalation(nets["quzhou"], caseload=10_000)
    assert e["tier"].tolist() == ["village", "township", "county", "city", "unresolved"]
    assert e["effective_rate"].iloc[0] == pytest.approx(village, rel=1e-12)
    assert e["share"].tolist() == pytest.approx(expected, rel=1e-12)
    assert e["resolved"].sum() == pytest.approx(10_000)
    assert e["cases_in"].iloc[1] == pytest.approx(10_000 * (1 - village))
    assert "f002_023" in e["rate_inputs"].iloc[0] and "a02" in e["rate_inputs"].iloc[0]


@pytest.mark.parametrize("place", PLACES)
def test_closed_form_equals_networkx_flow(nets, place):
    g = nets[place]
    closed = network.escalation(g, 1234.0).set_index("tier")["resolved"]
    flow = network.flow_through(g, 1234.0).groupby("tier")["ends_here"].sum()
    assert flow.reindex(closed.index).tolist() == pytest.approx(
        closed.tolist(), rel=1e-12, abs=1e-9
    )
    assert flow.sum() == pytest.approx(1234.0)


@pytest.mark.parametrize("place", PLACES)
def test_monte_carlo_agrees_with_closed_form(nets, place):
    n = 200_000
    g = nets[place]
    closed = network.escalation(g, 1.0).set_index("tier")["share"]
    mc = (
        network.simulate_escalation(g, reps=n, seed=7)
        .groupby("tier")["ends_here"]
        .sum()
        .reindex(closed.index)
    )
    assert mc.sum() == n
    chi = stats.chisquare(mc.to_numpy(), closed.to_numpy() * n)
    assert chi.pvalue > 1e-4
    cc = network.cross_check(g, reps=n, seed=11)
    assert cc["z"].abs().max() < 4.5


def test_monte_carlo_can_tell_a_wrong_rate(nets, facts, assumptions):
    """The agreement above is not automatic: a network with one rate off by 0.05 fails."""
    n = 200_000
    closed = network.escalation(nets["dongcheng"], 1.0).set_index("tier")["share"]
    off = network.build_network(
        "dongcheng",
        facts=facts,
        assumptions=assumptions,
        rates={"grid": raw_assumption("grid", "resolution_rate") + 0.05},
    )
    mc = (
        network.simulate_escalation(off, reps=n, seed=7)
        .groupby("tier")["ends_here"]
        .sum()
        .reindex(closed.index)
    )
    assert stats.chisquare(mc.to_numpy(), closed.to_numpy() * n).pvalue < 1e-10


_LAYOUT = network.NetworkLayout(
    place_id="dongcheng",
    tiers=(
        network.NodeSpec("grid", "网格", "grid"),
        network.NodeSpec("village", "社区", "community"),
        network.NodeSpec("township", "街道", "subdistrict"),
        network.NodeSpec("county", "区", "district", units="self"),
    ),
    beside=(
        network.NodeSpec("grid.a", "甲", "a"),
        network.NodeSpec("grid.b", "乙", "b"),
        network.NodeSpec("township.c", "丙", "c"),
    ),
)

share = st.floats(0, 1, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(rates=st.lists(share, min_size=7, max_size=7), split=st.floats(0, 1), p_c=share)
def test_flow_equals_hand_formula_for_any_rates(facts, assumptions, rates, split, p_c):
    """Property: for any rates and referral shares, the graph flow gives the effective-rate
    formula R_k = 1 - (1 - r_k)(1 - sum_i p_i q_i) fed into an explicit loop."""
    r_grid, r_v, r_t, r_c, q_a, q_b, q_c = rates
    p_a, p_b = split * 0.9, (1 - split) * 0.9  # two bodies beside the grid, shares sum to 0.9
    g = network.build_network(
        "dongcheng",
        facts=facts,
        assumptions=assumptions,
        layout=_LAYOUT,
        rates={
            "grid": r_grid,
            "village": r_v,
            "township": r_t,
            "county": r_c,
            "grid.a": q_a,
            "grid.b": q_b,
            "township.c": q_c,
        },
        referral_shares={"grid.a": p_a, "grid.b": p_b, "township.c": p_c},
    )
    effective = [
        1 - (1 - r_grid) * (1 - p_a * q_a - p_b * q_b),
        r_v,
        1 - (1 - r_t) * (1 - p_c * q_c),
        r_c,
    ]
    flow = network.flow_through(g, 1.0).groupby("tier")["ends_here"].sum()
    got = [flow[t] for t in ["grid", "village", "township", "county", "unresolved"]]
    assert got == pytest.approx(hand_shares(effective), abs=1e-12)
    assert sum(got) == pytest.approx(1.0, abs=1e-12)


# --------------------------------------------------------------------------- sizes trace to facts


def test_dongcheng_tiers_are_the_documented_counts(nets, facts):
    g = nets["dongcheng"]
    assert network.tiers(g) == ["grid", "village", "township", "county"]
    sizes = [(g.nodes[t]["units"], g.nodes[t]["units_source"]) for t in network.tiers(g)[:3]]
    assert sizes == [
        (589.0, "f003_020"),
        (205.0, "f003_019"),
        (17.0, "f003_018"),
    ]  # document 003 part 7
    for units, fid in sizes:
        assert fact(facts, fid).value == units
    assert g.nodes["grid.judicial"]["counts"][0]["value"] == 203.0
    assert g.nodes["grid.judicial"]["counts"][0]["source"] == "f003_026"


def test_registry_units_and_derived_legal_advisers(nets, facts):
    g = nets["futian"]
    assert g.nodes["village"]["units"] == fact(facts, "f003_013").value == 95  # 全区95个社区
    assert g.nodes["township"]["units"] == len(places.children("futian")) == 10
    assert g.nodes["township"]["units_kind"] == "registry"
    advisers = g.nodes["village.legal"]["counts"][0]
    # 一社区一法律顾问 x 95 communities
    assert advisers["value"] == fact(facts, "f003_016").value * fact(facts, "f003_013").value == 95
    assert advisers["kind"] == "derived" and advisers["source"] == "f003_016;f003_013"
    assert nets["quzhou"].nodes["county"]["units"] == len(places.children("quzhou")) == 6


@pytest.mark.parametrize("place", PLACES)
def test_every_sized_attribute_carries_its_source(nets, place):
    g = nets[place]
    skip = ("rank",)
    for node, attrs in g.nodes(data=True):
        for key, value in attrs.items():
            if (
                isinstance(value, float)
                and key not in skip
                and not key.endswith(("_lower", "_upper"))
            ):
                assert f"{key}_source" in attrs and f"{key}_kind" in attrs, (node, key)
        for c in attrs["counts"]:
            assert c["source"] and c["kind"] in ("fact", "derived"), (node, c["name"])
    for a, b, attrs in g.edges(data=True):
        assert attrs["share_source"] and attrs["share_kind"] != "missing", (a, b)


@pytest.mark.parametrize("place", PLACES)
def test_trace_numbers_match_their_sources(nets, facts, place):
    t = network.trace(nets[place])
    a = pd.read_csv(ASSUMPTIONS_CSV, dtype=str).set_index("assumption_id")
    by_id = facts.set_index("fact_id")
    assert set(t["kind"]) <= {
        "fact",
        "derived",
        "registry",
        "assumption",
        "parameter",
        "definition",
    }
    for row in t.itertuples():
        if row.kind == "fact":
            printed = by_id.at[row.source, "value"]
            scale = 0.01 if by_id.at[row.source, "codebook_unit"] == "percent" else 1.0
            assert row.value == pytest.approx(printed * scale), row
        elif row.kind == "assumption":
            assert row.value == float(a.at[row.source, "value"]), row
            assert a.at[row.source, "kind"] == "assumption"
        elif row.kind == "derived":
            ids = row.source.split(";")
            assert all(
                i in by_id.index or i in a.index or i.startswith("places.csv") for i in ids
            ), row
    # the fact-sourced rows really are the documented ones
    assert set(t.loc[t.kind.eq("fact"), "source"]) <= set(facts.fact_id)


def test_every_assumption_is_used_by_a_documented_network(nets):
    used = set()
    for g in nets.values():
        for s in network.trace(g)["source"]:
            used.update(s.split(";"))
    committed = set(pd.read_csv(ASSUMPTIONS_CSV, dtype=str)["assumption_id"])
    assert committed <= used, committed - used


# --------------------------------------------------------------------------- metrics and checks


def test_span_of_control_by_hand(nets):
    m = network.network_metrics(nets["dongcheng"])
    assert metric(m, "village", "units", "span_of_control").value == pytest.approx(589 / 205)
    assert metric(m, "township", "units", "span_of_control").value == pytest.approx(205 / 17)
    assert metric(m, "county", "units", "span_of_control").value == 17
    q = network.network_metrics(nets["quzhou"])
    assert metric(q, "county", "units", "span_of_control").value == pytest.approx(106 / 6)
    assert math.isnan(
        metric(q, "township", "units", "span_of_control").value
    )  # villages not printed
    f = network.network_metrics(nets["futian"])
    assert metric(f, "township", "units", "span_of_control").value == pytest.approx(95 / 10)


def test_people_per_node_and_per_10k_against_census(nets, facts):
    m = network.network_metrics(nets["dongcheng"])
    judicial = metric(m, "grid.judicial", "judicial_staff", "per_10k_people")
    # document period 2010-2011 -> the 2010 census (91.9万)
    assert judicial.value == pytest.approx(203 / census("dongcheng", "2010-11-01") * 1e4, rel=1e-12)
    assert metric(m, "grid.judicial", "judicial_staff", "per_grid").value == pytest.approx(
        203 / 589
    )
    assistants = metric(m, "grid", "grid_assistants", "per_grid")
    assert assistants.bound == "at_least" and assistants.value == pytest.approx(
        600 / 589
    )  # 600余名
    q = network.network_metrics(nets["quzhou"])
    promoters = metric(q, "village.peace_promoters", "peace_promoters", "per_10k_people")
    assert promoters.value == pytest.approx(
        30_000 / census("quzhou", "2010-11-01") * 1e4, rel=1e-12
    )
    assert promoters.bound == "at_least" and np.isinf(promoters.upper)
    # the indicators module computes the same rate independently
    per10k = indicators.per_10k(facts).values
    same = per10k[
        (per10k.place_id == "quzhou") & (per10k.indicator == "peace_promoters_per_10k_people")
    ]
    assert promoters.value == pytest.approx(same.value.item(), rel=1e-12)
    per_assoc = metric(q, "village.peace_promoters", "peace_promoters", "per_associations")
    assert (
        per_assoc.value == pytest.approx(30_000 / 1743) and per_assoc.inputs == "f002_036;f002_037"
    )
    per_grid = metric(q, "village.peace_promoters", "peace_promoters", "per_grids")
    assert "check before use" in per_grid.note  # the 23万 grids carry a warning in facts.csv


def test_a_subunit_count_is_not_divided_by_the_city_population(nets):
    m = network.network_metrics(nets["quzhou"])
    row = metric(m, "village", "grassroots_mediators", "per_10k_people")
    assert math.isnan(row.value) and "quzhou.qujiang" in row.note


def test_consistency_checks_pass_and_can_fail(nets, facts):
    q = network.checks(nets["quzhou"], facts)
    assert q.set_index("check").at["number of tiers", "status"] == "pass"  # 四级
    d = network.checks(nets["dongcheng"], facts).set_index("check")
    assert d.at["grid per community", "status"] == "pass"  # 2到5个
    assert d.at["township units against the registry", "status"] == "pass"  # 17个街道
    broken = facts.copy()
    broken.loc[broken.fact_id.eq("f003_020"), "value"] = 2000.0  # 2000 grids: 9.8 per community
    bad = network.build_network("dongcheng", facts=broken)
    assert (
        network.checks(bad, broken).set_index("check").at["grid per community", "status"] == "fail"
    )


# --------------------------------------------------------------------------- parameters and errors


def test_overrides_are_recorded_as_parameters(facts, assumptions):
    g = network.build_network(
        "futian", facts=facts, assumptions=assumptions, rates={"village": 0.8}
    )
    t = network.trace(g).set_index(["element", "attribute"])
    assert t.at[("village", "resolution_rate"), "kind"] == "parameter"
    assert t.at[("village", "resolution_rate"), "source"] == "rates['village']"
    p, q = raw_assumption("beside", "referral_share"), raw_assumption("beside", "resolution_rate")
    assert network.escalation(g).share.iloc[0] == pytest.approx(1 - 0.2 * (1 - p * q))


def test_star_overrides_apply_to_every_place(facts, assumptions):
    nets = network.build_networks(
        PLACES, facts=facts, assumptions=assumptions, rates={"*": {"grid": 0.9, "village": 0.1}}
    )
    assert [nets[p].nodes["village"]["resolution_rate"] for p in PLACES] == [0.1, 0.1, 0.1]
    assert (
        nets["dongcheng"].nodes["grid"]["resolution_rate"] == 0.9
    )  # skipped where there is no grid tier
    with pytest.raises(ValueError, match="places not being built"):
        network.build_networks(
            ["quzhou"], facts=facts, assumptions=assumptions, rates={"futian": {"village": 0.5}}
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rates": {"villages": 0.5}}, "unknown node"),
        ({"rates": {"village": 1.5}}, "between 0 and 1"),
        ({"referral_shares": {"village": 0.5}}, "unknown node"),
    ],
)
def test_bad_overrides_name_the_valid_choices(facts, assumptions, kwargs, message):
    with pytest.raises(ValueError, match=message):
        network.build_network("quzhou", facts=facts, assumptions=assumptions, **kwargs)


def test_no_layout_for_a_place_says_which_exist(facts):
    with pytest.raises(KeyError, match="layouts exist for"):
        network.build_network("衡阳", facts=facts)


def test_missing_facts_are_all_reported(facts, assumptions):
    thinner = facts[~facts.fact_id.isin(["f003_020", "f003_026"])]
    with pytest.raises(DataValidationError) as err:
        network.build_network("dongcheng", facts=thinner, assumptions=assumptions)
    text = str(err.value)
    assert "grids_count" in text and "grid_judicial_staff_count" in text
    assert len(err.value.problems) == 2


def test_missing_assumption_is_reported(facts, assumptions):
    fewer = assumptions[
        ~((assumptions.node == "village") & (assumptions.parameter == "resolution_rate"))
    ]
    with pytest.raises(DataValidationError, match="no resolution_rate for node 'village'"):
        network.build_network("futian", facts=facts, assumptions=fewer)


def test_referral_shares_above_one_are_rejected(facts, assumptions):
    with pytest.raises(DataValidationError, match="add up to 1.2"):
        network.build_network(
            "dongcheng",
            facts=facts,
            assumptions=assumptions,
            layout=_LAYOUT,
            referral_shares={"grid.a": 0.6, "grid.b": 0.6},
        )


def test_invalid_layout_is_rejected(facts):
    upside_down = network.NetworkLayout(
        "futian",
        tiers=(
            network.NodeSpec("county", "区", "district"),
            network.NodeSpec("village", "社区", "community"),
        ),
    )
    with pytest.raises(ValueError, match="bottom to top"):
        network.build_network("futian", facts=facts, layout=upside_down)


def test_packaged_layouts_are_the_documented_structures():
    layouts = network.load_layouts()
    assert list(layouts) == PLACES
    # document 002: 市、县、乡、村四级, bottom to top
    assert [t.node for t in layouts["quzhou"].tiers] == ["village", "township", "county", "city"]
    # document 003 part 7: 区级、街道、社区级、网格级
    assert [t.node for t in layouts["dongcheng"].tiers] == ["grid", "village", "township", "county"]
    legal = layouts["futian"].beside[0].counts[0]
    assert (legal.indicator, legal.per_host_unit) == ("legal_advisers_per_community", True)


def test_a_user_layouts_file_builds_the_same_network(tmp_path, facts, assumptions, nets):
    rows = pd.read_csv(network.LAYOUTS_FILE, dtype=str, keep_default_na=False)
    mine = rows[rows.place_id.eq("futian")].assign(place_id="福田区")  # any name the registry knows
    path = tmp_path / "layouts.csv"
    mine.to_csv(path, index=False)
    layouts = network.load_layouts(path)
    assert list(layouts) == ["futian"] and layouts["futian"] == network.load_layouts()["futian"]
    built = network.build_networks(
        ["futian"], facts=facts, assumptions=assumptions, layouts=layouts
    )
    pd.testing.assert_frame_equal(network.trace(built["futian"]), network.trace(nets["futian"]))
    with pytest.raises(KeyError, match=r"layouts exist for \['futian'\]"):
        network.build_networks(["quzhou"], facts=facts, assumptions=assumptions, layouts=layouts)


def test_bad_layouts_file_lists_every_problem_with_its_row(tmp_path):
    header = network.LAYOUTS_FILE.read_text(encoding="utf-8").splitlines()[0]
    rows = [
        "Atlantis,network,,,,,,,,,,,,,,a basis",  # row 2: place
        "futian,network,,,,,,,,,,,,,,a basis",
        "futian,tier,county,,,区,district,self,,,,,,,,a basis",  # row 4: order
        "futian,tier,village,,,社区,community,fact,,,,,,,,a basis",  # row 5: no units_indicator
        "dongcheng,network,,,,,,,,,,,,,,a basis",  # row 6: duplicate of row 14
        "dongcheng,tier,grid,,,网格,grid,many,grids_count,,,,,,,a basis",  # row 7: units
        "dongcheng,beside,grid.judicial,,,司法,judicial,,,,,,,,,",  # row 8: no basis
        "dongcheng,count,grid.judicial,,staff,司法力量,staff,,,,grid_judicial_staff_count,people,,yes,false,",  # row 9: mediates
        "dongcheng,span_check,grid,village,,,,,,,grids_per_community,,,,,a note",  # row 10: basis
        "futian,count,village.legal,,legal_advisers,法律顾问,legal advisers,,,,legal_advisers_per_community,people,,true,true,",  # row 11: node
        "futian,span_check,village,city,,,,,,,grids_per_community,,,,,",  # row 12: upper
        "quzhou,tier,city,,,市,city,self,,,,,,,,a basis",  # row 13: no network row
        "dongcheng,network,,,,,,,,,,,,,,a basis",  # row 14: duplicate
    ]
    err, table = problems_of(network.load_layouts, tmp_path / "layouts.csv", [header, *rows])
    assert set(zip(table.row, table.column, strict=True)) >= {
        (2, "place_id"),
        (4, "node"),
        (5, "units_indicator"),
        (7, "units"),
        (8, "basis"),
        (9, "mediates"),
        (10, "basis"),
        (11, "node"),
        (12, "upper"),
        (13, "record"),
    }
    assert {6, 14} <= set(table.row)  # both rows of the duplicate key
    assert {"many", "yes", "Atlantis"} <= set(table.value.astype(str))
    assert "bottom to top" in str(err)


def test_layouts_file_without_a_column_names_it(tmp_path):
    rows = pd.read_csv(network.LAYOUTS_FILE, dtype=str, keep_default_na=False)
    path = tmp_path / "layouts.csv"
    rows.drop(columns="basis").to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="missing column 'basis'"):
        network.load_layouts(path)


def test_bad_assumptions_file_lists_every_problem_with_its_row(tmp_path):
    good = ASSUMPTIONS_CSV.read_text(encoding="utf-8").splitlines()
    header, first = good[0], good[1]
    rows = [
        first,
        'a20,*,village,resolution_rate,60%,share,assumption,"a rationale that is long enough to pass"',  # row 3: value
        'a21,Atlantis,village,coverage,0.5,share,assumption,"a rationale that is long enough to pass"',  # row 4: place
        'a22,*,county,referral_share,0.5,share,fact,"a rationale that is long enough to pass"',  # row 5: node, kind
        'a23,*,city,coverage,0.5,share,assumption,"short"',  # row 6: rationale
        'a24,*,grid,resolution_rate,0.2,share,assumption,"a rationale that duplicates row 2 key"',  # row 7: duplicate
    ]
    _, table = problems_of(
        network.load_assumptions, tmp_path / "network_assumptions.csv", [header, *rows]
    )
    found = set(zip(table.row, table.column, strict=True))
    assert {(3, "value"), (4, "place_id"), (5, "node"), (5, "kind"), (6, "rationale")} <= found
    assert 7 in set(table.row) and 2 in set(table.row)  # both rows of the duplicate key
    assert "60%" in set(table.value.astype(str))


def test_committed_assumptions_are_all_labelled_assumptions(assumptions):
    assert set(assumptions.kind) == {"assumption"}
    assert assumptions.rationale.str.contains("ASSUMED").all()
    assert assumptions.value.between(0, 1).all()


def test_sensitivity_moves_the_right_way(facts, assumptions, nets):
    s = network.rate_sensitivity(
        ["futian", "quzhou"], "village", [0.2, 0.6, 0.9], facts=facts, assumptions=assumptions
    )
    for _, part in s.groupby("place_id"):
        assert part.share_by_tier.is_monotonic_increasing
    at_default = s[
        (s.place_id == "futian") & (s.rate == raw_assumption("village", "resolution_rate"))
    ].share_by_tier.item()
    e = network.escalation(nets["futian"], 1.0)
    assert at_default == pytest.approx(e.loc[e.tier.isin(["village", "township"]), "share"].sum())


# --------------------------------------------------------------------------- figures


def _glyph_warnings(fig) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


@pytest.mark.parametrize("place", PLACES)
def test_network_drawing_renders_chinese_labels(nets, place):
    fig = network.draw_network(nets[place], caseload=10_000)
    texts = [t.get_text() for t in fig.axes[0].texts]
    g = nets[place]
    for node in g:
        assert any(g.nodes[node]["label_zh"] in t for t in texts), node
    assert len(fig.axes[0].patches) == g.number_of_nodes()
    assert _glyph_warnings(fig) == []


def test_resolution_chart_stacks_the_escalation_shares(nets):
    comparison = network.compare_escalation(nets, caseload=10_000)
    fig = network.resolution_chart(comparison)
    ax = fig.axes[0]
    bars = pd.DataFrame(
        [
            {"y": round(p.get_y() + p.get_height() / 2), "width": p.get_width()}
            for p in ax.patches
            if p.get_width() > 0
        ]
    )
    assert bars.groupby("y").width.sum().tolist() == pytest.approx([1.0, 1.0, 1.0])
    dong = comparison[comparison.place_id.eq("dongcheng")]
    assert sorted(bars[bars.y == 2].width) == pytest.approx(sorted(dong.share))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("未在网络内化解" in t for t in labels)
    assert _glyph_warnings(fig) == []


@pytest.mark.parametrize(
    "module", ["", ".layouts", ".assumptions", ".build", ".metrics", ".escalation_model"]
)
def test_module_examples_run(module):
    mod = importlib.import_module(f"govstats.network{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted >= 2
