"""Everything secret a faults run handles, and every response and log line to search for it."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# Shorter values would match by chance (a port, a word): every secret the suite makes is long.
MIN_SECRET_LENGTH = 12


@dataclass(frozen=True, slots=True)
class Leak:
    secret_name: str
    where: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.secret_name} found in {self.where}: ...{self.excerpt}..."


@dataclass
class SecretLedger:
    """Secrets by name, the responses seen, the logs written, for one whole test session.

    A secret that a response is meant to carry (the token of a sign-in, say) is allowed in
    that one response only: `allow` marks it so.
    """

    secrets: dict[str, str] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)
    responses: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_secret(self, name: str, value: str) -> str:
        assert len(value) >= MIN_SECRET_LENGTH, f"{name} is too short to search for"
        with self._lock:
            self.secrets[name] = value
        return value

    def add_log(self, path: Path) -> None:
        with self._lock:
            if path not in self.logs:
                self.logs.append(path)

    def record(self, response: httpx.Response, allow: Iterable[str] = ()) -> httpx.Response:
        """Keep the response's headers and body, minus the secrets it is meant to carry."""
        request = response.request
        text = "\n".join(f"{key}: {value}" for key, value in response.headers.items())
        text += "\n" + response.content.decode("utf-8", errors="replace")
        for value in allow:
            text = text.replace(value, "<allowed>")
        with self._lock:
            self.responses.append(
                (f"{request.method} {request.url.path} -> {response.status_code}", text)
            )
        return response

    def record_text(self, where: str, text: str) -> None:
        """Keep an answer some other client received (its headers and body as text)."""
        with self._lock:
            self.responses.append((where, text))

    def leaks(self) -> list[Leak]:
        with self._lock:
            secrets = dict(self.secrets)
            responses = list(self.responses)
            logs = list(self.logs)
        found: list[Leak] = []
        for where, text in responses:
            found.extend(_search(secrets, f"response {where}", text))
        for path in logs:
            if path.exists():
                text = path.read_text(errors="replace")
                found.extend(_search(secrets, f"log {path.name}", text))
        return found


def _search(secrets: dict[str, str], where: str, text: str) -> list[Leak]:
    found = []
    for name, value in secrets.items():
        index = text.find(value)
        if index >= 0:
            start = max(0, index - 60)
            excerpt = text[start : index + len(value) + 20].replace(value, f"<{name}>")
            found.append(Leak(name, where, excerpt))
    return found
