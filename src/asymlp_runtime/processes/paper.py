"""One paper venue per exchange, seen consistently by separate processes.

When a process config has no API key, the quote server, the trading engine and the position
server of that exchange work against the paper venue. They are separate processes, so two things
must be shared without a socket between them:

Prices -- a pure function of time
    The mid is :class:`~asymlp_runtime.venues.paper.price.ReferencePath` ``(seed, symbol)`` at the
    wall-clock time: a seeded GBM over fixed steps of ``step_s``. The quote server's and the
    trading engine's :class:`PaperVenue` both draw their mid from it at every step (the book
    around a mid is a function of the mid and the market rules), so the quotes published and the
    prices filled agree without talking; the LP flow generator can call the same
    :func:`~asymlp_runtime.venues.paper.price.reference_mid` as its CeFi reference price.

The account -- owned by the trading engine, persisted in a small SQLite file
    The trading engine is the only writer: it owns the ``PaperVenue`` and, after every order,
    cancel and fill, writes the venue's :class:`PaperAccountState` (orders, fills, positions,
    wallet) to ``<dir>/<venue>.sqlite`` (:class:`PaperAccountStore`, WAL, one row per venue). It
    restores the account from that file when it restarts, as a real venue would still hold it.
    The position server reads the same file through :class:`PaperAccountReader`, which has the
    ``fetch_positions`` / ``fetch_balance`` half of the venue interface (marks from the shared
    reference path), exactly as it would poll a venue's account API.

Settings come from the environment, which the supervisor passes to every process it starts:
``ASYMLP_PAPER_SEED`` (0), ``ASYMLP_PAPER_STEP_S`` (1.0), ``ASYMLP_PAPER_START_MID`` (3000),
``ASYMLP_PAPER_SIGMA`` (5e-5 per step), ``ASYMLP_PAPER_DIR`` (``data/paper``).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import msgspec

from asymlp_runtime.processes.topics import topic_symbol
from asymlp_runtime.venues.base import MarketRules, VenueBalance, VenuePosition
from asymlp_runtime.venues.paper import DEFAULT_PAPER_MARKET, PaperVenue, PaperVenueConfig
from asymlp_runtime.venues.paper.price import ReferencePath
from asymlp_runtime.venues.paper.venue import PaperAccountState

__all__ = [
    "PaperAccountReader",
    "PaperAccountStore",
    "PaperSettings",
    "make_paper_venue",
    "paper_markets",
]

_MAX_STORED_FILLS = 10_000


class PaperSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The shared paper-stack settings (see the module docstring)."""

    seed: int = 0
    step_s: float = 1.0
    start_mid: float = 3000.0
    sigma_per_step: float = 5e-5
    directory: str = "data/paper"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PaperSettings:
        """Settings from ``ASYMLP_PAPER_*`` variables (defaults where unset)."""
        env = os.environ if environ is None else environ
        return cls(
            seed=int(env.get("ASYMLP_PAPER_SEED", "0")),
            step_s=float(env.get("ASYMLP_PAPER_STEP_S", "1.0")),
            start_mid=float(env.get("ASYMLP_PAPER_START_MID", "3000.0")),
            sigma_per_step=float(env.get("ASYMLP_PAPER_SIGMA", "5e-5")),
            directory=env.get("ASYMLP_PAPER_DIR", "data/paper"),
        )

    def path(self, symbol: str) -> ReferencePath:
        """The reference price path of ``symbol``."""
        return ReferencePath(
            self.seed,
            symbol,
            start_mid=self.start_mid,
            sigma_per_step=self.sigma_per_step,
            step_s=self.step_s,
        )

    def account_path(self, venue: str) -> Path:
        """The account file of ``venue``."""
        return Path(self.directory) / f"{venue}.sqlite"


def paper_markets(symbols: Iterable[str]) -> list[MarketRules]:
    """Rules of the paper instruments: binance USD-M ETHUSDT's rules under each symbol."""
    out = []
    for s in symbols:
        if s == DEFAULT_PAPER_MARKET.symbol:
            out.append(DEFAULT_PAPER_MARKET)
        else:
            out.append(msgspec.structs.replace(DEFAULT_PAPER_MARKET, symbol=s, venue_symbol=topic_symbol(s)))
    return out


def make_paper_venue(
    venue: str,
    symbols: Iterable[str],
    settings: PaperSettings,
    *,
    time_ns: Callable[[], int] = time.time_ns,
) -> PaperVenue:
    """A :class:`PaperVenue` named ``venue`` whose mids follow the shared reference paths.

    Call ``await venue.step()`` when :meth:`ReferencePath.step_index` of the current time changes.
    """
    markets = paper_markets(symbols)
    sources = {}
    for rules in markets:
        path = settings.path(rules.symbol)
        sources[rules.symbol] = lambda p=path: p(time_ns())
    return PaperVenue(
        PaperVenueConfig(
            seed=settings.seed, start_mid=settings.start_mid, rate_limit_per_s=1000.0, rate_limit_burst=1000.0
        ),
        markets=markets,
        price_sources=sources,
        time_ns=time_ns,
        name=venue,
    )


