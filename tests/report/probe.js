// Test probe, injected into a copy of report.html by tests/report/test_layout.py (never part of a report).
// Once the diagrams are done: open every <details>, then record what overflows the viewport, which "#" links
// lead nowhere, and the diagrams' text, as JSON in a pre element with the id "probe".
(function () {
  "use strict";
  function scrolls(el) {
    for (var node = el.parentElement; node && node !== document.body; node = node.parentElement) {
      var overflow = getComputedStyle(node).overflowX;
      if (overflow === "auto" || overflow === "scroll") return true;
    }
    return false;
  }
  function describe(el) {
    return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && el.className.baseVal === undefined ? "." + el.className : "");
  }
  function measure() {
    var width = document.documentElement.clientWidth;
    var wide = [];
    document.querySelectorAll("body *").forEach(function (el) {
      var rect = el.getBoundingClientRect();
      if (rect.width === 0 && rect.height === 0) return;
      if ((rect.right > width + 1 || rect.left < -1) && !scrolls(el)) wide.push(describe(el) + " " + Math.round(rect.right));
    });
    var broken = [];
    var links = 0;
    document.querySelectorAll("a").forEach(function (a) {
      var href = a.getAttribute("href") || "";
      if (href.charAt(0) !== "#") return;
      links += 1;
      if (!document.getElementById(decodeURIComponent(href.slice(1)))) broken.push(href);
    });
    var diagrams = {};
    document.querySelectorAll(".diagram").forEach(function (box) {
      var svg = box.querySelector(".diagram-svg svg");
      diagrams[box.id] = svg ? svg.textContent : null;
      if (svg) diagrams[box.id + ":bold"] = Array.prototype.map.call(svg.querySelectorAll("strong, b"), function (b) {
        return b.textContent;
      });
    });
    var result = JSON.stringify({
      viewport: width,
      scroll_width: document.documentElement.scrollWidth,
      wide: wide.slice(0, 30),
      links: links,
      broken: broken,
      node_links: document.querySelectorAll("a.node-link").length,
      diagrams: diagrams,
    });
    if (window.parent !== window) {
      window.parent.postMessage(result, "*");  // the page runs in the test's iframe of a set width
      return;
    }
    var out = document.createElement("pre");
    out.id = "probe";
    out.textContent = result;
    document.body.appendChild(out);
  }
  function wait() {
    if (document.body.dataset.diagrams !== "done") return setTimeout(wait, 50);
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    setTimeout(measure, 100);  // (not requestAnimationFrame: headless virtual time may never paint a frame)
  }
  wait();
})();
