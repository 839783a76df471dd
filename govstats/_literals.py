"""Every option govstats accepts, as ``Literal`` aliases in one place.

(The pyfixest convention: ``internals/literals.py``.) Functions annotate their
options with these aliases and validate them with :func:`check_literal`, so an
unknown option fails at once with the list of valid ones.
"""

from __future__ import annotations

from typing import Literal, get_args

BoundKind = Literal["exact", "at_least", "at_most", "approx", "range"]
PlaceLevel = Literal[
    "nation",
    "province",
    "municipality",
    "prefecture_city",
    "district",
    "county",
    "county_city",
    "subdistrict",
    "town",
    "other",
]
ErrorsMode = Literal["raise", "collect"]
PopulationKind = Literal["resident", "registered"]
MeasureName = Literal["population", "area"]
IngestLayout = Literal["auto", "wide", "long"]
WeightsKind = Literal["auto", "rademacher", "webb", "mammen", "norm"]
PValueKind = Literal["symmetric", "equal-tailed"]
RIStatistic = Literal["t", "coef"]
SatisfactionLink = Literal["logit", "linear"]
EstimatorKind = Literal["pooled", "within", "random", "between", "first_difference"]
VcovKind = Literal["iid", "hetero", "CRV1", "CRV3", "DK"]
SmallSampleRule = Literal["fixest", "plm", "linearmodels", "none"]
BootstrapMode = Literal["auto", "always", "never"]
HausmanMethod = Literal["classic", "sigmamore", "aux"]
IVMethod = Literal["g2sls", "ec2sls"]
PeriodRule = Literal["reject", "start", "end"]
BalanceMode = Literal["fill", "drop_units", "drop_periods"]
NonPositiveRule = Literal["raise", "nan"]
TableFormat = Literal["markdown", "html", "latex"]
DatasetName = Literal["nc_crime", "grunfeld"]
TierKey = Literal["grid", "village", "township", "county", "city"]
UnitsFrom = Literal["fact", "registry", "self", "not_printed"]
CountKind = Literal["people", "units", "per_unit"]
AssumptionParameter = Literal["resolution_rate", "referral_share", "coverage"]
Language = Literal["zh", "en", "both"]
EventEstimator = Literal["twfe", "sun_abraham", "did2s", "cs"]
EventBootstrap = BootstrapMode  # the same three choices as for models.fit
MediationFixef = Literal["unit + time", "unit", "time", "none"]
EngineKind = Literal["auto", "fast", "pyfixest"]
JointAlternative = Literal["two-sided", "greater", "less"]


def check_literal(value: object, alias: object, name: str) -> None:
    """Raise ValueError naming the option and its valid values if ``value`` is not one."""
    valid = get_args(alias)
    if value not in valid:
        raise ValueError(f"{name}={value!r} is not valid; choose one of {', '.join(map(repr, valid))}")
