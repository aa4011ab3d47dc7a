// deepdreamport atlas: search, sorting, recipe choice and keyboard navigation. No dependencies.
(function () {
  "use strict";
  var root = document.body.dataset.root || "";
  var layers = window.ATLAS_LAYERS || [];

  // "7", "1-8" (or "1:8") and comma-separated mixes: a unit selection; anything else: a layer name.
  function unitSpec(text) {
    var parts = text.split(",").map(function (p) { return p.trim(); }).filter(Boolean);
    if (!parts.length || !parts.every(function (p) { return /^\d+(\s*[-:]\s*\d+)?$/.test(p); })) { return null; }
    return parts.map(function (p) {
      var r = p.split(/[-:]/).map(Number);
      return r.length === 2 ? [r[0], r[1]] : [r[0], r[0]];
    });
  }
  function inSpec(spec, unit) { return spec.some(function (r) { return unit >= r[0] && unit <= r[1]; }); }

  // A layer name with an optional unit: "conv2", "conv2 4", "conv2:4".
  function layerMatches(text) {
    var match = /^(.*?)(?:[\s:]+(\d+))?$/.exec(text.trim());
    var name = (match[1] || text).toLowerCase(), unit = match[2] ? Number(match[2]) : null;
    var found = layers.filter(function (l) { return l.name.toLowerCase().indexOf(name) >= 0; });
    if (!found.length && unit === null) {
      found = layers.filter(function (l) { return l.name.toLowerCase().indexOf(text.toLowerCase()) >= 0; });
    }
    return found.slice(0, 20).map(function (l) {
      var ok = unit !== null && unit >= 1 && unit <= l.channels && l.units.indexOf(unit) >= 0;
      return ok ? { text: l.name + " unit " + unit, href: root + "units/" + l.slug + "/unit_" + ("000" + unit).slice(-4) + ".html" }
                : { text: l.name + " (" + l.type + ")", href: root + "layers/" + l.slug + ".html" };
    });
  }

  function showResults(items) {
    var list = document.getElementById("search-results");
    if (!list) { return; }
    list.innerHTML = "";
    items.forEach(function (item) {
      var li = document.createElement("li"), a = document.createElement("a");
      a.href = item.href; a.textContent = item.text; li.appendChild(a); list.appendChild(li);
    });
  }

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("#units .card")); }

  function applyFilter(text) {
    text = text.trim();
    var spec = unitSpec(text), units = document.getElementById("units"), shown = 0;
    if (units) {
      cards().forEach(function (card) {
        var visible = text === "" || spec === null || inSpec(spec, Number(card.dataset.unit));
        card.style.display = visible ? "" : "none";
        shown += visible ? 1 : 0;
      });
      var counter = document.getElementById("shown");
      if (counter) { counter.textContent = shown; }
    }
    showResults(text !== "" && spec === null ? layerMatches(text) : []);
  }

  var filter = document.getElementById("filter");
  if (filter) {
    filter.addEventListener("input", function () { applyFilter(filter.value); });
    filter.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        var first = document.querySelector("#search-results a");
        if (first) { window.location.href = first.href; }
      }
    });
  }

  function sortCards(key) {
    var grid = document.getElementById("units");
    if (!grid) { return; }
    var recipe = document.body.dataset.recipe || "";
    var value = function (card) {
      if (key === "unit") { return Number(card.dataset.unit); }
      var raw = key === "examples" ? card.dataset.example : card.getAttribute("data-act-" + recipe);
      var number = raw === undefined || raw === null || raw === "" ? NaN : Number(raw);
      return isNaN(number) ? Infinity : -number;  // strongest first, unknown last
    };
    cards().sort(function (a, b) { return value(a) - value(b) || Number(a.dataset.unit) - Number(b.dataset.unit); })
      .forEach(function (card) { grid.appendChild(card); });
  }
  var sorter = document.getElementById("sort");
  if (sorter) { sorter.addEventListener("change", function () { sortCards(sorter.value); }); }

  function chooseRecipe(name) {
    document.body.dataset.recipe = name;
    document.querySelectorAll(".card .r").forEach(function (el) { el.classList.toggle("shown", el.dataset.recipe === name); });
    if (sorter && sorter.value === "activation") { sortCards("activation"); }
  }
  var recipeChoice = document.getElementById("recipe-choice");
  if (recipeChoice) {
    recipeChoice.addEventListener("change", function () { chooseRecipe(recipeChoice.value); });
    chooseRecipe(recipeChoice.value);
  }

  function visibleCards() { return cards().filter(function (c) { return c.style.display !== "none"; }); }
  function moveInGrid(key) {
    var list = visibleCards();
    if (!list.length) { return false; }
    var active = document.activeElement, index = list.findIndex(function (c) { return c.contains(active); });
    if (index < 0) { list[0].querySelector("a").focus(); return true; }
    var columns = list.filter(function (c) { return c.offsetTop === list[0].offsetTop; }).length || 1;
    var step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns }[key];
    var next = Math.max(0, Math.min(list.length - 1, index + step));
    list[next].querySelector("a").focus();
    return true;
  }
  function moveInRows(key) {
    var rows = Array.prototype.slice.call(document.querySelectorAll("#layers tbody tr")).filter(function (r) {
      return r.style.display !== "none";
    });
    if (!rows.length) { return false; }
    var index = rows.findIndex(function (r) { return r.classList.contains("focus"); });
    rows.forEach(function (r) { r.classList.remove("focus"); });
    var next = index < 0 ? 0 : Math.max(0, Math.min(rows.length - 1, index + (key === "ArrowDown" ? 1 : -1)));
    rows[next].classList.add("focus");
    var link = rows[next].querySelector("a");
    if (link) { link.focus(); } else { rows[next].scrollIntoView({ block: "nearest" }); }
    return true;
  }
  function follow(rel) {
    var link = document.querySelector("link[rel=" + rel + "], a[rel=" + rel + "]");
    if (link) { window.location.href = link.href; return true; }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
    if (typing) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    var handled = false;
    if (event.key === "/") { var box = document.getElementById("filter"); if (box) { box.focus(); handled = true; } }
    else if (document.getElementById("units") && /^Arrow/.test(event.key)) { handled = moveInGrid(event.key); }
    else if (document.getElementById("layers") && (event.key === "ArrowDown" || event.key === "ArrowUp")) { handled = moveInRows(event.key); }
    else if (event.key === "ArrowLeft" || event.key === "p") { handled = follow("prev"); }
    else if (event.key === "ArrowRight" || event.key === "n") { handled = follow("next"); }
    else if (event.key === "u") { handled = follow("up"); }
    else if (event.key === "[") { handled = follow("prev-layer"); }
    else if (event.key === "]") { handled = follow("next-layer"); }
    if (handled) { event.preventDefault(); }
  });

  var copy = document.querySelectorAll("button.copy");
  Array.prototype.forEach.call(copy, function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.target).textContent;
      if (navigator.clipboard) { navigator.clipboard.writeText(text).catch(function () {}); }
    });
  });
}());
