"""Numba's on-disk cache, keyed by the source of ``asymlp_core``.

Numba invalidates a cached kernel when *its own* file changes, but not when a kernel it
calls in another module changes: after an edit of, say, the rebalance kernels, the LP
backtester would keep running its stale compiled copy.  Keying the cache directory by a hash
of every ``asymlp_core`` source file makes any edit start from a clean cache.  Call
:func:`configure_numba_cache` before Numba is imported (the CLI and the test suite do).
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import sys

_KEEP = 3


def core_source_hash() -> str:
    """Hash of the names and contents of every ``asymlp_core`` source file."""
    import importlib.util

    spec = importlib.util.find_spec("asymlp_core")
    if spec is None or spec.origin is None:
        return "unknown"
    root = pathlib.Path(spec.origin).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def configure_numba_cache(base: str | os.PathLike[str] | None = None) -> pathlib.Path | None:
    """Point ``NUMBA_CACHE_DIR`` at ``<base>/<source hash>`` unless the user set it.

    ``base`` defaults to ``$ASYMLP_NUMBA_CACHE`` or ``~/.cache/asymlp/numba``.  Keeps the
    three most recent hash directories.  Returns the directory, or ``None`` when left alone
    (``NUMBA_CACHE_DIR`` already set by the user).  If Numba is already imported its config
    is updated too, which takes effect for every kernel defined afterwards.
    """
    if "NUMBA_CACHE_DIR" in os.environ:
        return None
    if base is None:
        base = os.environ.get("ASYMLP_NUMBA_CACHE") or pathlib.Path.home() / ".cache" / "asymlp" / "numba"
    base = pathlib.Path(base)
    target = base / core_source_hash()
    try:
        target.mkdir(parents=True, exist_ok=True)
        os.utime(target)
        others = sorted((p for p in base.iterdir() if p.is_dir() and p != target), key=lambda p: p.stat().st_mtime)
        for old in others[: max(0, len(others) - (_KEEP - 1))]:
            shutil.rmtree(old, ignore_errors=True)
    except OSError:
        return None
    os.environ["NUMBA_CACHE_DIR"] = str(target)
    numba = sys.modules.get("numba")
    if numba is not None:
        numba.config.CACHE_DIR = str(target)
    return target
