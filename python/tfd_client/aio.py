"""asyncio API: the Session's methods, awaited.

    from tfd_client import aio

    async with aio.connect("127.0.0.1:10345", key="pub.pem", hash="...") as s:
        await s.put("big.tar", "backup/big.tar")
        names = [e.name for e in await s.listdir("backup")]

Each call runs the library's GIL-free work on a thread of its own (so an
event loop runs many sessions' transfers side by side, never blocked by one);
calls of one session take turns. ``Task.cancel()`` of a transfer or a tree
run ends it as Ctrl-C does: its connections are shut down, the files are the
old or the new ones (a download keeps its partial for ``resume=True``), and
the session is closed (a later call raises ``SessionClosed`` saying why). A
short command that is cancelled is let finish (it takes a round trip), and
the session goes on. Errors are tfd_client's, as from ``Session``.
"""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

from ._session import Session as _SyncSession
from ._session import connect as _connect

__all__ = ["connect", "Session"]

# one thread per running call: the default executor has only cores + 4, fewer
# than the transfers a loop may run side by side
_THREADS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="tfd-aio")


async def _in_thread(fn, *args, **kwargs):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_THREADS, functools.partial(fn, *args, **kwargs))


class Session:
    """An asyncio view of a ``tfd_client.Session``: every method of it,
    awaited (``await s.put(...)``); ``sync`` is the session itself."""

    def __init__(self, sync: _SyncSession):
        self.sync = sync
        self._turn = asyncio.Lock()

    async def __aenter__(self) -> "Session":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def closed(self) -> bool:
        return self.sync.closed

    async def close(self) -> None:
        if not self.sync.closed:
            async with self._turn:
                await _in_thread(self.sync.close)

    async def _call(self, fn, *args, **kwargs) -> Any:
        async with self._turn:
            fut = asyncio.get_running_loop().run_in_executor(_THREADS, functools.partial(fn, *args, **kwargs))
            try:
                return await asyncio.shield(fut)
            except asyncio.CancelledError:
                # end a long operation as Ctrl-C does; a short one finishes
                self.sync.native.interrupt()
                try:
                    await fut
                except BaseException:
                    pass
                raise

    def __getattr__(self, name: str):
        attr = getattr(self.sync, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        async def call(*args, **kwargs):
            return await self._call(attr, *args, **kwargs)

        return call


class _Connecting:
    """What ``connect`` returns: awaitable (``s = await aio.connect(...)``)
    and an async context manager (``async with aio.connect(...) as s``)."""

    def __init__(self, server: str, kwargs):
        self._server, self._kwargs = server, kwargs
        self._session: Optional[Session] = None

    async def _open(self) -> Session:
        return Session(await _in_thread(_connect, self._server, **self._kwargs))

    def __await__(self):
        return self._open().__await__()

    async def __aenter__(self) -> Session:
        self._session = await self._open()
        return self._session

    async def __aexit__(self, *exc) -> None:
        if self._session is not None:
            await self._session.close()


def connect(server: str, **kwargs) -> _Connecting:
    """``tfd_client.connect``'s arguments; the handshake runs on a thread."""
    return _Connecting(server, kwargs)
