"""The fast paths of govstats.honestdid give the numbers of the direct computation.

The published-number tests (tests/test_honestdid.py) pin the results to the HonestDiD README;
these check that the shortcuts taken for speed change nothing:

* relative magnitudes: the ARP dual vertices come from the cone's extreme rays, found once per
  moment matrix and rescaled for each covariance, instead of trying every basic solution per
  call (:func:`_dual_vertices_all`, kept as the reference); the hybrid's normal draws are drawn
  once per seed. Same vertices to rounding, and the same confidence sets and breakdown values
  (bit for bit) as with the reference path;
* smoothness: the min-bias solutions for a standard deviation ``h`` are shared by every ``M``
  of the same problem, and the folded-normal quantile calls ``special.ndtr``: the same intervals
  and breakdown values as with a fresh problem per call and ``stats.norm.cdf``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from govstats import honestdid
from govstats.honestdid import breakdown_rm, breakdown_sd, ci_rm, sensitivity_rm, sensitivity_sd


def _event_study_like(num_pre: int, num_post: int, seed: int):
    """A SIMULATED event-study (b, V): a smooth effect path, correlated estimates."""
    rng = np.random.default_rng(seed)
    n = num_pre + num_post
    A = rng.normal(size=(n, n)) * 0.01
    V = A @ A.T + np.diag(rng.uniform(1e-4, 4e-4, n))
    trend = np.r_[np.zeros(num_pre), 0.3 * (1 - 0.5 ** np.arange(1, num_post + 1))]
    return rng.multivariate_normal(trend, V), V


def _rm_problems(b, V, num_pre, num_post, l_vec, Mbars):
    """The (X, sd) pairs ci_rm hands to the vertex enumeration."""
    post = slice(num_pre, num_pre + num_post)
    Gam_inv = np.linalg.inv(honestdid._gamma_basis(l_vec))
    for Mbar in Mbars:
        for s in range(-(num_pre - 1), 1):
            for pos in (True, False):
                A = honestdid._rm_constraints(num_pre, num_post, Mbar, s, pos)
                rows = np.flatnonzero(np.abs(A[:, post]).sum(1) > 0) if num_post > 1 else np.arange(A.shape[0])
                AG = A[:, post] @ Gam_inv
                SY = A @ V @ A.T
                yield AG[np.ix_(rows, np.arange(1, num_post))], np.sqrt(np.diag(SY))[rows]


@pytest.fixture
def reference_rm(monkeypatch):
    """Switch honestdid to the direct computation: every basic solution per call, fresh draws."""
    def draws(seed, sims, M):
        rng = np.random.default_rng(seed)
        return tuple(rng.standard_normal((min(5000, sims - i), M)) for i in range(0, sims, 5000))

    def use():
        monkeypatch.setattr(honestdid, "_dual_vertices", honestdid._dual_vertices_all)
        monkeypatch.setattr(honestdid, "_normal_draws", draws)

    return use


@pytest.mark.parametrize("num_pre,num_post,l_vec", [(5, 2, None), (3, 4, None), (3, 4, [0.25] * 4),
                                                    (2, 3, [0.0, 1.0, 2.0])])
def test_dual_vertices_from_rays_equal_every_basic_solution(num_pre, num_post, l_vec):
    b, V = _event_study_like(num_pre, num_post, seed=num_pre * 10 + num_post)
    lv = np.eye(num_post)[0] if l_vec is None else np.asarray(l_vec, float)
    n = 0
    for X, sd in _rm_problems(b, V, num_pre, num_post, lv, [0.0, 0.7, 2.0]):
        fast = honestdid._dual_vertices(X, sd)
        slow = honestdid._dual_vertices_all(X, sd)
        assert fast.shape == slow.shape
        np.testing.assert_allclose(fast, slow, rtol=0, atol=2e-12)
        n += len(slow)
    assert n > 0


def test_dual_vertices_at_the_notebook_size():
    # reform_event_study: 3 leads tested, 9 post periods (48,620 subsets, a handful of vertices)
    b, V = _event_study_like(3, 9, seed=1)
    for i, (X, sd) in enumerate(_rm_problems(b, V, 3, 9, np.eye(9)[0], [1.0])):
        if i % 3:
            continue
        np.testing.assert_allclose(honestdid._dual_vertices(X, sd), honestdid._dual_vertices_all(X, sd),
                                   rtol=0, atol=2e-12)


def test_extreme_sd_falls_back_to_the_direct_enumeration():
    b, V = _event_study_like(3, 3, seed=5)
    X, sd = next(_rm_problems(b, V, 3, 3, np.eye(3)[0], [1.0]))
    big = sd * 1e7  # beyond the bound that makes the ray candidates provably complete
    np.testing.assert_array_equal(honestdid._dual_vertices(X, big), honestdid._dual_vertices_all(X, big))


@pytest.mark.parametrize("method", ["C-LF", "Conditional"])
def test_relative_magnitude_sets_and_breakdown_equal_the_reference(reference_rm, method):
    b, V = _event_study_like(3, 3, seed=7)
    kw = {"num_pre": 3, "num_post": 3, "method": method, "grid_points": 300}
    fast = sensitivity_rm(b, V, Mbarvec=[0, 0.5, 1, 2], **kw), breakdown_rm(b, V, **kw)
    fast_avg = ci_rm(b, V, Mbar=1.0, l_vec=[1 / 3] * 3, **kw)
    reference_rm()
    slow = sensitivity_rm(b, V, Mbarvec=[0, 0.5, 1, 2], **kw), breakdown_rm(b, V, **kw)
    slow_avg = ci_rm(b, V, Mbar=1.0, l_vec=[1 / 3] * 3, **kw)
    assert fast[0].equals(slow[0])
    assert fast[1] == slow[1]
    assert fast_avg == slow_avg


def test_relative_magnitudes_readme_problem_equals_the_reference(reference_rm):
    # the README's Medicaid design (5 leads, 2 lags) with a SIMULATED (b, V) of its size
    b, V = _event_study_like(5, 2, seed=11)
    fast = sensitivity_rm(b, V, num_pre=5, num_post=2, Mbarvec=[0.5, 1, 1.5, 2])
    reference_rm()
    assert fast.equals(sensitivity_rm(b, V, num_pre=5, num_post=2, Mbarvec=[0.5, 1, 1.5, 2]))


def test_hybrid_draws_are_cached_per_seed_and_fresh_without_one():
    a = honestdid._normal_draws(3, 12_000, 4)
    assert a is honestdid._normal_draws(3, 12_000, 4)
    ref = np.random.default_rng(3)
    for z, n in zip(a, (5000, 5000, 2000), strict=True):
        np.testing.assert_array_equal(z, ref.standard_normal((n, 4)))
    assert honestdid._normal_draws(None, 10, 2)[0].shape == (10, 2)
    assert not np.array_equal(honestdid._normal_draws(None, 10, 2)[0], honestdid._normal_draws(None, 10, 2)[0])


def _cv_reference(b, alpha=0.05):
    """The folded-normal quantile as first written, with scipy.stats (the reference)."""
    b = abs(float(b))
    if b == 0:
        return float(stats.norm.ppf(1 - alpha / 2))
    f = lambda c: stats.norm.cdf(c - b) - stats.norm.cdf(-c - b) - (1 - alpha)  # noqa: E731
    return float(optimize.brentq(f, 0.0, b + stats.norm.ppf(1 - alpha) + 10, xtol=1e-14))


def test_cv_folded_normal_equals_the_stats_version_bit_for_bit():
    bs = np.r_[0.0, 1e-9, np.random.default_rng(0).uniform(0, 30, 40), 80.0]
    for alpha in (0.05, 0.01):
        assert [honestdid.cv_folded_normal(x, alpha) for x in bs] == [_cv_reference(x, alpha) for x in bs]


def test_smoothness_intervals_with_shared_solutions_equal_fresh_ones(monkeypatch):
    num_pre, num_post = 2, 3
    b, V = _event_study_like(num_pre, num_post, 1)
    sd0 = math.sqrt(V[num_pre, num_pre])
    kw = {"num_pre": num_pre, "num_post": num_post, "tol": 1e-2}
    honestdid._FLCI_CACHE.clear()
    fast = sensitivity_sd(b, V, Mvec=[0, sd0], num_pre=num_pre, num_post=num_post), breakdown_sd(b, V, **kw)
    original = honestdid._flci_problem

    def fresh(*args):  # a new problem (and no shared solutions) on every call
        honestdid._FLCI_CACHE.clear()
        return original(*args)

    monkeypatch.setattr(honestdid, "_flci_problem", fresh)
    slow = sensitivity_sd(b, V, Mvec=[0, sd0], num_pre=num_pre, num_post=num_post), breakdown_sd(b, V, **kw)
    assert fast[0].equals(slow[0])
    assert fast[1] == slow[1]


def test_tiny_standard_errors_drop_the_vertices_as_the_direct_enumeration_does():
    # |det B| = sd'c falls below the direct way's 1e-12 threshold when the sd are ~1e-13. With
    # entries ~1e10 rounding to 12 decimals no longer merges the copies of a vertex that several
    # row subsets give: compare the sets, to 1e-12 of the largest entry
    b, V = _event_study_like(3, 3, seed=6)
    dropped = 0
    for X, sd in _rm_problems(b, V, 3, 3, np.eye(3)[0], [1.0]):
        for f in (1e-13, 1e-12, 1e-11, 1e-9):
            fast, slow = honestdid._dual_vertices(X, sd * f), honestdid._dual_vertices_all(X, sd * f)
            dropped += len(slow) == 0
            assert (len(fast) == 0) == (len(slow) == 0)
            if len(slow):
                d = np.abs(slow[:, None, :] - fast[None, :, :]).max(2) / np.abs(slow).max()
                assert d.min(1).max() < 1e-12 and d.min(0).max() < 1e-12
    assert dropped > 0
