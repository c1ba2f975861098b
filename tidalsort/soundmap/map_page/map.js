// tidalsort sound map: one canvas, every sample a dot. Plain JavaScript, no network.
// Data comes from window.TIDALSORT_MAP, set by the <bank>-map.js file written beside the page
// (a <script>, because pages opened from disk may not fetch files).
(function () {
  "use strict";
  const D = window.TIDALSORT_MAP;
  const $ = (id) => document.getElementById(id);
  if (!D) {
    $("details").textContent = "The map's data file is missing: run tidalsort map again.";
    return;
  }
  const N = D.size;
  const VOICES = 8; // sounds playing at once, at most; the oldest is faded out for a new one
  const FADE_IN = 0.003; // seconds
  const FADE_OUT = 0.04; // seconds
  const HOVER_PX = 12; // how near the pointer a dot must be to play
  const canvas = $("map");
  const g = canvas.getContext("2d");

  // ---- groups (colours, legend) -------------------------------------------------------------
  const groupings = { cluster: { names: D.clusterNames, colours: D.clusterColours, of: D.cluster } };
  if (D.family) groupings.family = { names: D.families, colours: D.familyColours, of: D.family };
  const hidden = { cluster: new Set(), family: new Set() };
  let mode = D.family ? "family" : "cluster";

  // ---- view ---------------------------------------------------------------------------------
  const view = { zoom: 1, cx: 0.5, cy: 0.5, width: 0, height: 0, ratio: 1 };
  const base = () => Math.min(view.width, view.height) * 0.94;
  const toScreen = (i) => [(D.x[i] - view.cx) * base() * view.zoom + view.width / 2, (view.cy - D.y[i]) * base() * view.zoom + view.height / 2];
  const toWorld = (sx, sy) => [(sx - view.width / 2) / (base() * view.zoom) + view.cx, view.cy - (sy - view.height / 2) / (base() * view.zoom)];

  // ---- state exposed for tests and curious users -------------------------------------------
  const api = (window.tidalsortMap = {
    size: N, drawn: 0, highlighted: 0, drawMs: 0, frames: 0, played: [], copied: null, selected: -1,
    screenOf: (i) => { const [x, y] = toScreen(i); const r = canvas.getBoundingClientRect(); return [x + r.left, y + r.top]; },
    voices: () => voices.map((v) => ({ n: v.i, src: v.el.currentSrc, paused: v.el.paused, time: v.el.currentTime })),
    level: () => player.level(),
    engine: () => player.engine,
  });

  // ---- search ---------------------------------------------------------------------------------
  const names = D.file.map((f, i) => (D.folders[D.folder[i]] + ":" + D.n[i] + " " + f + " " + D.source[i]).toLowerCase());
  let matches = null; // Uint8Array of matching samples, or null when the search box is empty

  function search(text) {
    const words = text.toLowerCase().split(/\s+/).filter(Boolean);
    matches = words.length ? Uint8Array.from(names, (name) => (words.every((w) => name.includes(w)) ? 1 : 0)) : null;
    const count = matches ? matches.reduce((a, b) => a + b, 0) : 0;
    $("found").textContent = matches ? count + " found" : "";
    redraw();
  }

  const visible = (i) => !hidden[mode].has(groupings[mode].of[i]);

  // ---- drawing --------------------------------------------------------------------------------
  let pending = false;
  function redraw() {
    if (!pending) { pending = true; requestAnimationFrame(draw); }
  }

  function draw() {
    pending = false;
    const t0 = performance.now();
    g.setTransform(view.ratio, 0, 0, view.ratio, 0, 0);
    g.clearRect(0, 0, view.width, view.height);
    const grouping = groupings[mode];
    const r = Math.max(1.5, Math.min(6, 2.2 * Math.sqrt(view.zoom) * Math.sqrt(2000 / Math.max(N, 200))));
    if ($("path").checked) {
      g.beginPath();
      let open = false;
      for (let i = 0; i < N; i++) {
        if (!visible(i)) { open = false; continue; }
        const [x, y] = toScreen(i);
        if (open) g.lineTo(x, y); else g.moveTo(x, y);
        open = true;
      }
      g.lineWidth = 0.6;
      g.strokeStyle = N > 2000 ? "rgba(0,0,0,0.12)" : "rgba(0,0,0,0.25)";
      g.stroke();
    }
    let drawn = 0;
    let highlighted = 0;
    const lit = [];
    for (let group = 0; group < grouping.names.length; group++) {
      if (hidden[mode].has(group)) continue;
      g.fillStyle = grouping.colours[group];
      g.globalAlpha = matches ? 0.18 : 0.9;
      g.beginPath();
      for (const i of members[mode][group]) {
        const [x, y] = toScreen(i);
        if (x < -r || y < -r || x > view.width + r || y > view.height + r) continue;
        drawn++;
        if (matches && matches[i]) { lit.push(i); continue; }
        g.moveTo(x + r, y);
        g.arc(x, y, r, 0, 2 * Math.PI);
      }
      g.fill();
    }
    g.globalAlpha = 1;
    g.lineWidth = 1.5;
    g.strokeStyle = "#000";
    for (const i of lit) {
      const [x, y] = toScreen(i);
      g.beginPath();
      g.arc(x, y, r + 2, 0, 2 * Math.PI);
      g.fillStyle = grouping.colours[grouping.of[i]];
      g.fill();
      g.stroke();
      highlighted++;
    }
    for (const [i, colour] of [[hover, "#555"], [api.selected, "#000"]]) {
      if (i < 0 || !visible(i)) continue;
      const [x, y] = toScreen(i);
      g.beginPath();
      g.arc(x, y, r + 5, 0, 2 * Math.PI);
      g.lineWidth = 2;
      g.strokeStyle = colour;
      g.stroke();
    }
    api.drawn = drawn;
    api.highlighted = highlighted;
    api.drawMs = performance.now() - t0;
    api.frames++;
    document.body.dataset.drawn = String(drawn);
  }

  function resize() {
    const box = canvas.getBoundingClientRect();
    view.ratio = window.devicePixelRatio || 1;
    view.width = box.width;
    view.height = box.height;
    canvas.width = Math.round(box.width * view.ratio);
    canvas.height = Math.round(box.height * view.ratio);
    redraw();
  }

  // members[mode][group]: the samples of each group, in bank order
  const members = {};
  for (const [m, grouping] of Object.entries(groupings)) {
    members[m] = grouping.names.map(() => []);
    grouping.of.forEach((group, i) => members[m][group].push(i));
  }

  // ---- nearest dot under the pointer: a grid of cells over the unit square --------------------
  const CELLS = Math.max(1, Math.ceil(Math.sqrt(N / 4)));
  const cells = Array.from({ length: CELLS * CELLS }, () => []);
  const cellOf = (v) => Math.min(CELLS - 1, Math.max(0, Math.floor(v * CELLS)));
  for (let i = 0; i < N; i++) cells[cellOf(D.y[i]) * CELLS + cellOf(D.x[i])].push(i);

  function nearest(sx, sy) {
    const [wx, wy] = toWorld(sx, sy);
    const reach = HOVER_PX / (base() * view.zoom);
    let best = -1;
    let bestD = reach * reach;
    for (let cy = cellOf(wy - reach); cy <= cellOf(wy + reach); cy++) {
      for (let cx = cellOf(wx - reach); cx <= cellOf(wx + reach); cx++) {
        for (const i of cells[cy * CELLS + cx]) {
          const d = (D.x[i] - wx) ** 2 + (D.y[i] - wy) ** 2;
          if (d < bestD && visible(i)) { best = i; bestD = d; }
        }
      }
    }
    return best;
  }

  // ---- sound ------------------------------------------------------------------------------------
  // Over http(s) every voice goes through WebAudio (an <audio> element as a
  // MediaElementSource, then a gain for the fades). From file:// Chromium hands WebAudio
  // only zeros for local files (they count as another origin), so there the <audio>
  // elements play directly and fades step their volume.
  const voices = [];
  const player = {
    ctx: null, master: null, meter: null,
    engine: /^https?:$/.test(location.protocol) && window.AudioContext ? "webaudio" : "element",
    on: false,
    unlock() {
      if (this.on) return;
      this.on = true;
      if (this.engine === "webaudio") {
        this.ctx = new AudioContext();
        this.master = this.ctx.createGain();
        this.meter = this.ctx.createAnalyser();
        this.master.connect(this.meter);
        this.meter.connect(this.ctx.destination);
        this.ctx.resume();
      }
      $("sound").textContent = "sound on: hover a dot";
      $("sound").classList.add("on");
    },
    level() {
      if (!this.meter) return null;
      const data = new Float32Array(this.meter.fftSize);
      this.meter.getFloatTimeDomainData(data);
      return data.reduce((a, b) => Math.max(a, Math.abs(b)), 0);
    },
    play(i) {
      if (!this.on) return;
      while (voices.length >= VOICES) this.stop(voices.shift());
      const el = new Audio(D.audio[i]);
      const voice = { i, el, gain: null };
      if (this.ctx) {
        voice.gain = this.ctx.createGain();
        this.ctx.createMediaElementSource(el).connect(voice.gain);
        voice.gain.connect(this.master);
        const now = this.ctx.currentTime;
        voice.gain.gain.setValueAtTime(0, now);
        voice.gain.gain.linearRampToValueAtTime(1, now + FADE_IN);
      }
      el.addEventListener("ended", () => { const k = voices.indexOf(voice); if (k >= 0) voices.splice(k, 1); });
      el.play().catch((error) => { const k = voices.indexOf(voice); if (k >= 0) voices.splice(k, 1); toast("cannot play " + D.file[i] + ": " + error.message); });
      voices.push(voice);
      api.played.push({ n: D.n[i], folder: D.folders[D.folder[i]], src: D.audio[i], at: performance.now() });
    },
    stop(voice) {
      if (voice.gain) {
        const now = this.ctx.currentTime;
        voice.gain.gain.cancelScheduledValues(now);
        voice.gain.gain.setValueAtTime(voice.gain.gain.value, now);
        voice.gain.gain.linearRampToValueAtTime(0, now + FADE_OUT);
        setTimeout(() => voice.el.pause(), FADE_OUT * 1000 + 20);
        return;
      }
      const steps = 4;
      let step = 0;
      const timer = setInterval(() => {
        step++;
        voice.el.volume = Math.max(0, 1 - step / steps);
        if (step >= steps) { clearInterval(timer); voice.el.pause(); }
      }, (FADE_OUT * 1000) / steps);
    },
  };

  // ---- details, copying -------------------------------------------------------------------------
  const ref = (i) => D.folders[D.folder[i]] + ":" + D.n[i];
  const tidalLine = (i) => 'd1 $ s "' + D.folders[D.folder[i]] + '" # n ' + D.n[i];
  const strudelLine = (i) => 's("' + D.folders[D.folder[i]] + '").n(' + D.n[i] + ")";

  function details(i) {
    const box = $("details");
    box.replaceChildren();
    if (i < 0) return;
    const list = document.createElement("dl");
    const rows = [["sample", ref(i)]];
    if (D.family) rows.push(["family", D.families[D.family[i]]]);
    if (D.confidence) rows.push(["confidence", D.confidence[i] == null ? "?" : D.confidence[i].toFixed(2)]);
    if (D.familyFrom && D.familyFrom[i]) {
      const heard = D.audioFamily[i] && D.audioFamily[i] !== D.families[D.family[i]] ? ` (the audio hears ${D.audioFamily[i]})` : "";
      rows.push(["decided by", D.familyFrom[i] + heard]);
    }
    rows.push(["cluster", D.clusterNames[D.cluster[i]]], ["duration", D.duration[i].toFixed(3) + " s"], ["file", D.file[i]], ["source", D.source[i]]);
    for (const [key, value] of rows) {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = key;
      dd.textContent = value;
      list.append(dt, dd);
    }
    box.append(list);
    for (const [label, line] of [["Tidal", tidalLine(i)], ["Strudel", strudelLine(i)]]) {
      const code = document.createElement("code");
      code.textContent = line;
      const button = document.createElement("button");
      button.textContent = "copy " + label;
      button.addEventListener("click", () => copy(line));
      box.append(code, button);
    }
  }

  let toastTimer = 0;
  function toast(text) {
    const t = $("toast");
    t.textContent = text;
    t.classList.add("show");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => t.classList.remove("show"), 1800);
  }

  function copy(text) {
    api.copied = text;
    const fallback = () => {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).catch(fallback);
    else fallback();
    toast("copied: " + text);
  }

  function select(i, play) {
    api.selected = i;
    details(i);
    if (i >= 0 && play) player.play(i);
    redraw();
  }

  // ---- legend -----------------------------------------------------------------------------------
  function legend() {
    const box = $("legend");
    box.replaceChildren();
    const grouping = groupings[mode];
    grouping.names.forEach((name, group) => {
      const button = document.createElement("button");
      button.dataset.group = String(group);
      button.className = hidden[mode].has(group) ? "off" : "";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = grouping.colours[group];
      const label = document.createElement("span");
      label.textContent = name;
      const count = document.createElement("span");
      count.className = "count";
      count.textContent = String(members[mode][group].length);
      button.append(swatch, label, count);
      button.addEventListener("click", () => {
        if (hidden[mode].has(group)) hidden[mode].delete(group); else hidden[mode].add(group);
        legend();
        redraw();
      });
      button.addEventListener("dblclick", () => {
        hidden[mode] = new Set(grouping.names.map((_, k) => k).filter((k) => k !== group));
        legend();
        redraw();
      });
      box.append(button);
    });
  }

  // ---- input --------------------------------------------------------------------------------------
  let hover = -1;
  let drag = null;
  canvas.addEventListener("pointerdown", (e) => {
    player.unlock();
    canvas.focus();
    drag = { x: e.clientX, y: e.clientY, cx: view.cx, cy: view.cy, moved: false };
    canvas.setPointerCapture(e.pointerId);
  });
  canvas.addEventListener("pointermove", (e) => {
    const box = canvas.getBoundingClientRect();
    if (drag) {
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; canvas.classList.add("dragging"); }
      if (drag.moved) {
        view.cx = drag.cx - dx / (base() * view.zoom);
        view.cy = drag.cy + dy / (base() * view.zoom);
        redraw();
        return;
      }
    }
    const i = nearest(e.clientX - box.left, e.clientY - box.top);
    if (i !== hover) {
      hover = i;
      if (i >= 0) { player.play(i); details(i); }
      else details(api.selected);
      redraw();
    }
  });
  canvas.addEventListener("pointerup", (e) => {
    const click = drag && !drag.moved;
    drag = null;
    canvas.classList.remove("dragging");
    if (!click) return;
    const box = canvas.getBoundingClientRect();
    const i = nearest(e.clientX - box.left, e.clientY - box.top);
    if (i >= 0) {
      select(i, i !== hover);
      copy($("copy-as").value === "strudel" ? strudelLine(i) : tidalLine(i));
    }
  });
  canvas.addEventListener("pointerleave", () => { hover = -1; details(api.selected); redraw(); });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const box = canvas.getBoundingClientRect();
    zoomAt(e.clientX - box.left, e.clientY - box.top, Math.exp(-e.deltaY * 0.0015));
  }, { passive: false });

  function zoomAt(sx, sy, factor) {
    const [wx, wy] = toWorld(sx, sy);
    view.zoom = Math.min(400, Math.max(0.5, view.zoom * factor));
    const [nx, ny] = toWorld(sx, sy);
    view.cx += wx - nx;
    view.cy += wy - ny;
    redraw();
  }

  function walk(step) {
    let i = api.selected < 0 ? (step > 0 ? -1 : N) : api.selected;
    do { i += step; } while (i >= 0 && i < N && !visible(i));
    if (i < 0 || i >= N) return;
    select(i, true);
    const [x, y] = toScreen(i);
    if (x < 20 || y < 20 || x > view.width - 20 || y > view.height - 20) { view.cx = D.x[i]; view.cy = D.y[i]; }
  }

  document.addEventListener("keydown", (e) => {
    if (e.target === $("search")) {
      if (e.key === "Escape") { $("search").value = ""; search(""); canvas.focus(); }
      return;
    }
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    const keys = {
      ArrowRight: () => walk(1), ArrowDown: () => walk(1), ArrowLeft: () => walk(-1), ArrowUp: () => walk(-1),
      "+": () => zoomAt(view.width / 2, view.height / 2, 1.25), "=": () => zoomAt(view.width / 2, view.height / 2, 1.25),
      "-": () => zoomAt(view.width / 2, view.height / 2, 0.8),
      "0": () => { view.zoom = 1; view.cx = 0.5; view.cy = 0.5; redraw(); },
      "/": () => $("search").focus(),
      Enter: () => api.selected >= 0 && copy($("copy-as").value === "strudel" ? strudelLine(api.selected) : tidalLine(api.selected)),
      Escape: () => { $("search").value = ""; search(""); select(-1, false); },
    };
    if (keys[e.key]) { player.unlock(); e.preventDefault(); keys[e.key](); }
  });
  $("search").addEventListener("input", (e) => search(e.target.value));
  $("path").addEventListener("change", redraw);
  $("mode").addEventListener("change", (e) => { mode = e.target.value; legend(); redraw(); });
  window.addEventListener("resize", resize);

  if (D.family) { $("mode-box").hidden = false; $("mode").value = mode; }
  legend();
  resize();
})();
