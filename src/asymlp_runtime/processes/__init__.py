"""The runtime processes (quote_server, trading_engine, position_server, trader, lp_manager,
supervisor) on top of :class:`~asymlp_runtime.processes.base.ProcessBase`.

Process modules are imported on demand through :func:`~asymlp_runtime.processes.base.process_class`;
:func:`~asymlp_runtime.processes.base.run_process` runs one of them from its config file.
"""

from asymlp_runtime.processes.base import (
    PROCESS_KINDS,
    PROCESS_MODULES,
    ProcessBase,
    process_class,
    process_kind,
    run_process,
)

__all__ = ["PROCESS_KINDS", "PROCESS_MODULES", "ProcessBase", "process_class", "process_kind", "run_process"]
