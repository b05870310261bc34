/* New assessment: show only the field the chosen kind of scope uses (the others are ignored by the server). */
(function () {
  "use strict";
  const kind = document.getElementById("id_scope_kind");
  if (!kind) return;
  const fields = { site: "field-scope_site", cluster: "field-scope_cluster", estate: "field-scope_estate", filter: "field-scope_query" };
  const sync = function () {
    Object.keys(fields).forEach(function (k) {
      const el = document.getElementById(fields[k]);
      if (el) el.hidden = k !== kind.value;
    });
  };
  kind.addEventListener("change", sync);
  sync();
})();
