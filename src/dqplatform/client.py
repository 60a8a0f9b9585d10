"""A small typed HTTP client for the dqplatform API, used by the `dqp` CLI and by scripts.

See docs/client.md. In short:

    from dqplatform.client import PlatformClient

    with PlatformClient("http://127.0.0.1:8000", token) as client:
        print(client.info().version, client.me().username)
        if client.status().dataplane_healthcheck == "UNHEALTHY":
            downtime = client.restart_and_wait(timeout=120)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from dqplatform.controlplane.auth.roles import Role
from dqplatform.controlplane.operations.schemas import OperationPage, OperationRead
from dqplatform.controlplane.platform.schemas import PlatformInfo
from dqplatform.controlplane.platform.status_schemas import PlatformStatus, StatusDetails
from dqplatform.controlplane.tokens.schemas import TokenCreated, TokenRead
from dqplatform.controlplane.users.schemas import UserPage, UserRead

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


def normalize_url(url: str) -> str:
    """The platform's root URL: no trailing slash and no trailing /api.

    Other clients (qualytics-cli) store `<root>/api/`; either form is accepted here.
    """
    return url.strip().rstrip("/").removesuffix("/api").rstrip("/")


class PlatformClient:
    """The API of one platform, as the user a token belongs to (or anonymous until `login()`).

    Every method raises ApiError when the platform answers with an error status, and
    httpx.HTTPError (httpx.TimeoutException, httpx.ConnectError, ...) when it cannot be
    reached; each request is bounded by `timeout` seconds.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=normalize_url(base_url), headers=headers, timeout=timeout, transport=transport
        )

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

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

    # --- sign-in and the signed-in user ------------------------------------------------

    def login(self, username: str, password: str) -> str:
        """Sign in with a password (POST /api/auth/login) and use the session token from now on.

        Returns the token, a JWT that expires after the platform's `jwt_ttl_seconds`.
        """
        body = self._request(
            "POST", "/api/auth/login", json={"username": username, "password": password}
        ).json()
        token = str(body["access_token"])
        self._http.headers["Authorization"] = f"Bearer {token}"
        return token

    def me(self) -> UserRead:
        """The user the token belongs to (GET /api/users/me)."""
        return UserRead.model_validate(self._request("GET", "/api/users/me").json())

    # --- personal tokens: the caller's own ----------------------------------------------

    def list_tokens(self) -> list[TokenRead]:
        """Your personal tokens, without their values."""
        return [
            TokenRead.model_validate(row) for row in self._request("GET", "/api/user-tokens").json()
        ]

    def create_token(self, name: str, expires_in_days: int | None = None) -> TokenCreated:
        """A new personal token; its `token` value is returned this once. None: never expires."""
        body = {"name": name, "expires_in_days": expires_in_days}
        return TokenCreated.model_validate(
            self._request("POST", "/api/user-tokens", json=body).json()
        )

    def revoke_token(self, token_id: int) -> TokenRead:
        return self._set_revoked(token_id, True)

    def restore_token(self, token_id: int) -> TokenRead:
        return self._set_revoked(token_id, False)

    def _set_revoked(self, token_id: int, revoke: bool) -> TokenRead:
        response = self._request("PUT", f"/api/user-tokens/{token_id}", json={"revoke": revoke})
        return TokenRead.model_validate(response.json())

    def delete_token(self, token_id: int) -> None:
        self._request("DELETE", f"/api/user-tokens/{token_id}")

    # --- users (Admin) ------------------------------------------------------------------

    def list_users(self, page: int = 1, size: int = 50) -> UserPage:
        """One page of users, by id; `total` counts them all."""
        response = self._request("GET", "/api/users", params={"page": page, "size": size})
        return UserPage.model_validate(response.json())

    def get_user(self, user_id: int) -> UserRead:
        return UserRead.model_validate(self._request("GET", f"/api/users/{user_id}").json())

    def create_user(self, username: str, password: str, role: Role | str = Role.MEMBER) -> UserRead:
        body = {"username": username, "password": password, "role": Role(role).value}
        return UserRead.model_validate(self._request("POST", "/api/users", json=body).json())

    def set_user_role(self, user_id: int, role: Role | str) -> UserRead:
        body = {"role": Role(role).value}
        response = self._request("PUT", f"/api/users/{user_id}", json=body)
        return UserRead.model_validate(response.json())

    def delete_user(self, user_id: int) -> None:
        self._request("DELETE", f"/api/users/{user_id}")

    # --- operations ------------------------------------------------------------------------

    def run_operation(
        self, operation_type: str, datastore_id: int, container_names: list[str] | None = None
    ) -> OperationRead:
        body: dict[str, Any] = {"type": operation_type, "datastore_id": datastore_id}
        if container_names is not None:
            body["container_names"] = container_names
        response = self._request("POST", "/api/operations/run", json=body)
        return OperationRead.model_validate(response.json())

    def get_operation(self, operation_id: int) -> OperationRead:
        response = self._request("GET", f"/api/operations/{operation_id}")
        return OperationRead.model_validate(response.json())

    def list_operations(
        self,
        page: int = 1,
        size: int = 50,
        datastore: list[int] | None = None,
        operation_type: list[str] | None = None,
        result: list[str] | None = None,
    ) -> OperationPage:
        params: dict[str, Any] = {"page": page, "size": size}
        if datastore:
            params["datastore"] = datastore
        if operation_type:
            params["operation_type"] = operation_type
        if result:
            params["result"] = result
        response = self._request("GET", "/api/operations", params=params)
        return OperationPage.model_validate(response.json())

    def abort_operation(self, operation_id: int) -> OperationRead:
        response = self._request("PUT", f"/api/operations/abort/{operation_id}")
        return OperationRead.model_validate(response.json())

    def wait_for_operation(
        self, operation_id: int, timeout: float, poll_seconds: float = 1.0
    ) -> OperationRead:
        """Poll until the operation has an end_time; raise TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            operation = self.get_operation(operation_id)
            if operation.end_time is not None:
                return operation
            if time.monotonic() >= deadline:
                raise TimeoutError(f"operation {operation_id} did not end within {timeout:g} s")
            time.sleep(poll_seconds)
