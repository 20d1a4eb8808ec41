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

  function offerZoneSwitch(zone) {
    var banner = document.getElementById("tz-banner");
    if (!banner || !zone) return;
    if ((banner.dataset.userZoneNames || "").split(" ").indexOf(zone) !== -1) return;
    var key = "portal-tz-kept:" + banner.dataset.userZone + ":" + zone;
    try {
      if (window.localStorage.getItem(key)) return;
    } catch (e) { /* storage may be off; then the banner simply shows */ }
    banner.querySelector("[data-browser-zone]").textContent = zone.replace(/_/g, " ");
    banner.querySelector("input[name=time_zone]").value = zone;
    banner.querySelector("[data-dismiss]").addEventListener("click", function () {
      try { window.localStorage.setItem(key, "1"); } catch (e) { /* ignore */ }
      banner.hidden = true;
    });
    banner.hidden = false;
  }

  // The pop-up: htmx loads its contents, this opens it. Without JavaScript the same
  // links lead to pages of their own.
  function wireDialog() {
    var dialog = document.getElementById("dialog");
    if (!dialog) return;
    document.body.addEventListener("htmx:afterSwap", function (event) {
      if (event.detail.target.id !== "dialog-body") return;
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.open = false;
      });
      if (!dialog.open) dialog.showModal();
      var focusable = dialog.querySelector("textarea, input:not([type=hidden]), button, a[href]");
      if (focusable) focusable.focus();
    });
    dialog.addEventListener("close", function () {
      document.getElementById("dialog-body").innerHTML = "";
    });
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) dialog.close();  // a click on the backdrop
    });
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
    wireDialog();
    wireMenus();
    var zone = browserZone();
    document.querySelectorAll("input[name=browser_time_zone]").forEach(function (input) {
      input.value = zone;
    });
    offerZoneSwitch(zone);
  });
})();
