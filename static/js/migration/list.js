/* The migrations list: when an active migration changes state (seen on the activity channel), reload the
 * list so that its row moves from "active" to history; the page itself is rendered by the server. */
(function () {
  "use strict";
  let timer = null;
  document.addEventListener("hc:activity", function (event) {
    const item = event.detail && event.detail.item;
    if (!item) return;
    const row = document.querySelector('#migration-table tr[data-id="' + item.id + '"]');
    if (row && row.dataset.state === item.state) {
      const cell = row.children[6];
      if (cell && item.percent !== undefined) cell.textContent = Math.round(item.percent) + " %";
      return;
    }
    if (timer) return;
    timer = setTimeout(function () { window.location.reload(); }, 1500);
  });
})();
