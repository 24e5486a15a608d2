// evalkit rate: the paper's success-rate protocol, one episode at a time as a looping animation.
"use strict";

(() => {
  const { $, send, api, frameUrl, status, isTyping } = EK;
  const STRIP = 24; // thumbnails in the filmstrip

  const R = {
    s: null, episodes: [], ratings: new Map(), idx: 0, onlyUnrated: true,
    frame: 0, playing: true, timer: null, images: [], pending: 0, loadToken: 0,
  };

  function visible(i) {
    return !(R.onlyUnrated && R.ratings.has(R.episodes[i].episode));
  }
  function seek(from, dir) {
    for (let i = from; i >= 0 && i < R.episodes.length; i += dir) if (visible(i)) return i;
    return -1;
  }

  function renderSummary(sum) {
    const n = Math.max(1, sum.n_episodes);
    const fails = sum.rated - sum.successes;
    $("#bar-success").style.width = (100 * sum.successes) / n + "%";
    $("#bar-fail").style.width = (100 * fails) / n + "%";
    const rate = sum.success_rate === null ? "–" : `${Math.round(100 * sum.success_rate)} %`;
    $("#progress-text").innerHTML =
      `<b>${sum.rated}</b> / ${sum.n_episodes} rated · success rate <b class="c-goal">${rate}</b>` +
      (sum.rated ? ` (${sum.successes} of ${sum.rated})` : "");
  }

  function stop() { clearInterval(R.timer); R.timer = null; }
  function play() {
    stop();
    if (!R.playing || !R.images.length) return;
    const fps = Number($("#fps").value);
    R.timer = setInterval(() => showFrame((R.frame + 1) % R.images.length), 1000 / fps);
  }

  function showFrame(k) {
    const ep = R.episodes[R.idx];
    if (!ep) return;
    R.frame = k;
    $("#anim").src = R.images[k] ? R.images[k].src : frameUrl(ep.frames[k]);
    $("#scrub").value = String(k);
    $("#step").textContent = `${k + 1} / ${ep.frames.length}`;
    const strip = $("#filmstrip").children;
    for (const t of strip) t.classList.toggle("now", Number(t.dataset.k) <= k && k < Number(t.dataset.end));
  }

  function renderEpisode() {
    stop();
    const shown = R.idx >= 0;
    $("#done").classList.toggle("hidden", shown);
    $("#anim").classList.toggle("hidden", !shown);
    for (const b of $("#ratings").children) b.classList.remove("chosen");
    if (!shown) { $("#position").textContent = "–"; $("#filmstrip").innerHTML = ""; return; }
    const ep = R.episodes[R.idx];
    const r = R.ratings.get(ep.episode);
    const badge = $("#rating-badge");
    badge.className = "badge " + (r === undefined ? "hidden" : r >= R.s.success_threshold ? "goal" : "not_goal");
    badge.textContent = r === undefined ? "" : `${r} %`;
    for (const b of $("#ratings").children) b.classList.toggle("chosen", Number(b.dataset.rating) === r);
    $("#info-episode").textContent = String(ep.episode);
    $("#info-frames").textContent = String(ep.frames.length);
    $("#info-rating").innerHTML = r === undefined ? '<span class="muted">unrated</span>' :
      `<span class="${r >= R.s.success_threshold ? "c-goal" : "c-not"}">${r} %</span>`;
    $("#position").textContent = `${R.idx + 1} / ${R.episodes.length}`;
    $("#scrub").max = String(ep.frames.length - 1);

    // Filmstrip: evenly spaced thumbnails; click one to jump there.
    const strip = $("#filmstrip");
    strip.innerHTML = "";
    const every = Math.max(1, Math.ceil(ep.frames.length / STRIP));
    for (let k = 0; k < ep.frames.length; k += every) {
      const t = document.createElement("img");
      t.src = frameUrl(ep.frames[k], "thumb");
      t.dataset.k = String(k);
      t.dataset.end = String(k + every);
      t.title = `step ${k + 1}`;
      t.addEventListener("click", () => { R.playing = false; $("#play-label").textContent = "play"; stop(); showFrame(k); });
      strip.appendChild(t);
    }

    // Preload every frame, then loop.
    const token = ++R.loadToken;
    R.images = ep.frames.map(() => null);
    let loaded = 0;
    $("#loading").textContent = `loading 0 / ${ep.frames.length}`;
    ep.frames.forEach((fid, k) => {
      const im = new Image();
      im.onload = im.onerror = () => {
        if (token !== R.loadToken) return;
        loaded++;
        $("#loading").textContent = loaded < ep.frames.length ? `loading ${loaded} / ${ep.frames.length}` : "";
        if (loaded === ep.frames.length) play();
      };
      im.src = frameUrl(fid);
      R.images[k] = im;
    });
    showFrame(0);
  }

  function rate(value) {
    if (R.idx < 0) return;
    const ep = R.episodes[R.idx].episode;
    const before = R.ratings.get(ep);
    R.ratings.set(ep, value);
    R.pending++;
    send("/api/rate", { episode: ep, rating: value }).then((res) => {
      R.pending--;
      renderSummary(res.data);
      status(`episode ${ep}: ${value} % · saved in ${res.ms.toFixed(0)} ms`, "ok");
    }, (err) => {
      R.pending--;
      if (before === undefined) R.ratings.delete(ep); else R.ratings.set(ep, before);
      status(`Not saved: ${err.message}`, "error");
      renderEpisode();
    });
    const next = seek(R.idx + 1, 1);
    R.idx = next >= 0 ? next : seek(0, 1);
    renderEpisode();
  }

  function move(dir) {
    const i = seek(R.idx + dir, dir);
    if (i >= 0) { R.idx = i; renderEpisode(); }
  }

  function undo() {
    send("/api/rate/undo", {}).then((res) => {
      const u = res.data.undone;
      R.ratings = new Map(Object.entries(res.data.ratings).map(([k, v]) => [Number(k), v]));
      renderSummary(res.data);
      if (!u) { status("Nothing to undo.", "ok"); return; }
      status(`Undid episode ${u.episode}: ${u.rating} %`, "ok");
      R.idx = R.episodes.findIndex((e) => e.episode === u.episode);
      renderEpisode();
    }, (err) => status(`Not undone: ${err.message}`, "error"));
  }

  function togglePlay() {
    R.playing = !R.playing;
    $("#play-label").textContent = R.playing ? "pause" : "play";
    if (R.playing) play(); else stop();
  }

  document.addEventListener("keydown", (ev) => {
    if (!R.s || isTyping(ev) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const k = ev.key;
    let handled = true;
    if (k >= "1" && k <= "5") rate(R.s.ratings[Number(k) - 1]);
    else if (k === "ArrowRight") move(1);
    else if (k === "ArrowLeft") move(-1);
    else if (k === " ") togglePlay();
    else if (k === "u" || k === "U") undo();
    else handled = false;
    if (handled) ev.preventDefault();
  });
  $("#prev").addEventListener("click", () => move(-1));
  $("#next").addEventListener("click", () => move(1));
  $("#undo").addEventListener("click", undo);
  $("#play").addEventListener("click", togglePlay);
  $("#fps").addEventListener("change", play);
  $("#scrub").addEventListener("input", () => {
    R.playing = false; $("#play-label").textContent = "play"; stop(); showFrame(Number($("#scrub").value));
  });
  $("#only-unrated").addEventListener("change", () => {
    R.onlyUnrated = $("#only-unrated").checked;
    const i = seek(Math.max(0, R.idx), 1);
    R.idx = i >= 0 ? i : seek(0, 1);
    renderEpisode();
  });
  for (const b of document.querySelectorAll("button, input, select")) b.addEventListener("mouseup", () => b.blur());

  async function init() {
    try {
      R.s = await api("/api/session");
      const e = await api("/api/episodes");
      R.episodes = e.episodes;
      R.ratings = new Map(Object.entries(e.ratings).map(([k, v]) => [Number(k), v]));
      renderSummary(e);
    } catch (err) {
      status(err.message, "error");
      return;
    }
    const s = R.s;
    document.title = `evalkit · rate ${s.task.name} · ${s.dataset}`;
    $("#dataset").textContent = `${s.dataset} (${R.episodes.length} episodes)`;
    $("#task-name").textContent = s.task.name;
    $("#labeller").textContent = s.labeller;
    $("#goal-prompt").textContent = `“${s.task.goal_prompt}”`;
    $("#criterion").textContent = s.task.criterion || "";
    $("#order").textContent = s.order_name === "random" ? `order: random (seed ${s.seed})` : "order: by episode";
    $("#to-label").href = EK.pageUrl("/");
    const box = $("#ratings");
    s.ratings.forEach((r, i) => {
      const b = document.createElement("button");
      b.dataset.rating = String(r);
      b.className = r >= s.success_threshold ? "success" : "";
      b.innerHTML = `<kbd>${i + 1}</kbd>${r} %`;
      b.addEventListener("click", () => rate(r));
      box.appendChild(b);
    });
    R.idx = seek(0, 1);
    if (R.idx < 0) { R.onlyUnrated = false; $("#only-unrated").checked = false; R.idx = 0; }
    renderEpisode();
    document.body.classList.add("ready");
  }

  init();
})();
