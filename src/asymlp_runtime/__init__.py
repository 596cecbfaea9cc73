"""asymlp_runtime: the side-effecting layer (chain, venues, processes, CLI) on top of asymlp_core."""

__version__ = "0.1.0"
