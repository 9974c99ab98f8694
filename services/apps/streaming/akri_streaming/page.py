"""The page: plain HTML and a little JavaScript, no build step.

Every half second it reads ``/camera_list`` and makes the tiles match: a tile (an ``<img>`` on
``/camera_frame_feed/<key>``, the camera and its nodes under it) appears for a new camera and
goes when the camera goes; a feed restarted for the same key (a new ``generation``) gets a new
stream. Names are set as text, never as HTML (cameras name themselves).
"""

from __future__ import annotations

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Akri cameras</title>
<style>
  body { font-family: sans-serif; margin: 1em; background: #f4f4f4; }
  h1 { font-size: 1.3em; }
  #tiles { display: flex; flex-wrap: wrap; gap: 12px; }
  figure.tile { margin: 0; padding: 6px; background: #fff; border: 1px solid #ccc; width: 320px; }
  figure.tile img { width: 320px; height: 240px; object-fit: contain; background: #222; display: block; }
  figcaption { font-size: 0.9em; padding-top: 4px; }
  .camera { font-weight: bold; display: block; overflow-wrap: anywhere; }
  .label, .nodes, .status { color: #555; display: block; overflow-wrap: anywhere; }
  #empty { color: #555; }
</style>
</head>
<body>
<h1>Akri cameras <span id="summary"></span></h1>
<p id="empty">No camera yet.</p>
<div id="tiles"></div>
<script>
"use strict";
const grid = document.getElementById("tiles");
const tiles = new Map();

function makeTile(cam) {
  const tile = document.createElement("figure");
  tile.className = "tile";
  tile.dataset.key = cam.key;
  tile.dataset.generation = String(cam.generation);
  const img = document.createElement("img");
  img.alt = cam.key;
  img.src = "/camera_frame_feed/" + encodeURIComponent(cam.key) + "?g=" + cam.generation;
  const caption = document.createElement("figcaption");
  for (const name of ["camera", "label", "nodes", "status"]) {
    const span = document.createElement("span");
    span.className = name;
    caption.appendChild(span);
  }
  tile.append(img, caption);
  tiles.set(cam.key, tile);
  return tile;
}

function dropTile(tile) {
  const img = tile.querySelector("img");
  img.removeAttribute("src");  // ends the stream
  tile.remove();
  tiles.delete(tile.dataset.key);
}

function show(list) {
  const seen = new Set();
  let previous = null;
  for (const cam of list.cameras) {
    seen.add(cam.key);
    let tile = tiles.get(cam.key);
    if (tile && tile.dataset.generation !== String(cam.generation)) {
      dropTile(tile);
      tile = undefined;
    }
    if (!tile) tile = makeTile(cam);
    tile.querySelector(".camera").textContent = cam.camera;
    tile.querySelector(".label").textContent = cam.camera.includes(cam.label) ? "" : cam.label;
    tile.querySelector(".nodes").textContent = cam.nodes.length ? "node " + cam.nodes.join(", ") : "";
    tile.querySelector(".status").textContent = cam.status;
    const want = previous ? previous.nextSibling : grid.firstChild;
    if (want !== tile) grid.insertBefore(tile, want);
    previous = tile;
  }
  for (const [key, tile] of Array.from(tiles)) if (!seen.has(key)) dropTile(tile);
  document.getElementById("empty").hidden = list.cameras.length > 0;
  document.getElementById("summary").textContent = "(" + list.cameras.length + ")";
}

async function refresh() {
  try {
    const response = await fetch("/camera_list", {cache: "no-store"});
    if (response.ok) show(await response.json());
  } catch (err) {
    document.getElementById("summary").textContent = "(app unreachable)";
  } finally {
    setTimeout(refresh, 500);
  }
}
refresh();
</script>
</body>
</html>
"""
