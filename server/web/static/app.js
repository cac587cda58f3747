// Live parts of the staff pages: small polling loops over JSON (no framework, no network beyond this site).
"use strict";
(function () {
  var POLL_MS = 3000;

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { window.location.reload(); throw new Error("signed out"); }
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  function every(fn) {
    var run = function () { fn().catch(function () {}).then(function () { setTimeout(run, POLL_MS); }); };
    setTimeout(run, POLL_MS);
  }

  function text(el, value) { if (el && el.textContent !== String(value)) { el.textContent = value; } }

  // Times are shown in the libraries' zone (as the server renders them), whatever the tablet's own zone.
  var ZONE = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Asia/Ho_Chi_Minh", day: "2-digit", month: "2-digit", year: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23"
  });

  function localTime(iso) {
    if (!iso) { return ""; }
    var parts = {};
    ZONE.formatToParts(new Date(iso)).forEach(function (p) { parts[p.type] = p.value; });
    return parts.day + "/" + parts.month + "/" + parts.year + " " + parts.hour + ":" + parts.minute;
  }

  function summary(box) {
    every(function () {
      return getJson(box.dataset.liveSummary).then(function (data) {
        Object.keys(data).forEach(function (key) { text(box.querySelector('[data-key="' + key + '"]'), data[key]); });
      });
    });
  }

  function devices(table) {
    every(function () {
      return getJson(table.dataset.liveDevices).then(function (data) {
        data.devices.forEach(function (d) {
          var row = table.querySelector('tr[data-device="' + CSS.escape(d.device_id) + '"]');
          if (!row) { return; }
          var state = row.querySelector('[data-field="state"]');
          if (state && !state.classList.contains("st-" + d.state)) {
            state.className = "state st-" + d.state;
            text(state, state.dataset[d.state] || d.state);
            row.classList.remove("flash"); void row.offsetWidth; row.classList.add("flash");
          }
          text(row.querySelector('[data-field="last_seen"]'), localTime(d.last_seen));
          text(row.querySelector('[data-field="reader_state"]'), d.reader_state || "");
          text(row.querySelector('[data-field="outbox_depth"]'), d.outbox_depth === null ? "" : d.outbox_depth);
        });
      });
    });
  }

  function alarmBadge(badge) {
    var url = document.body.dataset.alarmsUrl || "/web/live/alarms.json";
    var refresh = function () {
      return getJson(url).then(function (data) { text(badge, data.open > 0 ? data.open : ""); });
    };
    refresh().catch(function () {});
    every(refresh);
  }

  function alarmList(table) {
    var known = {};
    table.querySelectorAll("tr[data-alarm]").forEach(function (row) { known[row.dataset.alarm] = true; });
    var body = table.querySelector("tbody");
    var names = JSON.parse(table.dataset.names || "{}");
    every(function () {
      return getJson(table.dataset.liveAlarmList).then(function (data) {
        data.alarms.slice().reverse().forEach(function (a) {
          if (known[a.id]) { return; }
          known[a.id] = true;
          var empty = body.querySelector("tr.empty");
          if (empty) { empty.remove(); }
          var row = document.createElement("tr");
          row.dataset.alarm = a.id;
          row.className = "open flash";
          [localTime(a.at), a.device, a.library, (a.barcode || "") + (a.title ? " — " + a.title : ""),
           names[a.classification] || a.classification, ""]
            .forEach(function (value) { var td = document.createElement("td"); td.textContent = value; row.appendChild(td); });
          body.insertBefore(row, body.firstChild);
          var note = document.querySelector("[data-new-alarms]");
          if (note) { note.hidden = false; }
        });
      });
    });
  }

  function tagResults(table) {
    var ids = table.dataset.ids;
    if (!ids) { return; }
    var poll = function () {
      return fetch(table.dataset.liveTags, {
        method: "POST", credentials: "same-origin", body: new URLSearchParams({ ids: ids }),
        headers: { Accept: "application/json", "X-CSRF-Token": document.body.dataset.csrf }
      }).then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      }).then(function (data) {
        var pending = 0;
        data.tags.forEach(function (t) {
          var row = table.querySelector('tr[data-tag="' + CSS.escape(t.barcode + ":" + t.part) + '"]');
          if (!row) { return; }
          var cell = row.querySelector('[data-field="state"]');
          text(cell, (cell.dataset[t.state] || t.state) + (t.error ? " (" + t.error + ")" : ""));
          cell.className = t.state === "done" ? "ok" : (t.state === "pending" ? "" : "error");
          text(row.querySelector('[data-field="uid"]'), t.uid || "");
          text(row.querySelector('[data-field="verified"]'), t.verified ? "✓" : "");
          if (t.state === "pending") { pending += 1; }
        });
        if (pending === 0) { throw new Error("finished"); }
      });
    };
    var run = function () { poll().then(function () { setTimeout(run, 1000); }, function () {}); };
    setTimeout(run, 500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-summary]").forEach(summary);
    document.querySelectorAll("[data-live-devices]").forEach(devices);
    document.querySelectorAll("[data-live-alarm-list]").forEach(alarmList);
    document.querySelectorAll("[data-live-tags]").forEach(tagResults);
    document.querySelectorAll("[data-live-alarms]").forEach(alarmBadge);
    document.querySelectorAll("a[data-back]").forEach(function (a) {
      a.addEventListener("click", function (e) { if (history.length > 1) { e.preventDefault(); history.back(); } });
    });
  });
})();
