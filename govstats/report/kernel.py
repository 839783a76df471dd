"""The Jupyter kernel reports run on: registration and identity.

``govstats report`` runs notebooks on a kernel named ``govstats`` that starts
the interpreter govstats itself runs in. :func:`ensure_kernel` registers it
under ``sys.prefix`` (what ``python -m ipykernel install --sys-prefix --name
govstats`` does) the first time, and leaves an existing one alone.

A kernel's identity (its ``argv``, environment and Python version) enters every
run's cache key: a report made with another interpreter is a different report.
"""

from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from govstats.errors import GovstatsError

__all__ = ["KernelIdentity", "KernelNotFoundError", "ensure_kernel", "kernel_identity"]

GOVSTATS_KERNEL = "govstats"
_DISPLAY_NAME = "Python (govstats)"


class KernelNotFoundError(GovstatsError, LookupError):
    """A configuration names a Jupyter kernel that is not installed."""


@dataclass(frozen=True)
class KernelIdentity:
    """What decides how a kernel behaves, for cache keys and the manifest.

    Attributes
    ----------
    name : str
    argv : tuple of str
        The kernelspec command line (``{connection_file}`` left as written).
    python : str or None
        Python version of the kernel's interpreter (None for other languages).
    language : str
    env : dict
        Environment variables the kernelspec sets.
    """

    name: str
    argv: tuple[str, ...]
    python: str | None
    language: str
    env: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "argv": list(self.argv),
            "python": self.python,
            "language": self.language,
            "env": dict(sorted(self.env.items())),
        }


def _resolve_interpreter(executable: str) -> str:
    # jupyter_client runs a kernelspec's bare "python"/"python3" with sys.executable.
    bare = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
    return sys.executable if executable in bare else executable


@functools.cache
def _python_version(executable: str) -> str | None:
    try:
        if os.path.samefile(executable, sys.executable):
            return platform.python_version()
    except OSError:
        return None
    try:
        out = subprocess.run(
            [executable, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def kernel_identity(name: str) -> KernelIdentity:
    """The identity of an installed kernel.

    Raises
    ------
    KernelNotFoundError
        If no kernelspec of that name is installed.

    Examples
    --------
    >>> kernel_identity("python3").language
    'python'
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise KernelNotFoundError(
            f"no Jupyter kernel named {name!r} is installed "
            "(`jupyter kernelspec list` shows the installed ones)"
        ) from None
    python = None
    if spec.language.lower() == "python" and spec.argv:
        python = _python_version(_resolve_interpreter(spec.argv[0]))
    return KernelIdentity(
        name=name,
        argv=tuple(spec.argv),
        python=python,
        language=spec.language,
        env=dict(spec.env or {}),
    )


def ensure_kernel(name: str = GOVSTATS_KERNEL, *, log=None,
                  prefix: str | None = None) -> KernelIdentity:
    """Make sure kernel ``name`` exists; register the govstats kernel if it is absent.

    Only the ``govstats`` kernel is ever installed, into ``sys.prefix``, pointing
    at the current interpreter; it is also re-installed when its interpreter
    has disappeared (a deleted virtual environment). Any other name must
    already be installed.

    Parameters
    ----------
    name : str
        Kernel name.
    log : callable, optional
        Called with one line of text when the kernel is installed.
    prefix : str, optional
        Where to install (default ``sys.prefix``, like ``--sys-prefix``).

    Returns
    -------
    KernelIdentity

    Examples
    --------
    >>> "ipykernel_launcher" in ensure_kernel().argv
    True
    """
    try:
        identity = kernel_identity(name)
    except KernelNotFoundError:
        if name != GOVSTATS_KERNEL:
            raise
        identity = None
    if identity is not None and (
        name != GOVSTATS_KERNEL or Path(_resolve_interpreter(identity.argv[0])).exists()
    ):
        return identity
    from ipykernel.kernelspec import install

    try:
        where = install(kernel_name=name, display_name=_DISPLAY_NAME, prefix=prefix or sys.prefix)
    except OSError:
        # Another process (a parallel test worker, a second batch) installed it meanwhile.
        identity = kernel_identity(name)
        if Path(_resolve_interpreter(identity.argv[0])).exists():
            return identity
        raise
    if log is not None:
        log(f"registered Jupyter kernel {name!r} for {sys.executable} in {where}")
    return kernel_identity(name)
