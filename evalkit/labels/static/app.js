// evalkit label: one frame at a time (G / N / S, arrows, U) or a grid of thumbnails.
"use strict";

(() => {
  const { $, send, api, frameUrl, status, isTyping } = EK;
  const TILE = 150, GAP = 10; // px: smallest tile width in the grid, and the gap (app.css)
  const NAMES = { goal: "goal", not_goal: "not goal", skip: "skipped" };

  const S = {
    s: null,             // the session (from /api/session)
    labels: new Map(),   // frame id -> "goal" | "not_goal" | "skip" (this labeller, this task)
    posOf: new Map(),    // frame id -> index in s.order
    pos: 0,              // index in s.order of the frame shown (single view)
    view: "single",
    onlyUnlabelled: false,
    disagree: false,
    gridStart: 0,        // index in s.order where the grid page starts
    gridPage: [],        // frame ids on the grid page
    gridHistory: [],     // previous page starts (for ←)
    selected: new Set(), // frame ids selected on the grid page
    pending: 0,
  };

  // -- filters and navigation ------------------------------------------------------------------

  function visible(fid) {
    const lab = S.labels.get(fid);
    if (S.onlyUnlabelled && lab !== undefined) return false;
    if (S.disagree) {
      if (!S.s.rule || (lab !== "goal" && lab !== "not_goal")) return false;
      return (lab === "goal") !== (S.s.rule[fid] === 1);
    }
    return true;
  }

  // Index of the first visible frame at or after `from` going `dir` (+1 / -1), or -1.
  function seek(from, dir) {
    const order = S.s.order;
    for (let i = from; i >= 0 && i < order.length; i += dir) {
      if (visible(order[i])) return i;
    }
    return -1;
  }

  function countVisible() {
    let n = 0;
    for (const f of S.s.order) if (visible(f)) n++;
    return n;
  }

  // -- rendering -----------------------------------------------------------------------------

  function renderProgress(p) {
    const t = Math.max(1, p.total);
    $("#bar-goal").style.width = (100 * p.goal) / t + "%";
    $("#bar-not").style.width = (100 * p.not_goal) / t + "%";
    $("#bar-skip").style.width = (100 * p.skip) / t + "%";
    $("#progress-text").innerHTML =
      `<b>${p.labelled}</b> / ${p.total} labelled · <span class="c-goal">${p.goal} goal</span>` +
      (p.skip ? ` · <span class="c-skip">${p.skip} skipped</span>` : "") +
      (S.pending ? ` · <span class="c-pending">saving…</span>` : "");
    S.progress = p;
  }

  function localProgress() {
    const p = { total: S.s.n_frames, goal: 0, not_goal: 0, skip: 0 };
    for (const v of S.labels.values()) p[v]++;
    p.labelled = p.goal + p.not_goal;
    return p;
  }

  function labelBadge(el, lab) {
    el.className = "badge " + (lab ? lab : "hidden");
    el.textContent = lab ? NAMES[lab] : "";
  }

  function currentFrame() {
    return S.pos >= 0 && S.pos < S.s.order.length ? S.s.order[S.pos] : null;
  }

  function renderSingle() {
    const fid = currentFrame();
    const shown = fid !== null && S.pos >= 0;
    $("#done").classList.toggle("hidden", shown);
    $("#frame").classList.toggle("hidden", !shown);
    if (!shown) {
      labelBadge($("#frame-badge"), null);
      $("#position").textContent = `– / ${countVisible()}`;
      return;
    }
    const img = $("#frame");
    const url = frameUrl(fid);
    if (img.dataset.fid !== String(fid)) {
      img.src = url;
      img.dataset.fid = String(fid);
    }
    const lab = S.labels.get(fid);
    labelBadge($("#frame-badge"), lab);
    for (const b of document.querySelectorAll("button.lbl")) b.classList.toggle("chosen", b.dataset.label === lab);
    $("#info-frame").textContent = `#${fid}`;
    $("#info-episode").textContent = `${S.s.episode[fid]} · ${S.s.step[fid]}`;
    $("#info-rule").innerHTML = S.s.rule
      ? (S.s.rule[fid] ? '<span class="c-goal">goal</span>' : '<span class="c-not">not goal</span>')
      : '<span class="muted">none for this task</span>';
    $("#info-label").innerHTML = lab ? `<span class="c-${lab}">${NAMES[lab]}</span>` : '<span class="muted">unlabelled</span>';
    $("#position").textContent = `${S.pos + 1} / ${S.s.order.length}`;
    // Preload the next frames so that labelling never waits for an image.
    let j = S.pos;
    for (let k = 0; k < 4; k++) {
      j = seek(j + 1, 1);
      if (j < 0) break;
      new Image().src = frameUrl(S.s.order[j]);
    }
  }

  // As many tiles as fit the grid area without scrolling (at least 8).
  function gridSize() {
    const g = $("#grid");
    const w = g.clientWidth - 36, h = g.clientHeight - 36; // minus the padding
    const cols = Math.max(2, Math.floor((w + GAP) / (TILE + GAP)));
    const tileH = ((w - (cols - 1) * GAP) / cols) * S.aspect;
    const rows = Math.max(2, Math.floor((h + GAP) / (tileH + GAP)));
    return Math.max(8, cols * rows);
  }

  function buildGridPage(start) {
    S.gridStart = start;
    S.gridPage = [];
    let i = seek(start, 1);
    const size = gridSize();
    while (i >= 0 && S.gridPage.length < size) {
      S.gridPage.push(S.s.order[i]);
      i = seek(i + 1, 1);
    }
    S.gridNext = i;
    S.selected = new Set(S.gridPage.filter((f) => S.labels.get(f) === "goal"));
  }

  function renderGrid() {
    const tiles = $("#tiles");
    tiles.innerHTML = "";
    if (!S.gridPage.length) {
      tiles.innerHTML = '<div class="done"><div class="big">✓</div><div>No more frames in this view.</div></div>';
    }
    for (const fid of S.gridPage) {
      const t = document.createElement("div");
      const lab = S.labels.get(fid);
      t.className = "tile" + (S.selected.has(fid) ? " selected" : "") + (lab ? " has-" + lab : "");
      t.dataset.fid = fid;
      t.innerHTML =
        `<img src="${frameUrl(fid, "thumb")}" alt="frame ${fid}" draggable="false">` +
        `<span class="tile-id">#${fid}</span>` +
        (lab ? `<span class="tile-label ${lab}">${NAMES[lab]}</span>` : "") +
        `<span class="tick">✓</span>`;
      t.addEventListener("click", () => toggleTile(fid));
      t.addEventListener("dblclick", () => { S.pos = S.posOf.get(fid); setView("single"); });
      tiles.appendChild(t);
    }
    $("#grid-position").textContent = `page ${S.gridHistory.length + 1} · ${S.selected.size} selected`;
  }

  function toggleTile(fid) {
    if (S.selected.has(fid)) S.selected.delete(fid); else S.selected.add(fid);
    renderGrid();
  }

  function showView() {
    $("#single").classList.toggle("hidden", S.view !== "single");
    $("#grid").classList.toggle("hidden", S.view !== "grid");
    $("#single-controls").classList.toggle("hidden", S.view !== "single");
    $("#grid-controls").classList.toggle("hidden", S.view !== "grid");
    $("#view-single").classList.toggle("on", S.view === "single");
    $("#view-grid").classList.toggle("on", S.view === "grid");
  }

  function render() {
    showView();
    if (S.view === "single") renderSingle(); else renderGrid();
  }

  // -- actions -------------------------------------------------------------------------------

  function afterSave(res, what) {
    S.pending--;
    renderProgress(res.data.progress);
    status(`${what} · saved in ${res.ms.toFixed(0)} ms`, "ok");
  }

  function failed(err, revert) {
    S.pending--;
    revert();
    renderProgress(localProgress());
    render();
    status(`Not saved: ${err.message}`, "error");
  }

  function label(lab) {
    const fid = currentFrame();
    if (fid === null || S.pos < 0) return;
    const before = S.labels.get(fid);
    S.labels.set(fid, lab);
    S.pending++;
    renderProgress(localProgress());
    send("/api/label", { frame_id: fid, label: lab }).then(
      (res) => afterSave(res, `#${fid} ${NAMES[lab]}`),
      (err) => failed(err, () => { if (before === undefined) S.labels.delete(fid); else S.labels.set(fid, before); }),
    );
    // On to the next frame of the view (the just-labelled one may have left it).
    const next = seek(S.pos + 1, 1);
    S.pos = next;
    renderSingle();
  }

  function move(dir) {
    if (S.view === "grid") return gridMove(dir);
    const from = S.pos < 0 ? (dir > 0 ? S.s.order.length : S.s.order.length - 1) : S.pos + dir;
    const i = seek(from, dir);
    if (i >= 0) { S.pos = i; renderSingle(); }
  }

  function undo() {
    S.pending++;
    send("/api/undo", {}).then((res) => {
      S.pending--;
      const u = res.data.undone;
      if (!u) { status("Nothing to undo.", "ok"); renderProgress(res.data.progress); return; }
      if (res.data.label) S.labels.set(u.frame_id, res.data.label); else S.labels.delete(u.frame_id);
      renderProgress(res.data.progress);
      status(`Undid #${u.frame_id} ${NAMES[u.label]}` + (res.data.label ? ` (now ${NAMES[res.data.label]})` : ""), "ok");
      if (S.view === "single") { S.pos = S.posOf.get(u.frame_id); }
      else { S.selected = new Set(S.gridPage.filter((f) => S.labels.get(f) === "goal")); }
      render();
    }, (err) => failed(err, () => {}));
  }

  function gridCommit() {
    const items = [];
    const before = new Map();
    for (const fid of S.gridPage) {
      const cur = S.labels.get(fid);
      const want = S.selected.has(fid) ? "goal" : (cur === "skip" ? "skip" : "not_goal");
      if (want !== cur) { items.push({ frame_id: fid, label: want }); before.set(fid, cur); S.labels.set(fid, want); }
    }
    if (items.length) {
      S.pending++;
      renderProgress(localProgress());
      send("/api/labels", { items }).then(
        (res) => afterSave(res, `${items.length} labels`),
        (err) => failed(err, () => { for (const [f, v] of before) { if (v === undefined) S.labels.delete(f); else S.labels.set(f, v); } }),
      );
    }
    gridMove(1, true);
  }

  function gridMove(dir, afterSaving) {
    if (dir > 0) {
      if (!S.gridPage.length) return;
      if (S.gridNext < 0 && !afterSaving) { status("This is the last page.", "ok"); return; }
      S.gridHistory.push(S.gridStart);
      if (S.gridNext < 0) { S.gridStart = S.s.order.length; S.gridPage = []; S.selected.clear(); }
      else buildGridPage(S.gridNext);
    } else {
      if (!S.gridHistory.length) return;
      buildGridPage(S.gridHistory.pop());
    }
    renderGrid();
  }

  function setView(v) {
    S.view = v;
    showView();
    if (v === "grid") {
      S.gridHistory = [];
      buildGridPage(Math.max(0, S.pos));
    } else if (S.pos < 0 || !visible(currentFrame())) {
      const i = seek(Math.max(0, S.gridStart), 1);
      if (i >= 0) S.pos = i;
    }
    render();
  }

  function refilter() {
    S.onlyUnlabelled = $("#only-unlabelled").checked;
    S.disagree = $("#disagree").checked;
    if (S.view === "grid") { S.gridHistory = []; buildGridPage(0); }
    else S.pos = seek(0, 1);
    render();
  }

  async function refresh() {
    // Another tab (or labeller process) may have labelled meanwhile.
    if (S.pending) return;
    try {
      const r = await api("/api/labels");
      S.labels = new Map(Object.entries(r.labels).map(([k, v]) => [Number(k), v]));
      renderProgress(r.progress);
      render();
    } catch (e) { status(e.message, "error"); }
  }

  // -- wiring --------------------------------------------------------------------------------

  document.addEventListener("keydown", (ev) => {
    if (!S.s || isTyping(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key;
    let handled = true;
    if (k === "ArrowRight") move(1);
    else if (k === "ArrowLeft") move(-1);
    else if (k === "u" || k === "U") undo();
    else if (k === "v" || k === "V") setView(S.view === "single" ? "grid" : "single");
    else if (S.view === "single" && (k === "g" || k === "G")) label("goal");
    else if (S.view === "single" && (k === "n" || k === "N")) label("not_goal");
    else if (S.view === "single" && (k === "s" || k === "S")) label("skip");
    else if (S.view === "grid" && k === "Enter") gridCommit();
    else if (S.view === "grid" && (k === "a" || k === "A")) { S.selected = new Set(S.gridPage); renderGrid(); }
    else if (S.view === "grid" && k === "Escape") { S.selected.clear(); renderGrid(); }
    else handled = false;
    if (handled) ev.preventDefault();
  });

  for (const b of document.querySelectorAll("button.lbl")) b.addEventListener("click", () => label(b.dataset.label));
  $("#prev").addEventListener("click", () => move(-1));
  $("#next").addEventListener("click", () => move(1));
  $("#undo").addEventListener("click", undo);
  $("#grid-undo").addEventListener("click", undo);
  $("#grid-prev").addEventListener("click", () => gridMove(-1));
  $("#grid-next").addEventListener("click", () => gridMove(1));
  $("#grid-commit").addEventListener("click", gridCommit);
  $("#grid-all").addEventListener("click", () => { S.selected = new Set(S.gridPage); renderGrid(); });
  $("#grid-none").addEventListener("click", () => { S.selected.clear(); renderGrid(); });
  $("#view-single").addEventListener("click", () => setView("single"));
  $("#view-grid").addEventListener("click", () => setView("grid"));
  $("#only-unlabelled").addEventListener("change", refilter);
  $("#disagree").addEventListener("change", refilter);
  // Buttons must not keep keyboard focus (Enter/Space would click them again).
  for (const b of document.querySelectorAll("button, input")) b.addEventListener("mouseup", () => b.blur());
  window.addEventListener("focus", refresh);

  async function init() {
    try {
      S.s = await api("/api/session");
    } catch (e) {
      document.body.classList.add("broken");
      status(e.message, "error");
      return;
    }
    const s = S.s;
    document.title = `evalkit · ${s.task.name} · ${s.dataset}`;
    $("#dataset").textContent = `${s.dataset} (${s.n_frames} frames)`;
    $("#task-name").textContent = s.task.name;
    $("#labeller").textContent = s.labeller;
    $("#goal-prompt").textContent = `“${s.task.goal_prompt}”`;
    $("#criterion").textContent = s.task.criterion || "";
    $("#criterion").classList.toggle("hidden", !s.task.criterion);
    $("#order").textContent = s.order_name === "random" ? `order: random (seed ${s.seed})` : "order: by episode";
    $("#to-rate").href = EK.pageUrl("/rate");
    if (!s.rule) {
      $("#disagree").disabled = true;
      $("#disagree-label").title = "this task has no rule labels";
      $("#disagree-label").classList.add("muted");
    }
    s.order.forEach((f, i) => S.posOf.set(f, i));
    S.aspect = s.frame_shape[0] / s.frame_shape[1]; // height / width
    document.documentElement.style.setProperty("--frame-aspect", `${s.frame_shape[1]} / ${s.frame_shape[0]}`);
    S.labels = new Map(Object.entries(s.labels).map(([k, v]) => [Number(k), v]));
    renderProgress(s.progress);
    // Start at the first unlabelled frame: a reload continues where the labeller stopped.
    const firstOpen = s.order.findIndex((f) => !S.labels.has(f));
    S.pos = firstOpen >= 0 ? firstOpen : 0;
    render();
    document.body.classList.add("ready");
  }

  init();
})();
