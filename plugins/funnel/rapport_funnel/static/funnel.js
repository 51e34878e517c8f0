// The funnel board: drag a card to another column to move the deal. Loaded on every page;
// does nothing where there is no board. Lives in a file because the CSP forbids inline script.
// A moved card goes to the top of its new column (the column's order: most recently moved
// first) and the server answers with the card and both columns' counts and sums, so the
// pages of cards already loaded stay where they are.
(function () {
  "use strict";

  function csrfHeaders() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    } catch (error) {
      return {};
    }
  }

  function boardQuery(board) {
    return { owner: board.dataset.owner || "", source: board.dataset.source || "",
             period: board.dataset.period || "" };
  }

  function reloadBoard() {
    htmx.ajax("GET", window.location.href, { target: "#board", swap: "outerHTML" });
  }

  function askLostReason(board, dealId, stageId) {
    const dialog = document.getElementById("funnel-lost");
    const form = dialog.querySelector("form[data-lost-form]");
    form.action = board.dataset.moveUrl.replace("{id}", dealId);
    form.elements.stage_id.value = stageId;
    dialog.showModal();
    form.elements.lost_reason_id.focus();
  }

  function onDrop(event) {
    const board = event.to.closest("#board");
    const dealId = event.item.dataset.deal;
    const target = event.to;
    if (event.from === target) return;
    if (target.dataset.semantic === "lost") {
      askLostReason(board, dealId, target.dataset.stage);
      return;
    }
    target.prepend(event.item);
    htmx.ajax("POST", board.dataset.moveUrl.replace("{id}", dealId), {
      target: event.item,
      swap: "outerHTML",
      headers: csrfHeaders(),
      values: Object.assign({ stage_id: target.dataset.stage }, boardQuery(board)),
    });
  }

  function init(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll(".funnel-cards").forEach(function (list) {
      if (list.dataset.sortable) return;
      list.dataset.sortable = "1";
      Sortable.create(list, {
        group: "funnel",
        animation: 120,
        forceFallback: true, // pointer events: the same on touch screens, mice and pens
        draggable: ".deal-card",
        filter: "a, button",
        preventOnFilter: false,
        onEnd: onDrop,
      });
    });
  }

  document.addEventListener("click", function (event) {
    if (event.target.matches("[data-lost-cancel]")) {
      event.target.closest("dialog").close();
      reloadBoard(); // put the card back where the server has it
    }
  });

  // A refused move answers 422 with the whole board and its message (HX-Retarget): swap it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const xhr = event.detail.xhr;
    if (xhr.status === 422 && xhr.getResponseHeader("HX-Retarget") === "#board") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.htmx) {
      htmx.onLoad(init);
    } else {
      init(document);
    }
  });
})();
