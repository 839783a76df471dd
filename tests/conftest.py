import os

import numpy as np
import pandas as pd
import pytest

# Headless plotting everywhere in the test suite.
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="module")
def unbalanced_simulated_panel() -> pd.DataFrame:
    """SIMULATED panel, 30 units x 12 years, made unbalanced, with missing values and a placebo
    (the multiverse tests' panel; one copy per test module)."""
    from govstats.simulate import simulate_panel

    df = simulate_panel(units_per_place=6, years=range(2012, 2024), seed=11).data.copy()
    rng = np.random.default_rng(5)
    df = df.drop(index=rng.choice(len(df), 25, replace=False)).reset_index(drop=True)
    df.loc[rng.choice(len(df), 12, replace=False), "grid_density"] = np.nan
    df["placebo"] = rng.normal(size=len(df))
    df.attrs["simulated"] = True
    return df
