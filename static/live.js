// Reconnect from where the page is, not from where it was rendered: every pushed
// message moves the page's cursor elements (#cursor-<stream>), and a new socket
// (after a server restart or a drop for lagging) asks for what came after them.
(function () {
  function withCursors(url) {
    var parsed = new URL(url, window.location.href);
    document.querySelectorAll("[data-stream][data-after]").forEach(function (el) {
      var stream = el.getAttribute("data-stream");
      var after = el.getAttribute("data-after");
      if (!after) return;
      if (parsed.searchParams.has("after")) parsed.searchParams.set("after", after);
      else if (parsed.searchParams.has(stream)) parsed.searchParams.set(stream, after);
    });
    return parsed.toString();
  }

  function install() {
    if (!window.htmx) return;
    htmx.createWebSocket = function (url) {
      var socket = new WebSocket(withCursors(url), []);
      socket.binaryType = htmx.config.wsBinaryType;
      return socket;
    };
    var state = document.getElementById("live-state");
    document.body.addEventListener("htmx:wsOpen", function () {
      if (state) { state.textContent = "● live"; state.className = "live-state on"; }
    });
    document.body.addEventListener("htmx:wsClose", function () {
      if (state) { state.textContent = "○ reconnecting…"; state.className = "live-state off"; }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", install);
  else install();
})();
