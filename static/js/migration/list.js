/* The migrations list: when an active migration changes state (seen on the activity channel), reload the
 * list so that its row moves from "active" to history; the page itself is rendered by the server. */
(function () {
  "use strict";
  let timer = null;
  document.addEventListener("hc:activity", function (event) {
    const detail = event.detail || {};
    const items = detail.items || (detail.item ? [detail.item] : []);
    for (const item of items) {
      const row = document.querySelector('#migration-table tr[data-id="' + item.id + '"]');
      if (row && row.dataset.state === item.state) {
        const cell = row.children[6];
        if (cell && item.percent !== undefined) cell.textContent = Math.round(item.percent) + " %";
        continue;
      }
      if (!timer) timer = setTimeout(function () { window.location.reload(); }, 1500);
    }
  });
})();
