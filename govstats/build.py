"""Rebuild ``data/processed/`` from ``data/raw/``: the cleaned facts and derived indicators.

Generated files are rebuilt, never edited. The build fails (after writing the rejected
rows so they can be inspected) when the committed facts table has any problem, because
every report downstream would silently miss those facts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from govstats import paths
from govstats._io import atomic_write_text
from govstats.errors import DataValidationError

__all__ = ["build_processed_data"]


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write atomically: a reader never sees a half-written file."""
    atomic_write_text(path, df.to_csv(index=False, lineterminator="\n"))


def build_processed_data(out_dir: str | Path | None = None, *, verbose: bool = True) -> dict[str, int]:
    """Validate the facts, derive indicators and checks, write them to ``data/processed``.

    Writes ``facts_clean.csv``, ``facts_rejected.csv`` (empty when all is well),
    ``indicators_per_10k.csv``, ``indicators_ratios.csv``, ``indicators_skipped.csv`` and
    ``consistency_checks.csv``. Returns row counts; prints the row accounting.

    Raises
    ------
    DataValidationError
        When any fact row is rejected (listing every problem).
    """
    from govstats import facts as facts_mod
    from govstats import indicators

    out = Path(out_dir) if out_dir else paths.processed_dir()
    result = facts_mod.check_facts()
    _write_csv(result.rejected, out / "facts_rejected.csv")
    if verbose:
        print(result.summary())
    DataValidationError.raise_if_any(result.problems, what=result.source)
    clean = result.kept
    per_capita = indicators.per_10k(clean)
    ratio = indicators.ratios(clean)
    checks = indicators.consistency_checks(clean)
    skipped = pd.concat([per_capita.skipped, ratio.skipped], ignore_index=True)
    _write_csv(clean, out / "facts_clean.csv")
    _write_csv(per_capita.values, out / "indicators_per_10k.csv")
    _write_csv(ratio.values, out / "indicators_ratios.csv")
    _write_csv(skipped, out / "indicators_skipped.csv")
    _write_csv(checks, out / "consistency_checks.csv")
    counts = {
        "facts_in": result.rows_in,
        "facts_kept": result.rows_kept,
        "facts_rejected": result.rows_rejected,
        "per_10k": len(per_capita.values),
        "ratios": len(ratio.values),
        "skipped": len(skipped),
        "checks": len(checks),
    }
    if verbose:
        print(
            f"derived: {counts['per_10k']} per-10k values, {counts['ratios']} ratios, "
            f"{counts['skipped']} not derivable (indicators_skipped.csv); "
            f"{counts['checks']} consistency checks -> {out}"
        )
    return counts
