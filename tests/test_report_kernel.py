"""Registering the govstats kernel: once, pointing at this interpreter."""

from __future__ import annotations

import json
import sys

import pytest

from govstats.report import kernel as kernel_mod


def test_ensure_kernel_installs_once_for_this_interpreter(tmp_path, monkeypatch):
    prefix = tmp_path / "prefix"
    monkeypatch.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
    monkeypatch.setattr(kernel_mod, "GOVSTATS_KERNEL", "govstats-test-only")
    messages = []
    first = kernel_mod.ensure_kernel("govstats-test-only", log=messages.append, prefix=str(prefix))
    spec_file = prefix / "share" / "jupyter" / "kernels" / "govstats-test-only" / "kernel.json"
    spec = json.loads(spec_file.read_text())
    # what `python -m ipykernel install --sys-prefix --name ...` writes: this interpreter
    assert spec["argv"][0] == sys.executable and "ipykernel_launcher" in spec["argv"]
    assert first.argv == tuple(spec["argv"]) and first.language == "python"
    assert first.python == ".".join(map(str, sys.version_info[:3]))
    assert len(messages) == 1
    stamp = spec_file.stat().st_mtime_ns
    again = kernel_mod.ensure_kernel("govstats-test-only", log=messages.append, prefix=str(prefix))
    assert again == first and len(messages) == 1 and spec_file.stat().st_mtime_ns == stamp


def test_other_missing_kernels_are_an_error_not_an_install():
    with pytest.raises(kernel_mod.KernelNotFoundError, match="no-such-kernel"):
        kernel_mod.ensure_kernel("no-such-kernel")
