// Small enhancements that need the browser: its time zone. Everything works without this file.
(function () {
  "use strict";

  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  // The time-zone banner shows (or not) before the first paint, from a script beside it;
  // this remembers a "Keep" so it does not ask again for the same two zones.
  function wireZoneBanner() {
    var banner = document.getElementById("tz-banner");
    if (!banner || banner.hidden) return;
    banner.querySelector("[data-dismiss]").addEventListener("click", function () {
      try { window.localStorage.setItem(banner.dataset.kept, "1"); } catch (e) { /* ignore */ }
      banner.hidden = true;
    });
  }

  // The pop-up: htmx loads its contents, this opens it. Without JavaScript the same
  // links lead to pages of their own. Focus goes to its heading (a phone's keyboard stays
  // down), or to the button its content names (Done, once cancelled); when it closes, back to
  // the three-dots button of the same appointment, or, when that card is gone, of the next
  // one, or to the list's heading.
  function wireDialog() {
    var dialog = document.getElementById("dialog");
    if (!dialog) return;
    var returnTo = null;
    document.body.addEventListener("htmx:beforeRequest", function (event) {
      if (event.detail.target.id !== "dialog-body" || dialog.open) return;
      var card = event.detail.elt.closest(".appt-card");
      var next = card && card.nextElementSibling;
      returnTo = card ? { card: card.id, next: next && next.id } : null;
    });
    // After settling, not swapping: htmx wires the new content's forms only when it settles,
    // and a keyboard user given focus before that could submit a form htmx has not seen yet.
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.detail.target.id !== "dialog-body") return;
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.open = false;
      });
      if (document.getElementById("dialog-title")) {
        dialog.setAttribute("aria-labelledby", "dialog-title");
      }
      if (!dialog.open) dialog.showModal();
      var target = dialog.querySelector("[data-dialog-focus]") ||
        document.getElementById("dialog-title");
      if (target) target.focus();
    });
    dialog.addEventListener("close", function () {
      document.getElementById("dialog-body").innerHTML = "";
      dialog.removeAttribute("aria-labelledby");
      restoreFocus(returnTo);
      returnTo = null;
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog || event.target.closest("[data-dialog-close]")) dialog.close();
    });
  }

  function menuButtonOf(cardId) {
    var card = cardId && document.getElementById(cardId);
    return card && card.closest("#upcoming") ? card.querySelector("summary") : null;
  }

  function restoreFocus(place) {
    var target = place && (menuButtonOf(place.card) || menuButtonOf(place.next));
    if (!target) {
      target = document.getElementById("upcoming-heading");
      if (target) target.setAttribute("tabindex", "-1");
    }
    if (target) target.focus();
  }

  // The picker's days are one stop for Tab; the arrow keys, Home and End move between them.
  function rovingDays() {
    document.querySelectorAll(".day-list").forEach(function (list) {
      var days = Array.prototype.slice.call(list.querySelectorAll("a.day"));
      if (!days.length || list.dataset.roving) return;
      list.dataset.roving = "1";
      var current = list.querySelector("a.day[aria-current]") || days[0];
      days.forEach(function (day) { day.tabIndex = day === current ? 0 : -1; });
      list.addEventListener("keydown", function (event) {
        var index = days.indexOf(document.activeElement);
        if (index === -1) return;
        var to = {
          ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1, ArrowUp: index - 1,
          Home: 0, End: days.length - 1
        }[event.key];
        if (to === undefined) return;
        event.preventDefault();
        to = Math.max(0, Math.min(days.length - 1, to));
        days[index].tabIndex = -1;
        days[to].tabIndex = 0;
        days[to].focus();
      });
    });
  }

  // After the picker swaps in a new day, focus stays on the chosen day, not on the page.
  function keepPickerFocus() {
    var picker = document.getElementById("picker");
    if (!picker) return;
    rovingDays();
    if (document.activeElement === document.body || !document.activeElement) {
      var chosen = picker.querySelector("a.day[aria-current]");
      if (chosen) chosen.focus();
    }
  }

  // Menus close when the person clicks elsewhere or presses Escape.
  function wireMenus() {
    document.addEventListener("click", function (event) {
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        if (!menu.contains(event.target)) menu.open = false;
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.open = false;
        menu.querySelector("summary").focus();
      });
    });
  }

  // The waitlist form: ticking a day or a part of the day chooses "Only on the days or times
  // I choose"; choosing "Any time" unticks them, so the form never says both. Without this the
  // server refuses the contradiction with a message.
  function wireWaitlistForm() {
    document.querySelectorAll("form.waitlist-form").forEach(function (form) {
      var any = form.querySelector("input[name=when][value=any]");
      var chosen = form.querySelector("input[name=when][value=chosen]");
      var ticks = form.querySelectorAll("input[name=weekdays], input[name=parts]");
      if (!any || !chosen) return;
      ticks.forEach(function (tick) {
        tick.addEventListener("change", function () {
          if (tick.checked) chosen.checked = true;
        });
      });
      any.addEventListener("change", function () {
        if (!any.checked) return;
        ticks.forEach(function (tick) { tick.checked = false; });
      });
    });
  }

  // Chat: a message can arrive twice (the send answer and a poll crossing it); show it once.
  function tidyThread() {
    var list = document.getElementById("message-list");
    if (!list) return;
    var seen = {};
    list.querySelectorAll("li[id^='message-']").forEach(function (item) {
      if (seen[item.id]) item.remove();
      seen[item.id] = true;
    });
    var empty = document.getElementById("no-messages");
    if (empty && list.children.length) empty.remove();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.body.addEventListener("htmx:afterSettle", tidyThread);
    document.body.addEventListener("htmx:oobAfterSwap", tidyThread);
    document.body.addEventListener("htmx:afterSettle", keepPickerFocus);
    // A region swapped in place names where focus goes next (the waitlist's heading after
    // Leave), so a keyboard user is not left on a button that no longer exists.
    document.body.addEventListener("htmx:afterSettle", function () {
      var target = document.querySelector("[data-swap-focus]");
      if (target) {
        target.removeAttribute("data-swap-focus");
        target.focus();
      }
    });
    // What only a page without JavaScript needs (the review's "Show the dates", which htmx
    // does as the choices change) goes away.
    document.querySelectorAll("[data-no-js]").forEach(function (element) {
      element.hidden = true;
    });
    wireDialog();
    rovingDays();
    wireMenus();
    wireWaitlistForm();
    var zone = browserZone();
    document.querySelectorAll("input[name=browser_time_zone]").forEach(function (input) {
      input.value = zone;
    });
    wireZoneBanner();
  });
})();
