"""``asymlp run CONFIG_DIR``: the whole stack under the supervisor, in the foreground.

The supervisor is ``CONFIG_DIR/supervisor.toml`` (without one, every other ``*.toml`` of the
directory is started with a default supervisor). Each process runs against the paper venue unless
its config finds API keys in the environment, and the LP against the simulated pool unless an RPC
URL is given. Stop with Ctrl-C (or SIGTERM): the children are stopped cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

_DEFAULT_SUPERVISOR = """
[GLOBAL]
process_name = "supervisor"
[PUBLISHERS]
control = "tcp://127.0.0.1:5566"
[SUPERVISOR]
processes = [{processes}]
"""


def _describe(path: Path) -> str:
    from asymlp_runtime.config import load_config

    cfg = load_config(path)
    parts = []
    if cfg.http_api is not None:
        parts.append(f"{cfg.http_api.exchange_id}: {'keys' if cfg.http_api.has_credentials else 'paper'}")
    if cfg.lp is not None:
        if cfg.lp.rpc_url:
            parts.append("pool: rpc")
        elif cfg.lp.backend == "chain":
            parts.append("pool: devnet (anvil)")
        else:
            parts.append("pool: simulated")
    log = Path(cfg.global_.log_dir) / f"{cfg.process_name}.log"
    return f"  {cfg.process_name:<26} {', '.join(parts) or '-':<22} log {log.resolve()}"


def _run(args: argparse.Namespace) -> int:
    from asymlp_runtime.config import ConfigError, load_config, load_config_text
    from asymlp_runtime.processes.supervisor import Supervisor

    config_dir = Path(args.config_dir)
    if not config_dir.is_dir():
        print(f"asymlp run: {config_dir} is not a directory")
        return 2
    try:
        sup_path = config_dir / "supervisor.toml"
        if sup_path.exists():
            config = load_config(sup_path)
        else:
            files = sorted(p.name for p in config_dir.glob("*.toml"))
            config = load_config_text(
                _DEFAULT_SUPERVISOR.format(processes=", ".join(f'"{f}"' for f in files)), str(sup_path)
            )
        assert config.supervisor is not None
        print(f"asymlp run: {len(config.supervisor.processes)} processes from {config_dir.resolve()}")
        for entry in config.supervisor.processes:
            print(_describe(config_dir / entry))
    except (ConfigError, AssertionError) as exc:
        print(f"asymlp run: {exc}")
        return 2
    run_dir = Path(args.run_dir)
    print(f"  supervisor log {(Path(config.global_.log_dir) / (config.process_name + '.log')).resolve()}")
    print(
        f"  status: asymlp status --run-dir {run_dir}   (children's stdout/stderr: {run_dir.resolve()}/*.out)"
    )

    async def main() -> int:
        sup = Supervisor(
            config, config_dir=config_dir, run_dir=run_dir, duration_s=args.duration, install_signals=True
        )
        return await sup.run()

    return asyncio.run(main())


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the whole live stack (paper venues and simulated pool by default)")
    p.add_argument("config_dir", help="directory of process configs (supervisor.toml lists them)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--run-dir", default="run", help="status file and children's output (default: run)")
    p.set_defaults(func=_run)
