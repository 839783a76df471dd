"""Castle-doctrine panel (Cheng and Hoekstra 2013 data): loader, published number, event studies.

Outside references: the DD estimate printed in the code of Cunningham's *The Mixtape* (2021),
ch. 9 (``govstats/data/reference/textbook_wooldridge.csv``, row ``castle_mixtape_dd``), and
pyfixest run in the test on the same data (weighted two-way FE and event-time dummies).
"""

from __future__ import annotations

import hashlib
import shutil
import warnings

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from govstats import castle, paths, textbook
from govstats.errors import DataValidationError

#: sha256 of data/raw/castle.csv as recorded in data/raw/castle.provenance.md
CSV_SHA256 = "f388e2a6499f1cc52f529c96da6c8ac908bb5504c19adc274270d4b27d9b5f80"


@pytest.fixture(scope="module")
def data():
    return castle.load_castle()


@pytest.fixture(scope="module")
def flat(data):
    return data.reset_index()


def test_committed_file_is_the_one_in_the_provenance_note():
    path = paths.raw_dir() / "castle.csv"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == CSV_SHA256
    note = (paths.raw_dir() / "castle.provenance.md").read_text(encoding="utf-8")
    assert CSV_SHA256 in note


def test_panel_shape_and_adopters(data):
    assert data.shape[0] == 550
    assert data.index.names == ["sid", "year"]
    states = data.groupby(level="sid").first()
    # 21 states expand castle doctrine 2000-2010 (Cheng and Hoekstra 2013; The Mixtape ch. 9)
    assert int(states["cohort"].notna().sum()) == 21
    assert states.loc[states["state"] == "Florida", "cohort_partial"].item() == 2005  # Florida: October 2005
    # post switches on the year after the partial year (lag0), except for Alaska and Arizona (sid 2, 3)
    gap = (states["cohort"] - states["cohort_partial"]).dropna()
    assert set(gap.drop(index=[2, 3])) == {1.0} and set(gap.loc[[2, 3]]) == {2.0}


def test_mixtape_dd_reproduces_the_printed_estimate():
    """0.0769 as printed in The Mixtape's code (R/castle_3.R), at its printed precision."""
    out = textbook.reproduce(which=["castle"])
    assert len(out) == 1
    row = out.iloc[0]
    assert row["term"] == "post" and row["value"] == 0.0769 and row["tolerance"] == pytest.approx(5e-5)
    assert row["agrees"], f"computed {row['computed']:.6f}, printed 0.0769 ({row['where']})"