class PaperAccountStore:
    """The paper account file: one msgpack-encoded :class:`PaperAccountState` per venue (WAL)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=5.0
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS account (venue TEXT PRIMARY KEY, ts_ns INTEGER, state BLOB)"
        )
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(PaperAccountState)

    def save(self, state: PaperAccountState) -> None:
        """Write the venue's snapshot (the latest ``_MAX_STORED_FILLS`` fills are kept)."""
        if len(state.fills) > _MAX_STORED_FILLS:
            state = msgspec.structs.replace(state, fills=state.fills[-_MAX_STORED_FILLS:])
        blob = self._encoder.encode(state)
        with self._lock:
            self._conn.execute(
                "INSERT INTO account (venue, ts_ns, state) VALUES (?, ?, ?) "
                "ON CONFLICT(venue) DO UPDATE SET ts_ns = excluded.ts_ns, state = excluded.state",
                (state.venue, state.ts_ns, blob),
            )

    def load(self, venue: str) -> PaperAccountState | None:
        """The latest snapshot of ``venue``, or ``None``."""
        with self._lock:
            row = self._conn.execute("SELECT state FROM account WHERE venue = ?", (venue,)).fetchone()
        return None if row is None else self._decoder.decode(row[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()


class PaperAccountReader:
    """The account half of the venue interface over a :class:`PaperAccountStore` (read only).

    Marks come from the shared reference paths, so unrealised PnL is current even between the
    trading engine's writes. An account never written reads as flat with the initial balance.
    """

    def __init__(
        self,
        venue: str,
        symbols: Iterable[str],
        settings: PaperSettings,
        *,
        store: PaperAccountStore | None = None,
        time_ns: Callable[[], int] = time.time_ns,
        initial_balance: float = PaperVenueConfig().initial_balance,
    ) -> None:
        self.name = venue
        self.settings = settings
        self._markets = {r.symbol: r for r in paper_markets(symbols)}
        self._paths = {s: settings.path(s) for s in self._markets}
        self.store = store or PaperAccountStore(settings.account_path(venue))
        self._time_ns = time_ns
        self._initial_balance = initial_balance

    async def fetch_positions(self) -> list[VenuePosition]:
        state = self.store.load(self.name)
        now = self._time_ns()
        out = []
        for p in state.positions if state is not None else ():
            rules = self._markets.get(p.symbol)
            path = self._paths.get(p.symbol)
            mark = path(now) if path is not None else p.mark_price
            size = rules.contract_size if rules is not None else 1.0
            upnl = p.qty * ((mark or p.entry_price) - p.entry_price) * size
            out.append(msgspec.structs.replace(p, mark_price=mark, unrealized_pnl=upnl, ts_recv_ns=now))
        return out

    async def fetch_balance(self) -> list[VenueBalance]:
        state = self.store.load(self.name)
        now = self._time_ns()
        if state is None:
            settles = sorted({r.settle for r in self._markets.values()})
            return [
                VenueBalance(
                    currency=c, total=self._initial_balance, free=self._initial_balance, ts_recv_ns=now
                )
                for c in settles
            ]
        used: dict[str, float] = dict.fromkeys(state.wallet, 0.0)
        for p in state.positions:
            rules = self._markets.get(p.symbol)
            if rules is not None and rules.settle in used:
                used[rules.settle] += abs(p.qty) * p.entry_price * rules.contract_size / state.leverage
        for o in state.orders:
            rules = self._markets.get(o.symbol)
            if rules is None or o.status.is_terminal or o.price is None or rules.settle not in used:
                continue
            used[rules.settle] += (o.qty - o.filled_qty) * o.price * rules.contract_size / state.leverage
        return [
            VenueBalance(
                currency=c,
                total=w,
                free=w - used[c],
                used=used[c],
                ts_exchange_ns=state.ts_ns,
                ts_recv_ns=now,
            )
            for c, w in state.wallet.items()
        ]

    async def close(self) -> None:
        self.store.close()


async def run_paper_clock(
    venue: PaperVenue,
    settings: PaperSettings,
    *,
    on_step: Callable[[int], object] | None = None,
    time_ns: Callable[[], int] = time.time_ns,
) -> None:
    """Step ``venue`` at every boundary of the reference path's steps, forever.

    Each step draws the new mid (the same in every process), matches resting orders and
    publishes the new book top on the venue's ``watch_book_top`` streams. ``on_step(k)`` (sync
    or async) runs after each step.
    """
    import asyncio
    import inspect

    step_ns = int(round(settings.step_s * 1e9))
    origin = settings.path("").origin_ns
    last = None
    while True:
        now = time_ns()
        k = (now - origin) // step_ns
        if k != last:
            last = k
            await venue.step()
            if on_step is not None:
                result = on_step(k)
                if inspect.isawaitable(result):
                    await result
        next_boundary = origin + (k + 1) * step_ns
        await asyncio.sleep(max(0.0, (next_boundary - time_ns()) * 1e-9) + 1e-4)
