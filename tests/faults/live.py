"""The real platform for the faults suite: known secrets, recorded answers, process ids."""

from __future__ import annotations

import secrets
import signal
from dataclasses import dataclass, field
from typing import Any

import httpx
import psutil

from tests.e2e.harness import Platform, wait_until
from tests.faults.ledger import SecretLedger

PASSWORD_OF_USERS = "user password"


def secret_value(ledger: SecretLedger, name: str) -> str:
    """A fresh random secret, known to the ledger (URL-safe: the same in JSON and URLs)."""
    return ledger.add_secret(name, secrets.token_urlsafe(24))


def secret_env(ledger: SecretLedger) -> dict[str, str]:
    """The JWT secret and the secrets key, set explicitly so the sweep knows them."""
    return {
        "DQP_JWT_SECRET": secret_value(ledger, "DQP_JWT_SECRET"),
        "DQP_SECRETS_KEY": secret_value(ledger, "DQP_SECRETS_KEY"),
    }


@dataclass
class LivePlatform(Platform):
    """A harness Platform whose logs and answers the ledger sees."""

    ledger: SecretLedger = field(default_factory=SecretLedger)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=20))

    def start(self, name: str, *args: str) -> Any:
        process = super().start(name, *args)
        self.ledger.add_log(self.data_dir.parent / f"{name}.log")
        return process

    def api(
        self,
        method: str,
        path: str,
        token: str | None = None,
        allow: tuple[str, ...] = (),
        record: bool = True,
        **kwargs: Any,
    ) -> httpx.Response:
        """One call with a bearer token (the platform's own unless given; "" for none).

        The answer goes to the ledger, unless `record` is False: then the caller records it,
        once it knows which new secret the answer is meant to carry."""
        headers = dict(kwargs.pop("headers", {}) or {})
        chosen = self.token if token is None else token
        if chosen:
            headers.setdefault("Authorization", f"Bearer {chosen}")
        response = self.client.request(method, self.url + path, headers=headers, **kwargs)
        return self.ledger.record(response, allow=allow) if record else response

    def add_user(self, username: str, role: str) -> str:
        """A user made with the CLI (its password is a known secret); returns a session token."""
        password = secret_value(self.ledger, f"password of {username}")
        result = self.run_cli(
            "user", "add", username, "--role", role, "--password-stdin", stdin=password + "\n"
        )
        assert result.returncode == 0, result.stderr
        token = self.issue_token(username)
        self.ledger.add_secret(f"session token of {username}", token)
        return token

    def start_up(self) -> None:
        """`dqp up`, the first admin's password in the ledger and its token in self.token."""
        self.start("up", "up")
        self.wait_api()
        initial = (self.data_dir / "initial_admin_password").read_text().strip()
        self.ledger.add_secret("password of admin", initial)
        self.token = self.issue_token("admin")
        self.ledger.add_secret("session token of admin", self.token)

    # ---- processes ---------------------------------------------------------------------

    def _child(self, role: str) -> psutil.Process | None:
        """The `dqp <role>` process: a child of `dqp up`, or started by the test itself."""
        own = self.processes.get(role)
        if own is not None and own.poll() is None:
            return psutil.Process(own.pid)
        up = self.processes.get("up")
        if up is None or up.poll() is not None:
            return None
        for child in psutil.Process(up.pid).children():
            try:
                if child.cmdline()[-1:] == [role] and child.is_running():
                    return child
            except psutil.Error:
                continue
        return None

    def pid_of(self, role: str) -> int | None:
        process = self._child(role)
        return process.pid if process is not None else None

    def rss_of(self, role: str) -> int:
        process = self._child(role)
        assert process is not None, f"no {role} process"
        return int(process.memory_info().rss)

    def kill(self, role: str, sig: int = signal.SIGKILL) -> int:
        process = self._child(role)
        assert process is not None, f"no {role} process"
        process.send_signal(sig)
        return process.pid

    def wait_new_pid(self, role: str, old: int | None, timeout: float = 120) -> int:
        def new() -> int | None:
            pid = self.pid_of(role)
            return pid if pid is not None and pid != old else None

        result: int = wait_until(new, timeout, interval=0.1)
        return result

    def dataplane_restarts(self) -> int:
        """How often `dqp up` has started the dataplane again (its log says `restart #n`)."""
        return sum(
            1
            for line in self.log("up").splitlines()
            if "dataplane exited" in line and "restart #" in line
        )

    def close(self) -> None:
        self.stop_all()
        self.client.close()
