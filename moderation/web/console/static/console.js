// Keyboard shortcuts for the moderators' console. No dependencies; the pages work without it.
(function () {
  "use strict";

  function typing(el) {
    if (!el) { return false; }
    if (el.tagName === "INPUT") { return el.type !== "radio" && el.type !== "checkbox"; }
    return el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-href]"));
  }

  var selected = -1;
  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    selected = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (r, i) { r.classList.toggle("selected", i === selected); });
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function choose(key) {
    var input = document.querySelector('#decide-form input[data-key="' + key + '"]');
    if (!input) { return false; }
    input.checked = true;
    input.focus();
    return true;
  }

  function pickReason(n) {
    var option = document.querySelector('#reason-choice option[data-n="' + n + '"]');
    if (!option) { return false; }
    option.selected = true;
    return true;
  }

  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("tr[data-href]");
    if (row && !event.target.closest("a, button, input, label, select")) {
      window.location.href = row.getAttribute("data-href");
    }
  });

  document.addEventListener("keydown", function (event) {
    var form = document.getElementById("decide-form");
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && form && form.contains(document.activeElement)) {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(document.activeElement)) {
      if (event.key === "Escape") { document.activeElement.blur(); }
      return;
    }
    var key = event.key;
    var help = document.getElementById("shortcut-help");
    var handled = true;
    if (key === "?") {
      help.hidden = !help.hidden;
    } else if (key === "Escape" && help && !help.hidden) {
      help.hidden = true;
    } else if (key === "j") {
      select(selected + 1);
    } else if (key === "k") {
      select(selected - 1);
    } else if (key === "Enter" && selected >= 0) {
      window.location.href = rows()[selected].getAttribute("data-href");
    } else if (key === "/") {
      var search = document.querySelector("[data-search], .filters input, .filters select");
      if (search) { search.focus(); } else { handled = false; }
    } else if (key === "c") {
      var claim = document.getElementById("claim-form");
      if (claim) { claim.requestSubmit(); } else { handled = false; }
    } else if (key === "r" || key === "s" || key === "l" || key === "a" || key === "e") {
      handled = choose(key);
    } else if (/^[1-9]$/.test(key)) {
      handled = pickReason(key);
    } else {
      handled = false;
    }
    if (handled) { event.preventDefault(); }
  });
})();
