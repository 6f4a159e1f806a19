// Draws a module's dependency graph (the page's #graph[data-graph], the
// Cytoscape elements of modules.GraphOf) with the vendored Cytoscape.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("graph");
    if (!el || typeof cytoscape !== "function") {
      return;
    }
    // Cytoscape adds a <style> element unless one with this id exists; the
    // Content-Security-Policy forbids inline styles, and cairn.css holds the
    // one rule it would add.
    if (!document.getElementById("__________cytoscape_stylesheet")) {
      var marker = document.createElement("meta");
      marker.id = "__________cytoscape_stylesheet";
      document.head.appendChild(marker);
    }
    var data = JSON.parse(el.dataset.graph || "{}");
    var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    var fg = dark ? "#e6edf3" : "#1f2328";
    // Drawn as a tree: each module links to its resources and the modules
    // it calls (compound boxes overlap in every built-in layout).
    var nodes = data.nodes || [];
    var elements = nodes.map(function (n) {
      var d = { id: n.data.id, label: n.data.label, type: n.data.type };
      return { group: "nodes", data: d };
    });
    nodes.forEach(function (n) {
      if (n.data.parent) {
        elements.push({ group: "edges", data: { id: "contains:" + n.data.id, source: n.data.parent, target: n.data.id } });
      }
    });
    // Calls of the root module's own modules arrive as call → root
    // (Terrareg's shape); every edge is drawn caller → callee.
    (data.edges || []).forEach(function (e) {
      var from = e.data.source, to = e.data.target;
      if (to === "root") {
        from = e.data.target;
        to = e.data.source;
      }
      elements.push({ group: "edges", data: { id: e.data.id, source: from, target: to } });
    });
    var roots = nodes.some(function (n) { return n.data.id === "root"; }) ? "#root" : undefined;
    cytoscape({
      container: el,
      elements: elements,
      wheelSensitivity: 0.3,
      maxZoom: 1.5,
      style: [
        { selector: "node", style: { "label": "data(label)", "color": fg, "font-size": 11, "text-valign": "center",
          "text-halign": "center", "text-wrap": "wrap", "text-max-width": 160, "shape": "round-rectangle",
          "width": "label", "height": "label", "padding": 8, "background-color": dark ? "#1f6feb" : "#ddf4ff",
          "border-width": 1, "border-color": dark ? "#388bfd" : "#54aeff" } },
        { selector: "node[type = 'data']", style: { "background-color": dark ? "#3b2e06" : "#fff8c5",
          "border-color": dark ? "#e3b341" : "#d4a72c" } },
        { selector: "node[type = 'module']", style: { "background-color": dark ? "#12301f" : "#e8f3ec",
          "border-color": dark ? "#58b58a" : "#2f6f4f", "font-weight": "bold" } },
        { selector: "edge", style: { "width": 1.5, "line-color": dark ? "#6e7681" : "#8c959f", "curve-style": "bezier",
          "target-arrow-shape": "triangle", "target-arrow-color": dark ? "#6e7681" : "#8c959f" } }
      ],
      layout: { name: "breadthfirst", directed: true, roots: roots, padding: 30,
        spacingFactor: 1.1, nodeDimensionsIncludeLabels: true, animate: false }
    });
    el.dataset.drawn = "true";
  });
})();
