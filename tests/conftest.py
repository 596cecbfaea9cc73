import os
import pathlib
import sys

# Compiled kernels are cached per source hash (see asymlp_runtime.ops.numba_cache), in the
# repository's own .numba_cache/ so that a clean checkout compiles from scratch.
sys.path.insert(0, str(pathlib.Path(__file__).parents[1] / "src"))
from asymlp_runtime.ops.numba_cache import configure_numba_cache  # noqa: E402

configure_numba_cache(pathlib.Path(__file__).parents[1] / ".numba_cache")

from hypothesis import HealthCheck, settings  # noqa: E402

# CI runs a fuller search than a developer's quick loop; both are deterministic per run seed.
settings.register_profile(
    "ci", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
