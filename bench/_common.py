"""What every bench script shares: --smoke and --postgres, a scratch database, timing and ratios.

A bench never works in a database it did not create: given `--postgres URL` it creates `bench_<hex>` on
that server (the URL's own database is only used to send CREATE/DROP DATABASE) and drops it at the end,
also on an error, Ctrl-C or SIGTERM (not on SIGKILL); without it, it uses a temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

SCRATCH_PREFIX = "bench_"
RECANCEL_SECONDS = 2.0


class _Scratch:
    """The scratch database of this process, for run(): whether it still exists and is being dropped."""

    name: str | None = None
    dropping = False


class BenchParser(argparse.ArgumentParser):
    """--smoke, --postgres, and size options whose default depends on --smoke."""

    def __init__(self, doc: str) -> None:
        super().__init__(description=doc.strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
        self.sizes: dict[str, tuple[Any, Any]] = {}
        self.add_argument(
            "--smoke", action="store_true", help="tiny sizes, a few seconds: the same code paths and figures"
        )
        self.add_argument(
            "--postgres",
            metavar="URL",
            help="a PostgreSQL server (postgresql+asyncpg://user@host:port/db): the bench creates a scratch "
            "database bench_<hex> there and drops it at the end (default: a temporary SQLite file)",
        )

    def add_size(self, flag: str, full: Any, smoke: Any, help: str) -> None:
        dest = flag.lstrip("-").replace("-", "_")
        self.sizes[dest] = (full, smoke)
        self.add_argument(
            flag, type=type(full), default=None, help=f"{help} (default {full:,}; --smoke {smoke:,})"
        )

    def parse_args(self, args: Any = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        parsed = super().parse_args(args, namespace)
        for dest, (full, smoke) in self.sizes.items():
            if getattr(parsed, dest) is None:
                setattr(parsed, dest, smoke if parsed.smoke else full)
        if parsed.postgres is not None:
            url = make_url(parsed.postgres)
            if url.get_backend_name() != "postgresql":
                self.error(f"--postgres needs a postgresql:// URL, not {url.get_backend_name()}://")
        return parsed


def server_url(url: str):
    """The URL for the asyncpg driver (postgresql:// and postgresql+psycopg:// are accepted too)."""
    parsed = make_url(url).set(drivername="postgresql+asyncpg")
    return parsed if parsed.database else parsed.set(database="postgres")


@contextlib.asynccontextmanager
async def scratch_database(postgres: str | None) -> AsyncIterator[str]:
    """Yields the URL of an empty database that exists only for this run, and removes it afterwards."""
    if postgres is None:
        with tempfile.TemporaryDirectory(prefix="bench-") as folder:
            print("database: SQLite, a temporary file")
            yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    server = server_url(postgres)
    name = f"{SCRATCH_PREFIX}{secrets.token_hex(6)}"
    # NullPool: no connection to the server's database is kept while the bench runs.
    admin = create_async_engine(server, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    created = False
    try:
        async with admin.connect() as connection:
            # template0: never has connections, so CREATE DATABASE cannot fail on someone using template1.
            await connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
            created = True  # no await since the CREATE returned: a cancellation cannot come in between
            _Scratch.name = name
        print(f"database: PostgreSQL, scratch database {name} on {server.host}:{server.port or 5432}")
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        try:
            if created:
                _Scratch.dropping = True  # run() stops cancelling: the drop must not be interrupted
                await _drop(admin, name)
                _Scratch.name = None
        finally:
            _Scratch.dropping = False
            await admin.dispose()


async def _drop(admin: Any, name: str) -> None:
    if not name.startswith(SCRATCH_PREFIX):  # only ever the database created above
        raise RuntimeError(f"refusing to drop {name!r}: not a bench scratch database")
    async with admin.connect() as connection:
        # FORCE: the bench's own connections may still be open after an error.
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print(f"dropped scratch database {name}")


@dataclass
class Stopwatch:
    started: float = 0.0
    seconds: float = 0.0

    @property
    def ms(self) -> float:
        return self.seconds * 1000

    def elapsed(self) -> float:
        """Seconds so far (inside the `with`)."""
        return time.perf_counter() - self.started


@contextlib.contextmanager
def timed() -> Iterator[Stopwatch]:
    """`with timed() as t: ...` then t.seconds / t.ms."""
    watch = Stopwatch(started=time.perf_counter())
    try:
        yield watch
    finally:
        watch.seconds = time.perf_counter() - watch.started


def ratio(value: float, baseline: float) -> str:
    """value / baseline as "3.2×" (both measured in the same run)."""
    if baseline <= 0:
        return "n/a×"
    return f"{value / baseline:.2f}×" if value / baseline < 10 else f"{value / baseline:.0f}×"


def run(main: Callable[[argparse.Namespace], Coroutine[Any, Any, Any]], args: argparse.Namespace) -> None:
    """asyncio.run(main(args)) where Ctrl-C and SIGTERM cancel main, so its finally blocks (the scratch
    database's drop) run either way. Prints the wall time at the end."""

    async def guarded() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is None:  # run() is always awaited inside a task
            raise RuntimeError("run() must be called from a task")

        def interrupt() -> None:
            if task.done() or _Scratch.dropping:
                return
            task.cancel()
            # asyncpg can swallow a cancellation in the middle of a query (MagicStack/asyncpg#873): ask
            # again until the task has unwound to the drop.
            loop.call_later(RECANCEL_SECONDS, interrupt)

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # no handlers off the main thread
                loop.add_signal_handler(signum, interrupt)
        return await main(args)

    size = "smoke size" if args.smoke else "full size"
    with timed() as total:
        try:
            asyncio.run(guarded())
        except (KeyboardInterrupt, asyncio.CancelledError):
            print(f"interrupted after {total.elapsed():.1f} s", file=sys.stderr)
            sys.exit(130)
        finally:
            if _Scratch.name is not None:
                print(
                    f"scratch database {_Scratch.name} may be left behind: drop it by hand", file=sys.stderr
                )
    print(f"done ({size}) in {total.seconds:.1f} s")
