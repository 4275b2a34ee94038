// Ordering pages (linli/supplies/views_orders.py): quantity steppers, a running total, one submission per tap.
// Without this script the number boxes and the server's answer still work; this only makes them easier.
(function () {
  "use strict";
  function money(cents) {
    return (cents / 100).toFixed(2);
  }
  function cents(text) {
    var parts = String(text || "0").split(".");
    return parseInt(parts[0] || "0", 10) * 100 + parseInt(((parts[1] || "") + "00").slice(0, 2), 10);
  }
  function setup(form) {
    var sum = form.querySelector(".sum");
    function total() {
      // A quantity beyond what can be ordered (a slip of the finger: 100 for 10) is marked and the
      // total shows "—" rather than an absurd sum; the server's answer names the limit.
      var t = 0;
      var over = false;
      form.querySelectorAll(".offer").forEach(function (row) {
        var input = row.querySelector("input.qty");
        if (!input) return;
        var n = parseInt(input.value, 10);
        var max = parseInt(row.dataset.max, 10);
        var tooMany = n > 0 && !isNaN(max) && n > max;
        input.setAttribute("aria-invalid", tooMany ? "true" : "false");
        if (tooMany) over = true;
        else if (n > 0) t += n * cents(row.dataset.price);
      });
      if (sum) sum.textContent = over ? "—" : money(t);
    }
    form.querySelectorAll(".offer").forEach(function (row) {
      var input = row.querySelector("input.qty");
      if (!input) return;
      var max = parseInt(row.dataset.max, 10);
      function step(by) {
        var n = (parseInt(input.value, 10) || 0) + by;
        if (n < 0) n = 0;
        if (!isNaN(max) && n > max) n = max;
        input.value = n;
        total();
      }
      row.querySelector(".minus").addEventListener("click", function () { step(-1); });
      row.querySelector(".plus").addEventListener("click", function () { step(1); });
      input.addEventListener("input", total);
    });
    form.addEventListener("submit", function (event) {
      var button = form.querySelector("button[type=submit]");
      if (form.dataset.sent) {
        // A second tap: the first is on its way, and its key would only get the same answer back.
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      if (button) {
        button.disabled = true;
        button.textContent = button.dataset.busy || button.textContent;
      }
    });
    total();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.order-form").forEach(setup);
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  });
})();
