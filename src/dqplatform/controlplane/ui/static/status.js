// The Platform Status page: reads /api/status and /api/status/details with the session
// cookie, renders them, and drives the Actions menu (copy, refresh, restart).
"use strict";

(() => {
  const POLL_INTERVAL_MS = 1000;
  const RESTART_LIMIT_MS = 180000;
  const NOTICE_MS = 6000;

  const body = document.body;
  const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);

  let lastData = null; // {status, details, at}
  let inflight = null;
  let restarting = false;
  let noticeTimer = null;

  class RequestFailed extends Error {}

  // ---- talking to the API -------------------------------------------------------------

  function fetchTimeoutMs() {
    // A data attribute, so the page's HTML (and a test) can set it.
    return Number(body.dataset.fetchTimeoutMs) || 10000;
  }

  async function api(method, path) {
    const controller = new AbortController();
    const limit = fetchTimeoutMs();
    const timer = setTimeout(() => controller.abort(), limit);
    try {
      const headers = { Accept: "application/json" };
      if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
      let response;
      try {
        response = await fetch(path, {
          method,
          headers,
          credentials: "same-origin",
          cache: "no-store",
          signal: controller.signal,
        });
      } catch (err) {
        throw new RequestFailed(
          err.name === "AbortError"
            ? `no answer within ${Math.round(limit / 1000)} s`
            : "the controlplane cannot be reached",
        );
      }
      if (response.status === 401) {
        // The session has expired (or was never valid): back to the sign-in page.
        window.location.assign("/ui/login");
        throw new RequestFailed("your session has ended; please sign in again");
      }
      let text;
      try {
        text = await response.text(); // still under the timeout: a stalled body aborts too
      } catch (err) {
        throw new RequestFailed(`no complete answer within ${Math.round(limit / 1000)} s`);
      }
      if (!response.ok) {
        let detail = `HTTP ${response.status}`;
        try {
          detail = JSON.parse(text).detail || detail;
        } catch (_) {
          // Not our JSON error body (a proxy's page, say): the status code will do.
        }
        throw new RequestFailed(detail);
      }
      return text ? JSON.parse(text) : null;
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- formatting ---------------------------------------------------------------------

  function megabytes(mb) {
    if (mb >= 1024) {
      const gb = mb / 1024;
      return `${Number.isInteger(gb) ? gb : gb.toFixed(1)} GB`;
    }
    return `${mb} MB`;
  }

  function plural(count, word) {
    return `${count} ${word}${count === 1 ? "" : "s"}`;
  }

  function clock(value) {
    const date = value instanceof Date ? value : new Date(value);
    return date.toLocaleTimeString(undefined, { hour12: false });
  }

  function dateTime(value) {
    const date = new Date(value);
    const pad = (n) => String(n).padStart(2, "0");
    const day = `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
    return `${day} ${clock(date)}`;
  }

  const DATAPLANE_FIELDS = {
    build_date: (v) => v,
    implementation_version: (v) => v,
    spark_version: (v) => v,
    max_executors: (v) => String(v),
    max_memory_per_executor_mb: megabytes,
    cores_per_executor: (v) => plural(v, "core"),
    max_dataframe_size_mb: megabytes,
    thread_pool_parallelism: (v) => plural(v, "thread"),
    thread_pool_state: (v) => v,
  };

  // ---- rendering ----------------------------------------------------------------------

  function setBadge(badge, ok) {
    badge.className = `badge ${ok ? "ok" : "bad"}`;
    badge.querySelector(".badge-icon").textContent = ok ? "✓" : "✕";
    badge.querySelector(".badge-text").textContent = ok ? "OK" : "UNHEALTHY";
  }

  function renderService(key, ok, reason, meta) {
    const row = $(`service-${key}`);
    row.dataset.state = ok ? "ok" : "unhealthy";
    setBadge(row.querySelector(".badge"), ok);
    const reasonEl = row.querySelector(".reason");
    reasonEl.textContent = ok || !reason ? "" : `Reason: ${reason}`;
    reasonEl.hidden = ok || !reason;
    row.querySelector(".meta").textContent = meta;
  }

  function latency(component) {
    return `checked in ${Math.round(component.latency_ms)} ms`;
  }

  function renderDataplane(status, details) {
    const readings = typeof status.dataplane_healthcheck === "object";
    $("dataplane-fields").hidden = !readings;
    $("dataplane-unavailable").hidden = readings;
    for (const [name, format] of Object.entries(DATAPLANE_FIELDS)) {
      const cell = document.querySelector(`[data-field="${name}"]`);
      cell.textContent = readings ? format(status.dataplane_healthcheck[name]) : "–";
    }
    const section = $("dataplane");
    section.dataset.bootId = details.dataplane_boot_id || "";
    $("dataplane-started").textContent = details.dataplane_started_at
      ? `${dateTime(details.dataplane_started_at)} (pid ${details.dataplane_pid})`
      : "–";
    const last = details.last_restart;
    $("last-restart").textContent = last
      ? `${dateTime(last.requested_at)} by ${last.requested_by}` +
        (last.delivered ? "" : " (not delivered)")
      : "none";
  }

  function renderRoutes(routes) {
    const section = $("private-routes");
    const list = $("private-routes-list");
    const entries = Object.entries(routes || {});
    section.hidden = entries.length === 0;
    const rows = entries.map(([route, state]) => {
      const ok = state === "OK";
      const row = document.createElement("li");
      row.className = "service";
      row.dataset.state = ok ? "ok" : "unhealthy";
      row.dataset.route = route;
      row.innerHTML =
        '<div class="service-head"><h3 class="service-name"></h3>' +
        '<span class="badge"><span class="badge-icon" aria-hidden="true"></span> ' +
        '<span class="badge-text"></span></span></div><p class="reason"></p>';
      row.querySelector(".service-name").textContent = route;
      setBadge(row.querySelector(".badge"), ok);
      const reason = row.querySelector(".reason");
      reason.textContent = ok ? "" : `Reason: ${state}`;
      reason.hidden = ok;
      return row;
    });
    list.replaceChildren(...rows);
  }

  function render(status, details, at) {
    const dataplaneOk = typeof status.dataplane_healthcheck === "object";
    renderService(
      "database",
      status.database_connection === "OK",
      details.database.reason,
      `${details.database_backend}, ${latency(details.database)}`,
    );
    renderService(
      "rabbitmq",
      status.rabbitmq_connection === "OK",
      details.broker.reason,
      `${details.broker_url}, ${latency(details.broker)}`,
    );
    renderService(
      "dataplane",
      dataplaneOk,
      details.dataplane.reason || "the dataplane does not answer",
      latency(details.dataplane),
    );
    renderDataplane(status, details);
    renderRoutes(status.private_routes);
    $("checked-at").textContent = `Last checked at ${clock(at)}`;
  }

  // ---- notices --------------------------------------------------------------------------

  function notify(message) {
    const notice = $("notice");
    notice.textContent = message;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => {
      notice.textContent = "";
    }, NOTICE_MS);
  }

  function showError(message) {
    const error = $("error");
    error.textContent = message;
    error.hidden = !message;
  }

  function setIndicator(text) {
    $("restart-indicator").hidden = !text;
    if (text) $("restart-indicator-text").textContent = text;
  }

  // ---- refresh --------------------------------------------------------------------------

  function setBusy(busy) {
    $("services").setAttribute("aria-busy", String(busy));
    const button = $("refresh-button");
    button.disabled = busy;
    button.textContent = busy ? "Refreshing…" : "Refresh";
    body.classList.toggle("busy", busy);
  }

  async function load() {
    setBusy(true);
    try {
      const [status, details] = await Promise.all([
        api("GET", "/api/status"),
        api("GET", "/api/status/details"),
      ]);
      lastData = { status, details, at: new Date() };
      render(status, details, lastData.at);
      showError("");
      return lastData;
    } catch (err) {
      const since = lastData ? ` The figures shown are from ${clock(lastData.at)}.` : "";
      showError(`Could not refresh the status: ${err.message}.${since}`);
      if (!lastData) $("checked-at").textContent = "The status could not be loaded.";
      return null;
    } finally {
      setBusy(false);
    }
  }

  function refresh() {
    // Calls made while one is running share it: no pile-up behind a slow controlplane.
    if (!inflight) inflight = load().finally(() => (inflight = null));
    return inflight;
  }

  // ---- copy -----------------------------------------------------------------------------

  function summary() {
    const lines = ["Platform Status"];
    const info = (id) => $(id).textContent.trim();
    lines.push(
      `Version: ${info("info-version")}`,
      `Platform: ${info("info-platform")}`,
      `Engine: ${info("info-engine")}`,
      `Deployment size: ${info("info-size")}`,
      `Token lifetime: ${info("info-token-lifetime")}`,
    );
    if (!lastData) {
      lines.push("Services: not checked yet");
      return lines.join("\n");
    }
    const { status, details, at } = lastData;
    lines.push(`Checked at: ${at.toISOString()}`, "", "Services:");
    const service = (label, ok, reason) =>
      `  ${label}: ${ok ? "OK" : "UNHEALTHY"}${!ok && reason ? ` (${reason})` : ""}`;
    const dataplane = status.dataplane_healthcheck;
    lines.push(
      service("Database", status.database_connection === "OK", details.database.reason),
      service("RabbitMQ", status.rabbitmq_connection === "OK", details.broker.reason),
      service("Dataplane", typeof dataplane === "object", details.dataplane.reason),
    );
    if (typeof dataplane === "object") {
      lines.push("", "Dataplane:");
      document.querySelectorAll("#dataplane-fields > div").forEach((row) => {
        lines.push(`  ${row.querySelector("dt").textContent}: ${row.querySelector("dd").textContent}`);
      });
    }
    const routes = Object.entries(status.private_routes || {});
    if (routes.length) {
      lines.push("", "Private routes:");
      for (const [route, state] of routes) lines.push(`  ${route}: ${state}`);
    }
    return lines.join("\n");
  }

  async function copySummary() {
    const text = summary();
    try {
      if (!navigator.clipboard) throw new Error("no clipboard");
      await navigator.clipboard.writeText(text);
      notify("Copied: the status summary is on the clipboard.");
    } catch (_) {
      // Plain http on a non-local address has no clipboard API: let the person copy it.
      $("copy-text").value = text;
      $("copy-dialog").showModal();
      $("copy-text").select();
    }
  }

  // ---- restart --------------------------------------------------------------------------

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function restartDataplane() {
    if (restarting) return;
    restarting = true;
    const button = $("restart-button");
    button.disabled = true;
    const before = lastData ? lastData.details.dataplane_boot_id : null;
    setIndicator("Sending the restart request…");
    try {
      await api("PUT", "/api/admin/restart");
    } catch (err) {
      setIndicator("");
      showError(`Restart Dataplane failed: ${err.message}.`);
      button.disabled = false;
      restarting = false;
      return;
    }
    notify("Restart requested: the dataplane is stopping. This page follows it back.");
    setIndicator("Restart requested: waiting for the dataplane to stop…");
    body.dataset.restart = "waiting";
    const started = Date.now();
    try {
      while (Date.now() - started < RESTART_LIMIT_MS) {
        await sleep(POLL_INTERVAL_MS);
        const data = await refresh();
        if (!data) continue; // the error is shown; keep following
        const { details } = data;
        const bootId = details.dataplane_boot_id;
        if (details.dataplane.state === "OK" && bootId && bootId !== before) {
          body.dataset.restart = "done";
          notify(`The dataplane is back and healthy (started ${clock(details.dataplane_started_at)}).`);
          return;
        }
        if (details.dataplane.state !== "OK") {
          body.dataset.restart = "down";
          setIndicator("Dataplane down: restarting…");
        }
      }
      body.dataset.restart = "timeout";
      showError(
        `The dataplane has not come back within ${RESTART_LIMIT_MS / 60000} minutes. ` +
          "Check its logs; use Refresh to look again.",
      );
    } finally {
      setIndicator("");
      button.disabled = false;
      restarting = false;
    }
  }

  // ---- the Actions menu -----------------------------------------------------------------

  const menuButton = $("menu-button");
  const menu = $("actions-menu");
  const items = () => Array.from(menu.querySelectorAll('[role="menuitem"]:not(:disabled)'));

  function openMenu(focusLast = false) {
    menu.hidden = false;
    menuButton.setAttribute("aria-expanded", "true");
    const list = items();
    if (list.length) list[focusLast ? list.length - 1 : 0].focus();
  }

  function closeMenu(returnFocus = true) {
    if (menu.hidden) return;
    menu.hidden = true;
    menuButton.setAttribute("aria-expanded", "false");
    if (returnFocus) menuButton.focus();
  }

  menuButton.addEventListener("click", () => (menu.hidden ? openMenu() : closeMenu()));
  menuButton.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      openMenu(event.key === "ArrowUp");
    }
  });
  menu.addEventListener("keydown", (event) => {
    const list = items();
    const index = list.indexOf(document.activeElement);
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      event.preventDefault();
      list[(index + moves[event.key] + list.length) % list.length].focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      list[event.key === "Home" ? 0 : list.length - 1].focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeMenu();
    } else if (event.key === "Tab") {
      closeMenu(false);
    }
  });
  document.addEventListener("click", (event) => {
    if (!menu.hidden && !menu.contains(event.target) && !menuButton.contains(event.target)) {
      closeMenu(false);
    }
  });

  $("copy-button").addEventListener("click", () => {
    closeMenu();
    copySummary();
  });
  $("refresh-button").addEventListener("click", () => {
    closeMenu();
    refresh();
  });
  const restartButton = $("restart-button");
  if (restartButton) {
    const dialog = $("restart-dialog");
    restartButton.addEventListener("click", () => {
      closeMenu(false);
      dialog.returnValue = "";
      dialog.showModal();
    });
    dialog.addEventListener("close", () => {
      if (dialog.returnValue === "confirm") restartDataplane();
      else menuButton.focus();
    });
  }

  refresh();
})();
