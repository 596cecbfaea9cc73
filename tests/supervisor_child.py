"""A minimal supervised child for the supervisor tests: heartbeats only.

Run as ``python supervisor_child.py CONFIG``.
"""

from __future__ import annotations

import asyncio
import sys

from asymlp_runtime.config import load_config
from asymlp_runtime.processes.base import ProcessBase


class Child(ProcessBase):
    kind = "child"


async def main(path: str) -> int:
    return await Child(load_config(path), install_signals=True).run()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
