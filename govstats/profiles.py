"""Place profiles: the tables and labels the place-profile notebook shows.

Thin glue between facts, places and indicators, so the notebook itself only sets
parameters, calls these and displays the results.
"""

from __future__ import annotations

import pandas as pd

from govstats import indicators as indicators_mod
from govstats._literals import Language

__all__ = [
    "indicator_label",
    "overview",
    "per_capita_comparison",
    "place_label",
    "provenance",
]



def place_label(place_id: str, language: Language = "both") -> str:
    """``'邵阳 Shaoyang'`` (both), ``'邵阳'`` (zh) or ``'Shaoyang'`` (en)."""
    from govstats import places

    reg = places.registry()
    if place_id not in reg.index:
        return place_id
    row = reg.loc[place_id]
    zh = row["short_zh"] if isinstance(row["short_zh"], str) and row["short_zh"] else row["name_zh"]
    return {"zh": zh, "en": row["name_en"], "both": f"{zh} {row['name_en']}"}[language]


def indicator_label(indicator: str, codebook: pd.DataFrame, language: Language = "both") -> str:
    """A chart label for an indicator, including derived per-10k ones.

    A derived ``grid_assistants_per_10k_people`` is labelled from its base count's
    codebook entry (``网格协管员数 grid assistants``); the chart axis says "per 10k".
    """
    cb = codebook.set_index("indicator")
    base = indicator
    if indicator not in cb.index and indicator.endswith("_per_10k_people"):
        base = indicator.removesuffix("_per_10k_people") + "_count"
    if base not in cb.index:
        en = indicator.replace("_", " ")
        return {"zh": en, "en": en, "both": en}[language]
    zh = cb.at[base, "name_zh"]
    en = base.removesuffix("_count").replace("_", " ")
    return {"zh": zh, "en": en, "both": f"{zh} {en}"}[language]


def overview(facts: pd.DataFrame, place_ids: list[str], language: Language = "both") -> pd.DataFrame:
    """One row per place: level, parent, facts on record, the documents' period, census populations."""
    from govstats import places

    reg = places.registry()
    periods = indicators_mod.document_periods()
    rows = []
    for pid in place_ids:
        own = facts[facts["place_id"].eq(pid)]
        subunits = facts[facts["place_id"].str.startswith(pid + ".")]
        census = []
        for year in (2010, 2020):
            try:
                fig = places.population(pid, year=year)
            except (LookupError, KeyError, ValueError):
                continue
            text = f"{fig.value:,.0f} ({fig.reference_date})"
            if text not in census:
                census.append(text)
        period = periods.loc[periods["place_id"].eq(pid), "period"]
        rows.append(
            {
                "place": place_label(pid, language),
                "level": reg.at[pid, "level"] if pid in reg.index else "",
                "facts": len(own),
                "facts on sub-units": len(subunits),
                "documents' period": period.iloc[0] if len(period) else "",
                "resident population (census)": "; ".join(census) or "not available",
            }
        )
    return pd.DataFrame(rows)


def per_capita_comparison(
    facts: pd.DataFrame,
    place_ids: list[str],
    *,
    denominator: indicators_mod.Denominator = "closest_census",
    language: Language = "both",
) -> pd.DataFrame:
    """Per-10k-people values for the chosen places, labelled for tables and charts."""
    derived = indicators_mod.per_10k(facts, denominator=denominator).values
    from govstats.facts import load_codebook

    codebook = load_codebook()
    out = derived[derived["place_id"].isin(place_ids)].copy()
    out["place_label"] = out["place_id"].map(lambda p: place_label(p, language))
    out["indicator_label"] = out["indicator"].map(lambda i: indicator_label(i, codebook, language))
    return out.sort_values(["indicator", "place_id"]).reset_index(drop=True)


def provenance(values: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """Every input fact behind ``values``: the quantity as printed, where and how it was read."""
    ids = values[["place_id", "indicator", "inputs"]].assign(fact_id=values["inputs"].str.split(";"))
    ids = ids.explode("fact_id")
    cols = ["fact_id", "quantity", "year", "source_file", "source_phrase", "note"]
    merged = ids.rename(columns={"indicator": "derived indicator"}).merge(facts[cols], on="fact_id", how="left")
    return merged[["place_id", "derived indicator", *cols]].reset_index(drop=True)
