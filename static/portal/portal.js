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

  document.addEventListener("DOMContentLoaded", function () {
    var zone = browserZone();
    document.querySelectorAll("input[name=browser_time_zone]").forEach(function (input) {
      input.value = zone;
    });
    offerZoneSwitch(zone);
  });
})();
