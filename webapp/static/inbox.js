/* The inbox's live refresh (dashboard/inbox.html). Short polling is enough for an inbox: every few seconds,
 * only while the tab is visible and only on the first page (a later page stays as the operator paged it),
 * /inbox.json is asked for the same filters; the list is redrawn when its signature changed. Rows are built
 * with textContent, never innerHTML: contact names and messages are the customers' own text. */
(function () {
  "use strict";
  var INTERVAL_MS = 5000;
  var list = document.getElementById("inbox-list");
  if (!list || !list.getAttribute("data-poll-url")) return;
  var pollUrl = list.getAttribute("data-poll-url");
  var pageUrl = list.getAttribute("data-page-url");
  var STATE_CLASSES = {needs_human: "badge-warning", bot: "badge-success", closed: "badge-secondary"};
  var busy = false;
  var stopped = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function truncating(tag, className, text) {
    var node = el(tag, className + " text-truncate", text);
    node.style.minWidth = "0";
    return node;
  }

  function rowNode(row, labels) {
    var item = el("a", "list-group-item list-group-item-action px-3 py-2");
    item.href = row.url;
    item.setAttribute("data-testid", "inbox-row");
    item.setAttribute("data-id", String(row.id));
    var top = el("div", "d-flex justify-content-between align-items-baseline");
    top.appendChild(truncating("strong", "mr-2", row.contact));
    top.appendChild(el("small", "text-muted text-nowrap", row.time));
    var middle = el("div", "d-flex justify-content-between align-items-center");
    middle.appendChild(truncating("span", "text-muted small mr-2",
      (row.preview_direction === "out" ? "\u2192 " : "") + row.preview));
    if (row.unread_count) {
      var unread = el("span", "badge badge-pill badge-primary", String(row.unread_count));
      unread.setAttribute("data-testid", "unread");
      unread.title = labels.unread;
      middle.appendChild(unread);
    }
    var bottom = el("div", "small mt-1 text-truncate");
    var state = el("span", "badge " + (STATE_CLASSES[row.state] || "badge-light"), row.state_label);
    state.setAttribute("data-testid", "state");
    bottom.appendChild(state);
    bottom.appendChild(document.createTextNode(" "));
    if (row.human_owner) {  // who owns it matters more than the channel: first, before the line is cut
      bottom.appendChild(el("span", "text-dark", row.human_owner + " \u00b7"));
      bottom.appendChild(document.createTextNode(" "));
    }
    bottom.appendChild(el("span", "text-muted", row.channel_name || row.channel_type));
    item.appendChild(top);
    item.appendChild(middle);
    item.appendChild(bottom);
    return item;
  }

  function render(data) {
    var fresh = document.createDocumentFragment();
    data.rows.forEach(function (row) { fresh.appendChild(rowNode(row, data.labels)); });
    if (!data.rows.length) {
      var empty = el("div", "list-group-item text-muted", data.labels.empty);
      empty.setAttribute("data-testid", "inbox-empty");
      fresh.appendChild(empty);
    }
    list.replaceChildren(fresh);
    list.setAttribute("data-signature", data.signature);
    Object.keys(data.badges).forEach(function (name) {
      document.querySelectorAll('[data-badge="' + name + '"]').forEach(function (node) {
        node.textContent = data.badges[name];
      });
    });
    var nav = document.getElementById("inbox-older-nav");
    var older = document.getElementById("inbox-older");
    if (nav && older) {
      nav.hidden = !data.next;
      if (data.next) older.href = pageUrl + (pageUrl.indexOf("?") < 0 ? "?" : "&") + "after=" +
        encodeURIComponent(data.next);
    }
  }

  function poll() {
    if (busy || stopped || document.visibilityState !== "visible") return;
    busy = true;
    fetch(pollUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (resp) {
        var json = (resp.headers.get("Content-Type") || "").indexOf("application/json") === 0;
        if (!resp.ok || !json || resp.redirected) {  // signed out, or the channel went away: stop asking
          stopped = true;
          return null;
        }
        return resp.json();
      })
      .then(function (data) {
        if (data && data.signature !== list.getAttribute("data-signature")) render(data);
      })
      .catch(function () { /* offline for a moment: the next tick tries again */ })
      .then(function () { busy = false; });
  }

  window.setInterval(poll, INTERVAL_MS);
  document.addEventListener("visibilitychange", poll);
})();
