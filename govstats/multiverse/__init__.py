"""Specification curves (multiverse analysis): every reasonable specification, at speed.

A single regression table hides how much a conclusion depends on choices: which
outcome, which staffing or mediation measure, which controls, which fixed
effects, which cluster level, which sample. A :class:`MultiverseSpec` declares
the options of each choice; :func:`run_multiverse` estimates every combination
and returns a :class:`MultiverseResults`: a tidy table (one row per
specification: its choices, the estimate of the treatment coefficient, its
standard error, t, p, confidence interval, N, number of clusters, and, for
specifications with few clusters, the wild cluster restricted bootstrap p-value
``boot_p``), summaries (share significant, by CR1 and by the bootstrap, median
estimate), the specification-curve figure, and the joint test of Simonsohn,
Simmons and Nelson (2020) (:func:`joint_test`). ``MultiverseSpec(weights=)``
weights every specification (analytic/population weights).

Modules
    :mod:`~govstats.multiverse.spec` (the choices), :mod:`~govstats.multiverse.data`
    (the data checked and reduced to arrays), :mod:`~govstats.multiverse.engine` (the
    fast Frisch-Waugh-Lovell path pinned to pyfixest, and the pyfixest fallback; its
    docstring states the conventions), :mod:`~govstats.multiverse.runner` (in process
    or on Dask), :mod:`~govstats.multiverse.results`, :mod:`~govstats.multiverse.joint`
    (with :mod:`~govstats.multiverse.crossdraws`, its draws from per-cluster
    cross-products) and :mod:`~govstats.multiverse.plots`.

References
----------
Simonsohn, U., Simmons, J. P. and Nelson, L. D. (2020), "Specification curve
analysis", Nature Human Behaviour 4, 1208-1214.
Steegen, S., Tuerlinckx, F., Gelman, A. and Vanpaemel, W. (2016), "Increasing
transparency through a multiverse analysis", Perspectives on Psychological
Science 11(5), 702-712.

Examples
--------
>>> from govstats import datasets
>>> from govstats.multiverse import MultiverseSpec, run_multiverse
>>> crime = datasets.load_nc_crime()
>>> spec = MultiverseSpec(
...     outcomes=["lcrmrte"],
...     treatments=["lpolpc", "lprbarr"],
...     controls=["ldensity", "lwcon"],
...     fixed_effects={"county": "unit", "county + year": "unit + time"},
...     clusters={"county": "unit", "iid": "iid"},
... )
>>> spec.n_specifications
32
>>> res = run_multiverse(spec, crime)
>>> tab = res.tidy()
>>> tab.loc[0, ["treatment", "controls", "fixed_effects", "cluster"]].tolist()
['lpolpc', 'none', 'county', 'county']
>>> round(float(tab.loc[0, "estimate"]), 6), int(tab.loc[0, "nobs"])
(0.213173, 630)
"""

from govstats.multiverse.joint import JointTestResult, joint_test
from govstats.multiverse.plots import plot_specification_curve
from govstats.multiverse.results import MultiverseResults
from govstats.multiverse.runner import run_multiverse
from govstats.multiverse.spec import MultiverseSpec

__all__ = [
    "JointTestResult",
    "MultiverseResults",
    "MultiverseSpec",
    "joint_test",
    "plot_specification_curve",
    "run_multiverse",
]
