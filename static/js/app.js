/* HybridCloud: the live connection shared by every page, and small helpers pages use.
 *
 * HC.live(path, handlers) opens a websocket, reconnects with back-off, and keeps the
 * sequence numbers honest: the first message is a full snapshot; when a message's seq is
 * not the next one expected, the page asks for a new snapshot instead of guessing.
 */
(function () {
  "use strict";
  const HC = (window.HC = window.HC || {});

  HC.csrfToken = function () {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  };

  HC.postJSON = async function (url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": HC.csrfToken() },
      body: JSON.stringify(body || {}),
    });
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    return { ok: response.ok, status: response.status, data: data };
  };

  const indicator = document.getElementById("live-indicator");
  const openSockets = new Set();
  function refreshIndicator() {
    if (!indicator) return;
    let state = "offline";
    for (const s of openSockets) { if (s.connected) { state = "live"; break; } if (s.connecting) state = "connecting"; }
    indicator.dataset.state = state;
    indicator.querySelector(".label").textContent = state;
    indicator.title = "Live updates: " + state;
  }

  HC.live = function (path, handlers) {
    const conn = { connected: false, connecting: true, expected: null, socket: null, closedByServer: null };
    openSockets.add(conn);
    let delay = 500;
    function open() {
      const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      const socket = new WebSocket(scheme + window.location.host + path);
      conn.socket = socket;
      conn.connecting = true; refreshIndicator();
      socket.onopen = function () { conn.connected = true; conn.connecting = false; delay = 500; refreshIndicator(); };
      socket.onmessage = function (event) {
        const message = JSON.parse(event.data);
        if (message.type === "snapshot") {
          conn.expected = message.seq + 1;
          if (handlers.onSnapshot) handlers.onSnapshot(message);
          return;
        }
        if (conn.expected !== null && message.seq > conn.expected) {
          // A gap: something was missed. The database is the truth; ask for it again.
          socket.send(JSON.stringify({ action: "resync" }));
          return;
        }
        if (conn.expected !== null && message.seq < conn.expected) return; // already seen
        conn.expected = message.seq + 1;
        if (handlers.onMessage) handlers.onMessage(message);
      };
      socket.onclose = function (event) {
        conn.connected = false; conn.connecting = false; refreshIndicator();
        if (event.code >= 4400 && event.code < 4500) { conn.closedByServer = event.code; if (handlers.onRefused) handlers.onRefused(event.code); return; }
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 10000);
      };
    }
    open();
    return conn;
  };

  // The activity panel: active migrations anywhere, on every page.
  const panel = document.getElementById("activity-panel");
  const list = document.getElementById("activity-list");
  function renderActivity(active) {
    if (!panel || !list) return;
    list.replaceChildren();
    for (const item of active) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = item.url || "#";
      a.textContent = item.title || item.label || ("#" + item.id);
      li.appendChild(a);
      const state = document.createElement("span");
      state.className = "muted";
      state.textContent = " · " + (item.state || "") + (item.percent !== undefined && item.percent !== null ? " " + Math.round(item.percent) + "%" : "");
      li.appendChild(state);
      list.appendChild(li);
    }
    panel.hidden = active.length === 0;
  }
  const activity = { items: new Map() };
  HC.activity = activity;
  if (panel) {
    HC.live("/ws/activity/", {
      onSnapshot: function (message) {
        activity.items = new Map((message.active || []).map(function (item) { return [item.key || item.id, item]; }));
        renderActivity(Array.from(activity.items.values()));
        document.dispatchEvent(new CustomEvent("hc:activity-snapshot", { detail: message }));
      },
      onMessage: function (message) {
        // One driver step's migrations come together in `items` (`item` alone from older publishers).
        const items = message.items || (message.item ? [message.item] : []);
        for (const item of items) {
          const key = item.key || item.id;
          if (item.active) activity.items.set(key, item); else activity.items.delete(key);
        }
        if (items.length) renderActivity(Array.from(activity.items.values()));
        document.dispatchEvent(new CustomEvent("hc:activity", { detail: message }));
      },
    });
  }
})();
