// A page that follows work in progress (a survey sending, a report computing) reloads itself after
// a few seconds, but only while the reader lets it: a button pauses it (WCAG 2.2.1), and a change
// to any form field on the page pauses it too, so that no reload throws away what was typed. The
// status goes to a polite live region. Without this script the page does not reload and says so.
//
// Markup: <div data-autorefresh-seconds="15">
//           <p data-autorefresh-off>…reload the page to see the progress.</p>
//           <p aria-live="polite" data-autorefresh-status hidden>…this page refreshes every 15 seconds.</p>
//         </div>
(function () {
  "use strict";

  var PAUSED = "Auto-refresh paused: reload the page, or resume, to see the progress.";
  var EDITING = "Auto-refresh paused while you fill in a field on this page: reload the page, or resume, to see the progress.";

  function isField(element) {
    return /^(INPUT|SELECT|TEXTAREA)$/.test(element.tagName) || element.isContentEditable;
  }

  function start(box) {
    var seconds = parseInt(box.getAttribute("data-autorefresh-seconds"), 10);
    var status = box.querySelector("[data-autorefresh-status]");
    if (!(seconds > 0) || !status) {
      return;
    }
    var running = status.textContent;
    var timer = null;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.setAttribute("data-autorefresh-toggle", "");

    function show(text, paused) {
      if (status.textContent !== text) {
        status.textContent = text;
      }
      button.textContent = paused ? "Resume" : "Pause auto-refresh";
      box.setAttribute("data-autorefresh-state", paused ? "paused" : "running");
    }

    function resume() {
      window.clearTimeout(timer);
      // A full delay from now, as a <meta> refresh counts from the page load.
      timer = window.setTimeout(function () { window.location.reload(); }, seconds * 1000);
      show(running, false);
    }

    function pause(text) {
      window.clearTimeout(timer);
      timer = null;
      show(text, true);
    }

    button.addEventListener("click", function () {
      if (timer === null) {
        resume();
      } else {
        pause(PAUSED);
      }
    });
    // Captured, so that a handler stopping the event further down cannot hide an edit. Entering a
    // field pauses too: a reload would take the focus (and a phone's keyboard) away before typing.
    ["focusin", "input", "change"].forEach(function (type) {
      document.addEventListener(type, function (event) {
        if (timer !== null && isField(event.target)) {
          pause(EDITING);
        }
      }, true);
    });

    box.querySelectorAll("[data-autorefresh-off]").forEach(function (text) { text.hidden = true; });
    var line = document.createElement("p");
    line.appendChild(button);
    status.parentNode.insertBefore(line, status.nextSibling);
    // Shown with its text already in: a live region that appears full is not read out, so a
    // screen reader does not announce the same sentence after every reload.
    status.hidden = false;
    resume();
  }

  function init() {
    document.querySelectorAll("[data-autorefresh-seconds]").forEach(start);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
