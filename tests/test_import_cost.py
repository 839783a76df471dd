"""Report kernels pay every import once per run: keep the heavy ones off the common paths."""

from __future__ import annotations

import subprocess
import sys


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_two_way_demeaning_does_not_import_pyfixest_estimation():
    """fixed_effects.demean calls pyfixest's compiled demeaner (pyfixest.core) without importing
    pyfixest.estimation, which loads every estimator module (seconds per report kernel). The
    function is the same one: pyfixest.estimation re-exports pyfixest.core.demean."""
    loaded = _modules_after(
        "import numpy as np\n"
        "from govstats.fixed_effects import demean\n"
        "rng = np.random.default_rng(0)\n"
        "a, b = rng.integers(0, 30, 500), rng.integers(0, 7, 500)\n"
        "demean(rng.normal(size=(500, 2)), [a, b], balanced=False)\n")
    assert "pyfixest.core" in loaded
    assert "pyfixest.estimation" not in loaded
    import pyfixest.core
    import pyfixest.estimation

    assert pyfixest.estimation.demean is pyfixest.core.demean


def test_arabic_quantities_do_not_import_cn2an_and_its_numeral_list_is_cn2ans():
    """cn2an compiles its regular expressions on import (about half a second, once per
    process). The quantity parser imports it only for a cell with a Chinese numeral; the
    numeral characters it tokenises with are cn2an's own list, written out."""
    loaded = _modules_after(
        "from govstats.quantities import parse_quantity\n"
        "assert parse_quantity('1,056人').value == 1056 and parse_quantity('3.2万').value == 32000\n")
    assert "cn2an" not in loaded
    loaded = _modules_after("from govstats.quantities import parse_quantity\n"
                            "assert parse_quantity('一千六百名').value == 1600\n")
    assert "cn2an" in loaded
    import cn2an

    from govstats.quantities import _CN_NUMERAL_CHARS

    assert _CN_NUMERAL_CHARS == cn2an.Cn2An().check_key_dict["normal"].replace("负", "")
