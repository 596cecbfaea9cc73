"""asymlp_core: pure, Numba-compiled kernels for asymmetric liquidity provision.

No I/O, no clocks, no globals that change: every function takes arrays and scalars
and returns arrays and scalars.  Sub-packages:

- :mod:`asymlp_core.v3`: Uniswap V3 arithmetic (exact integer tier and float tier).
"""

__version__ = "0.1.0"
