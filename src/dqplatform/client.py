"""A small typed HTTP client for the dqplatform API, used by the `dqp` CLI and by scripts.

from dqplatform.client import PlatformClient

with PlatformClient("http://127.0.0.1:8000", token) as client:
    print(client.info().version)
    status = client.status()
    if status.dataplane_healthcheck == "UNHEALTHY":
        ...
    client.restart()
    downtime = client.wait_for_restart(timeout=120)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from dqplatform.controlplane.platform.schemas import PlatformInfo
from dqplatform.controlplane.platform.status_schemas import PlatformStatus, StatusDetails

DEFAULT_TIMEOUT = 10.0


class ApiError(Exception):
    """The API answered with an error status; `detail` is its message."""

    def __init__(self, status_code: int, detail: str, code: str = ""):
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail
        self.code = code


class RestartTimeout(Exception):
    """The dataplane did not come back within the time allowed."""


class PlatformClient:
    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )

    def __enter__(self) -> PlatformClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            try:
                body = response.json()
                detail, code = str(body.get("detail", response.reason_phrase)), body.get("code", "")
            except ValueError:
                detail, code = response.reason_phrase, ""
            raise ApiError(response.status_code, detail, code)
        return response

    def info(self) -> PlatformInfo:
        return PlatformInfo.model_validate(self._request("GET", "/api").json())

    def status(self) -> PlatformStatus:
        return PlatformStatus.model_validate(self._request("GET", "/api/status").json())

    def status_raw(self) -> dict[str, Any]:
        body: dict[str, Any] = self._request("GET", "/api/status").json()
        return body

    def status_details(self) -> StatusDetails:
        return StatusDetails.model_validate(self._request("GET", "/api/status/details").json())

    def restart(self) -> None:
        self._request("PUT", "/api/admin/restart")

    def restart_and_wait(
        self,
        timeout: float,
        poll_seconds: float = 0.5,
        on_poll: Callable[[str, float], None] | None = None,
    ) -> float:
        """Restart the dataplane and poll until a new dataplane boot is healthy.

        Returns the downtime in seconds: from the restart call to the new dataplane answering.
        `on_poll(phase, elapsed)` is called after every poll, phase being "stopping" (the old
        dataplane still answers), "down" or "up". Raises RestartTimeout when the new dataplane
        is not healthy within `timeout` seconds.
        """
        previous_boot = self.status_details().dataplane_boot_id
        started = time.monotonic()
        self.restart()
        while (elapsed := time.monotonic() - started) < timeout:
            try:
                details = self.status_details()
                boot, healthy = details.dataplane_boot_id, details.dataplane.state == "OK"
            except (httpx.HTTPError, ApiError):
                boot, healthy = None, False
            if healthy and boot != previous_boot:
                phase = "up"
            else:
                phase = "stopping" if healthy else "down"
            if on_poll is not None:
                on_poll(phase, elapsed)
            if phase == "up":
                return elapsed
            time.sleep(poll_seconds)
        raise RestartTimeout(f"the dataplane was not healthy again within {timeout:g} s")
