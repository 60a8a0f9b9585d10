"""Reading a per-process figure from each uvicorn worker, which share one listening socket.

A keep-alive connection is served by the one worker that accepted it; psutil tells which
worker holds the server end of a connection whose client port we know. So: open connections
until every worker has answered on one, and keep each answer under its worker's pid.
"""

from __future__ import annotations

import contextlib
import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import psutil


def _owner(workers: list[psutil.Process], client_port: int) -> int | None:
    for worker in workers:
        with contextlib.suppress(psutil.Error):
            for connection in worker.net_connections(kind="tcp"):
                if connection.raddr and connection.raddr.port == client_port:
                    return worker.pid
    return None


def per_worker(
    url: str, authorization: str, workers: list[psutil.Process], attempts: int = 64
) -> dict[int, dict[str, Any]]:
    """GET `url` once from each worker (by pid): its JSON answer."""
    parts = urlsplit(url)
    answers: dict[int, dict[str, Any]] = {}
    for _ in range(attempts):
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            connection.request("GET", parts.path, headers={"Authorization": authorization})
            response = connection.getresponse()
            body = json.loads(response.read())
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}")
            # The connection is still open: its server end is in the answering worker.
            pid = _owner(workers, connection.sock.getsockname()[1])
        finally:
            connection.close()
        if pid is not None:
            answers.setdefault(pid, body)
        if len(answers) == len(workers):
            break
    return answers
