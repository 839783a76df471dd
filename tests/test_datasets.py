"""govstats.datasets: the shipped public panels load offline, balanced, with codebooks."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from govstats import datasets


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a data set loader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_nc_crime_is_the_cornwell_trumbull_panel(no_network):
    df = datasets.load_nc_crime()
    assert df.shape == (630, 57)
    assert df.index.names == ["county", "year"]
    assert df.index.get_level_values("county").nunique() == 90
    assert sorted(df.index.get_level_values("year").unique()) == list(range(1981, 1988))
    assert df.index.is_unique and df.index.is_monotonic_increasing
    # stored logs are the logs of the stored levels (to the precision of the source file)
    np.testing.assert_allclose(df["lpolpc"], np.log(df["polpc"]), atol=1e-6)
    np.testing.assert_allclose(df["lcrmrte"], np.log(df["crmrte"]), atol=1e-6)


def test_grunfeld_textbook_version_drops_american_steel(no_network):
    g10 = datasets.load_grunfeld()
    g11 = datasets.load_grunfeld(textbook=False)
    assert g10.shape == (200, 3) and g11.shape == (220, 3)
    assert list(g10.columns) == ["invest", "value", "capital"]
    assert "American Steel" not in g10.index.get_level_values("firm")
    assert "American Steel" in g11.index.get_level_values("firm")
    assert sorted(g10.index.get_level_values("year").unique()) == list(range(1935, 1955))
    # Kleiber & Zeileis (2010) Table 1 / Grunfeld's thesis: General Motors invested 317.6 in 1935
    assert g10.loc[("General Motors", 1935), "invest"] == pytest.approx(317.6)


@pytest.mark.parametrize("name", ["nc_crime", "grunfeld"])
def test_codebook_covers_every_column_with_label_and_unit(name):
    cb = datasets.codebook(name)
    data = datasets.load_nc_crime() if name == "nc_crime" else datasets.load_grunfeld()
    cols = set(data.columns) | set(data.index.names)
    assert cols <= set(cb.index)
    assert (cb["label"].str.len() > 0).all() and (cb["unit"].str.len() > 0).all()
    assert "source" in cb.attrs and len(cb.attrs["source"]) > 40


def test_codebook_rejects_unknown_names():
    with pytest.raises(ValueError, match="choose one of 'nc_crime', 'grunfeld'"):
        datasets.codebook("cigar")
