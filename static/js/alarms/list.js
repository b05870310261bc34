// The alarm list follows the activity stream: when an alarm is raised, acknowledged or cleared anywhere, the table
// is read again from the server (the database is the truth; the push only says that something changed).
(function () {
  "use strict";
  const wrap = document.getElementById("alarm-table-wrap");
  const counts = document.getElementById("alarm-counts");
  const live = document.getElementById("alarm-live");
  if (!wrap) return;
  let pending = null;
  function refresh(freshId) {
    fetch(window.location.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        const doc = new DOMParser().parseFromString(html, "text/html");
        const table = doc.getElementById("alarm-table-wrap");
        const newCounts = doc.getElementById("alarm-counts");
        if (table) wrap.replaceChildren(...table.childNodes);
        if (newCounts && counts) counts.replaceChildren(...newCounts.childNodes);
        if (freshId) {
          const row = wrap.querySelector('tr[data-alarm="' + freshId + '"]');
          if (row) row.classList.add("fresh");
        }
      })
      .catch(function () { /* the next push or a reload will show it */ });
  }
  document.addEventListener("hc:activity", function (event) {
    const message = event.detail || {};
    if (message.type !== "alarm" || !message.item) return;
    if (live && message.item.state === "active") {
      live.hidden = false;
      live.textContent = "New alarm: " + message.item.title;
    }
    clearTimeout(pending);
    pending = setTimeout(function () { refresh(message.item.id); }, 200);
  });
})();