def test_mixtape_dd_equals_pyfixest(data, flat):
    res = castle.mixtape_dd(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols(castle.mixtape_formula(data), flat, weights="popwt", vcov={"CRV1": "sid"})
    assert res.coef()["post"] == pytest.approx(ref.coef()["post"], rel=1e-8)
    assert res.se()["post"] == pytest.approx(ref.se()["post"], rel=1e-6)
    assert res.nobs == 550


@pytest.mark.parametrize("covariates", [(), ("l_police",)])
@pytest.mark.parametrize("weighted", [True, False])
def test_static_twfe_equals_pyfixest(data, flat, covariates, weighted):
    res = castle.static_twfe(data, covariates=covariates, weighted=weighted)
    rhs = " + ".join(["post", *covariates])
    ref = pf.feols(f"l_homicide ~ {rhs} | sid + year", flat, weights="popwt" if weighted else None,
                   vcov={"CRV1": "sid"})
    for term in ["post", *covariates]:
        assert res.coef()[term] == pytest.approx(ref.coef()[term], rel=1e-8)
        assert res.se()[term] == pytest.approx(ref.se()[term], rel=1e-6)


def test_unknown_covariate_is_refused(data):
    with pytest.raises(ValueError, match="l_homicide"):
        castle.static_twfe(data, covariates=["l_homicide"])
    with pytest.raises(ValueError, match="adoption"):
        castle.event_spec(adoption="first_year")


@pytest.fixture(scope="module")
def es(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return castle.event_study(data, covariates=["l_police"], leads=4, lags=3)


def test_weighted_twfe_event_study_equals_pyfixest_with_binned_dummies(es, flat):
    """TWFE event study: endpoints binned (e <= -4, e >= 3), e = -1 left out, popwt weights."""
    df = flat.copy()
    e = (df["year"] - df["cohort"]).clip(-4, 3)
    names = []
    for k in (-4, -3, -2, 0, 1, 2, 3):
        name = f"d_m{-k}" if k < 0 else f"d_p{k}"
        df[name] = (e == k).astype(float)
        names.append((k, name))
    ref = pf.feols("l_homicide ~ " + " + ".join(n for _, n in names) + " + l_police | sid + year", df,
                   weights="popwt", vcov={"CRV1": "sid"})
    got = es.coef()["twfe"]
    for k, name in names:
        assert got[k] == pytest.approx(ref.coef()[name], rel=1e-7, abs=1e-10)
    assert got[-1] == 0.0


def test_event_study_static_att_equals_static_twfe(es, data):
    att = es.att.set_index("estimator")
    ref = castle.static_twfe(data, covariates=["l_police"])
    assert att.loc["twfe_static", "estimate"] == pytest.approx(ref.coef()["post"], rel=1e-8)
    assert es.n_clusters == 50
    assert es.accounting.summary().endswith("550 kept + 0 rejected")


def test_callaway_santanna_instant_effect_by_hand(flat):
    """ATT at e = 0 with never-treated controls, no covariates: cohort-size weighted 2x2 DiDs."""
    cs = castle.callaway_santanna(reps=0, adoption="first_full_year")
    got = cs.coef().loc[0]
    wide = flat.pivot(index="sid", columns="year", values="l_homicide")
    g = flat.groupby("sid")["cohort"].first()
    never = g.isna()
    cells, sizes = [], []
    for cohort, members in g.dropna().groupby(g.dropna()).groups.items():
        c = int(cohort)
        treated = wide.loc[members, c] - wide.loc[members, c - 1]
        control = wide.loc[never, c] - wide.loc[never, c - 1]
        cells.append(treated.mean() - control.mean())
        sizes.append(len(members))
    assert got == pytest.approx(np.average(cells, weights=sizes), rel=1e-8)


def _broken_copy(tmp_path, monkeypatch):
    raw = tmp_path / "data" / "raw"
    raw.mkdir(parents=True)
    shutil.copy(paths.raw_dir() / "castle.csv", raw / "castle.csv")
    df = pd.read_csv(raw / "castle.csv")
    monkeypatch.setattr(paths, "raw_dir", lambda: raw)
    return raw / "castle.csv", df


def test_bad_rows_are_all_reported(tmp_path, monkeypatch):
    path, df = _broken_copy(tmp_path, monkeypatch)
    fl = df.index[(df["state"] == "Florida") & (df["year"] == 2008)][0]
    df.loc[fl, "post"] = 0  # the law switches off
    df.loc[3, "popwt"] = 0.0  # a zero weight
    df = df.drop(index=df.index[(df["sid"] == 5) & (df["year"] == 2003)])  # a missing state-year
    df.loc[7, "l_homicide"] = np.nan
    df.to_csv(path, index=False)
    with pytest.raises(DataValidationError) as err:
        castle.load_castle()
    text = str(err.value)
    for needle in ("post goes from 1 back to 0", "weight must be positive", "state not observed exactly once",
                   "missing value", "l_homicide"):
        assert needle in text, text


def test_missing_column_is_named(tmp_path, monkeypatch):
    path, df = _broken_copy(tmp_path, monkeypatch)
    df.drop(columns=["popwt"]).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match="popwt"):
        castle.load_castle()


def test_bacon_decomposition_adds_up_to_unweighted_twfe(data, flat):
    """Goodman-Bacon: the weighted 2x2 comparisons sum to the unweighted static TWFE; a 2x2 by hand."""
    summary, comparisons = castle.bacon_decomposition(data)
    twfe = castle.static_twfe(data, weighted=False).coef()["post"]
    assert summary.attrs["twfe"] == pytest.approx(twfe, rel=1e-8)
    assert summary["contribution"].sum() == pytest.approx(twfe, rel=1e-8)
    assert summary["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    # Florida (first full year 2006) against the 29 never-adopting states, whole panel: a plain 2x2 DiD
    row = comparisons[(comparisons["treated_group"] == 2006) & (comparisons["control_group"] == "never_treated")]
    g = flat.groupby("sid")["cohort"].first()
    post = flat["year"] >= 2006
    fl = flat["sid"].isin(g.index[g == 2006])
    nv = flat["sid"].isin(g.index[g.isna()])
    by_hand = ((flat.loc[fl & post, "l_homicide"].mean() - flat.loc[fl & ~post, "l_homicide"].mean())
               - (flat.loc[nv & post, "l_homicide"].mean() - flat.loc[nv & ~post, "l_homicide"].mean()))
    assert row["estimate"].item() == pytest.approx(by_hand, rel=1e-8)
