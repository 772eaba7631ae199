// papercoder report: render every mermaid diagram, one at a time; a diagram that fails shows its error and source.
(function () {
  "use strict";

  function message(err) {
    if (err === null || err === undefined) return "unknown error";
    if (typeof err === "string") return err;
    return String(err.message || err.str || err);
  }

  function showError(box, source, err) {
    var panel = document.createElement("div");
    panel.className = "diagram-error";
    panel.setAttribute("role", "alert");
    var head = document.createElement("strong");
    head.textContent = "This diagram could not be rendered.";
    var text = document.createElement("pre");
    text.className = "diagram-error-message";
    text.textContent = message(err);
    var label = document.createElement("div");
    label.className = "diagram-error-label";
    label.textContent = "Mermaid source:";
    var src = document.createElement("pre");
    src.className = "diagram-error-source";
    src.textContent = source;
    panel.append(head, text, label, src);
    box.querySelector(".diagram-out").replaceChildren(panel);
    box.dataset.state = "error";
  }

  // Mermaid reads class-diagram members and labels as Markdown, so "__init__" would show as a bold "init".
  // Underscores there are escaped before rendering (the source shown below the diagram stays as written).
  function escapeMembers(source) {
    if (!/^\s*classDiagram/.test(source)) return source;
    var inBody = false;
    return source.split("\n").map(function (line, i) {
      if (i === 0 || /^\s*classDiagram/.test(line)) return line;
      var trimmed = line.trim();
      if (inBody) {
        if (trimmed === "}") { inBody = false; return line; }
        return line.replace(/_/g, "\\_");
      }
      if (/\{\s*$/.test(trimmed)) { inBody = true; return line; }
      var colon = line.indexOf(":");
      return colon < 0 ? line : line.slice(0, colon + 1) + line.slice(colon + 1).replace(/_/g, "\\_");
    }).join("\n");
  }

  async function renderAll() {
    var boxes = Array.prototype.slice.call(document.querySelectorAll(".diagram"));
    if (typeof window.mermaid === "undefined") {
      boxes.forEach(function (box) {
        showError(box, box.querySelector(".diagram-src").textContent, "mermaid did not load");
      });
      document.body.dataset.diagrams = "done";
      return;
    }
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      suppressErrorRendering: true,
      theme: "default",
      flowchart: { useMaxWidth: true },
      sequence: { useMaxWidth: true },
      class: { useMaxWidth: true },
    });
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i];
      var source = box.querySelector(".diagram-src").textContent;
      var id = "mmd-" + i;
      try {
        var result = await window.mermaid.render(id, escapeMembers(source));
        var holder = document.createElement("div");
        holder.className = "diagram-svg";
        holder.innerHTML = result.svg; // sanitized by mermaid (securityLevel strict)
        box.querySelector(".diagram-out").replaceChildren(holder);
        if (box.dataset.links) linkNodes(box);
        box.dataset.state = "ok";
      } catch (err) {
        ["d" + id, id].forEach(function (leftover) {
          var node = document.getElementById(leftover);
          if (node && !box.contains(node)) node.remove();
        });
        showError(box, source, err);
      }
    }
    document.body.dataset.diagrams = "done";
  }

  // A diagram whose figure carries data-links (node id -> "#anchor") gets each such node wrapped in an SVG link.
  function linkNodes(box) {
    var links = box.dataset.links ? JSON.parse(box.dataset.links) : {};
    var svgNS = "http://www.w3.org/2000/svg";
    box.querySelectorAll("g.node").forEach(function (node) {
      var match = /-(n\d+)-\d+$/.exec(node.id || "") || [null, node.getAttribute("data-id")];
      var href = match[1] && links[match[1]];
      if (!href) return;
      var link = document.createElementNS(svgNS, "a");
      link.setAttribute("href", href);
      link.setAttribute("class", "node-link");
      node.parentNode.insertBefore(link, node);
      link.appendChild(node);
    });
  }

  // Opening a link to something inside closed <details> opens them, so the target is seen.
  function reveal(id) {
    var target = id && document.getElementById(id);
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    return target;
  }

  function onHash() {
    var target = reveal(decodeURIComponent(location.hash.slice(1)));
    if (target) target.scrollIntoView();
  }

  // The search: every element with data-search-title (a file, a paper section) is searched in the text of its
  // .search-text parts; each hit links to it with the words around the first match.
  function setupSearch() {
    var box = document.getElementById("search-box");
    var panel = document.getElementById("search-results");
    var list = document.getElementById("search-list");
    var count = document.getElementById("search-count");
    if (!box || !panel || !list) return;
    var entries = Array.prototype.slice.call(document.querySelectorAll("[data-search-title]")).map(function (el) {
      var parts = Array.prototype.slice.call(el.querySelectorAll(".search-text")).map(function (p) {
        return p.textContent;
      });
      var title = el.dataset.searchTitle;
      return { el: el, title: title, text: title + "\n" + parts.join("\n") };
    });
    function run() {
      var query = box.value.trim().toLowerCase();
      list.replaceChildren();
      if (!query) {
        panel.hidden = true;
        return;
      }
      var hits = 0;
      entries.forEach(function (entry) {
        var at = entry.text.toLowerCase().indexOf(query);
        if (at < 0 || hits >= 100) return;
        hits += 1;
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = "#" + entry.el.id;
        link.textContent = entry.title;
        link.className = "search-hit";
        var start = Math.max(0, at - 60);
        var snippet = document.createElement("div");
        snippet.className = "muted snippet";
        snippet.textContent = (start ? "…" : "") + entry.text.slice(start, at + query.length + 60).replace(/\s+/g, " ");
        item.append(link, snippet);
        list.appendChild(item);
      });
      count.textContent = hits + (hits === 1 ? " match" : " matches") + " for “" + box.value.trim() + "”";
      panel.hidden = false;
    }
    box.addEventListener("input", run);
    var given = new URLSearchParams(location.search).get("q");
    if (given) {
      box.value = given;
      run();
    }
  }

  function start() {
    setupSearch();
    window.addEventListener("hashchange", onHash);
    if (location.hash) onHash();
    renderAll();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
