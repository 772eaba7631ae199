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
        var result = await window.mermaid.render(id, source);
        var holder = document.createElement("div");
        holder.className = "diagram-svg";
        holder.innerHTML = result.svg; // sanitized by mermaid (securityLevel strict)
        box.querySelector(".diagram-out").replaceChildren(holder);
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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", renderAll);
  } else {
    renderAll();
  }
})();
