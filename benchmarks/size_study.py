"""Size study of few-cluster inference for staggered-adoption ATTs (SIMULATED).

Writes docs/size_study.csv (one row per G and method: rejection rate, Monte Carlo SE,
sims, seed, draws, seconds) and docs/size_study.md (the same as a table). The event-study
notebook reads the CSV. Each G is written as soon as it is done.

Run: .venv/bin/python benchmarks/size_study.py [sims] [seed]
"""

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd

from govstats.did_fewclusters import METHODS, size_study

sims = int(sys.argv[1]) if len(sys.argv) > 1 else 200
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
RI_REPS, BOOT_REPS, CS_BOOT_REPS = 99, 999, 199
root = Path(__file__).resolve().parents[1] / "docs"
parts = []
for G in (5, 8, 15, 30):
    t0 = time.perf_counter()
    tab = size_study((G,), sims=sims, ri_reps=RI_REPS, boot_reps=BOOT_REPS, cs_boot_reps=CS_BOOT_REPS, seed=seed)
    tab = tab.assign(seed=seed, ri_reps=RI_REPS, boot_reps=BOOT_REPS, cs_boot_reps=CS_BOOT_REPS)
    parts.append(tab)
    out = pd.concat(parts, ignore_index=True)
    out.to_csv(root / "size_study.csv", index=False, float_format="%.4f")
    print(f"G = {G}: {time.perf_counter() - t0:.0f} s", flush=True)

wide = out.pivot(index="method", columns="G", values="rejection_rate").reindex(list(METHODS))
secs = out.groupby("G")["seconds"].first()
lines = [
    "# Size study: 5% rejection rates under no effect (SIMULATED)",
    "",
    f"`benchmarks/size_study.py {sims} {seed}` -> `govstats.did_fewclusters.size_study(sims={sims}, "
    f"ri_reps={RI_REPS}, boot_reps={BOOT_REPS}, cs_boot_reps={CS_BOOT_REPS}, seed={seed})`; the numbers are in "
    "`docs/size_study.csv`. G places (clusters) of 3 units, 8 years, AR(1) place-year shocks, a third of places "
    "never adopt, the rest adopt in year 4, 5 or 6; the true effect is 0. Statistic: each estimator's overall "
    f"ATT. Monte Carlo SE of a 5% rate with {sims} draws: {(0.05 * 0.95 / sims) ** 0.5:.3f}.",
    "",
    "| method | " + " | ".join(f"G = {g}" for g in wide.columns) + " |",
    "|---|" + "---|" * len(wide.columns),
]
for m, r in wide.iterrows():
    lines.append(f"| {m} | " + " | ".join(f"{v:.3f}" for v in r) + " |")
lines += [
    "",
    "On a balanced panel without controls and with never-treated controls, the Sun-Abraham ATT equals the CS "
    "simple ATT (the cohort shares are the same weights), so their randomization-inference rows coincide.",
    "",
    "Seconds per G: " + ", ".join(f"G = {g}: {s:.0f}" for g, s in secs.items()),
    "",
]
(root / "size_study.md").write_text("\n".join(lines), encoding="utf-8")
print("\n".join(lines))
