"""An open-loop load of GET /api/status at a fixed rate, every answer timed and kept.

A small HTTP/1.1 client on asyncio streams, not httpx: httpx's connection pool spends time
quadratic in the requests waiting for a connection, so while status calls wait out a probe
(two seconds, a couple of hundred in flight) the client itself falls behind and stalls.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests.faults.watch import percentile

WORKERS = 400  # connections: 100 req/s waiting up to ~2.2 s each need about 220


@dataclass
class Answer:
    due: float  # monotonic: when the request was to be sent
    latency: float  # from `due`, so time spent waiting for a free connection counts too
    status: int | None  # None: no answer (the error's class name is in `error`)
    error: str | None = None


@dataclass
class StatusLoad:
    """Sends GET /api/status `rate` times a second, whether or not earlier requests have been
    answered (open loop: a slow server gets no respite), on a thread of its own."""

    url: str
    token: str
    rate: float = 100.0
    timeout: float = 15.0
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 10)
            assert not self._thread.is_alive(), "the load did not stop"

    async def _run(self) -> None:
        queue: asyncio.Queue[float | None] = asyncio.Queue()
        workers = [asyncio.create_task(self._worker(queue)) for _ in range(WORKERS)]
        started = time.monotonic()
        sent = 0
        while not self._stop.is_set():
            due = started + sent / self.rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(due)
            sent += 1
        for _ in workers:
            queue.put_nowait(None)
        await asyncio.gather(*workers)

    async def _worker(self, queue: asyncio.Queue[float | None]) -> None:
        parts = urlsplit(self.url)
        request = (
            f"GET /api/status HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Authorization: Bearer {self.token}\r\n\r\n"
        ).encode()
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while (due := await queue.get()) is not None:
            # A kept-alive connection the server closed as idle (uvicorn: after 5 s) fails
            # before any answer: sent again once on a new one, as HTTP clients do (RFC 9112
            # 9.3.1). A new connection that fails is an error.
            for fresh in (streams is None, True):
                try:
                    if streams is None:
                        streams = await asyncio.wait_for(
                            asyncio.open_connection(parts.hostname, parts.port), self.timeout
                        )
                    reader, writer = streams
                    writer.write(request)
                    status, closing = await asyncio.wait_for(_read_answer(reader), self.timeout)
                    self.answers.append(Answer(due, time.monotonic() - due, status))
                    if closing:
                        writer.close()
                        streams = None
                    break
                except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
                    if streams is not None:
                        streams[1].close()
                    streams = None
                    stale = isinstance(exc, asyncio.IncompleteReadError) and not exc.partial
                    if fresh or not (stale or isinstance(exc, ConnectionResetError)):
                        error = type(exc).__name__
                        self.answers.append(Answer(due, time.monotonic() - due, None, error))
                        break
        if streams is not None:
            streams[1].close()

    def errors(self) -> Counter[str]:
        """Every answer other than a 200, by status or error class."""
        return Counter(
            str(answer.status or answer.error) for answer in self.answers if answer.status != 200
        )

    def latency(self, share: float) -> float:
        return percentile([a.latency for a in self.answers if a.status is not None], share)

    def timeline(self, bucket: float = 10.0) -> list[tuple[int, int, float]]:
        """(answers, errors, slowest latency) per `bucket` seconds: for failure messages."""
        if not self.answers:
            return []
        first = min(answer.due for answer in self.answers)
        rows: dict[int, list[Answer]] = {}
        for answer in self.answers:
            rows.setdefault(int((answer.due - first) // bucket), []).append(answer)
        return [
            (
                len(rows.get(index, [])),
                sum(1 for a in rows.get(index, []) if a.status != 200),
                round(max((a.latency for a in rows.get(index, [])), default=0.0), 3),
            )
            for index in range(max(rows) + 1)
        ]


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one whole answer (the platform always sends Content-Length): its status, and
    whether the server closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines[1:] if line)
    }
    await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers.get("connection", "").lower() == "close"
