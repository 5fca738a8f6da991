// The gallery page: reads /bailian/api/* with relative URLs (the UI may sit behind a proxy
// with a base path) and the session cookie of the Airflow UI. Text from the API is only ever
// set with textContent: prompts are user input.
"use strict";

const PAGE_SIZE = 50;
const state = { dag: "", run: "", offset: 0, filters: {} };
const $ = (id) => document.getElementById(id);

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.appendChild(child);
  return node;
}

async function getJson(url) {
  const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (resp.status === 401 || resp.status === 403) {
    throw new Error(resp.status === 401
      ? "Sign in to Airflow to see the videos."
      : "You may not read the videos of this DAG.");
  }
  if (!resp.ok) throw new Error(`The gallery API answered ${resp.status}.`);
  return { body: await resp.json(), total: Number(resp.headers.get("X-Total-Count") || 0) };
}

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

function money(amounts) {
  const parts = Object.entries(amounts).map(([cur, amount]) => `${amount.toFixed(2)} ${cur}`);
  return parts.length ? parts.join(" + ") : "0";
}

function player(video) {
  const play = video.play || {};
  if (play.kind === "stored" || play.kind === "signed") {
    const node = el("video", { controls: "", muted: "", preload: "metadata", playsinline: "", loop: "" });
    node.muted = true;
    node.src = play.url;
    // A stored copy the api-server cannot read after all: fall back to the signed URL.
    if (play.kind === "stored" && video.video_url && !video.video_url_expired) {
      node.addEventListener("error", () => { node.src = video.video_url; }, { once: true });
    }
    return node;
  }
  const text = play.kind === "expired"
    ? "Expired: the signed URL lived 24 hours and no stored copy is readable here"
    : "No video";
  return el("div", { class: `noplay ${play.kind}`, text });
}

// Inside the UI the page is a sandboxed iframe: open task links in the UI around it when
// the sandbox allows, else inside the frame.
function openInAirflow(event) {
  if (window.top === window) return;
  try {
    window.top.location.assign(event.currentTarget.href);
    event.preventDefault();
  } catch (err) {
    // the sandbox forbids it: follow the link in the frame
  }
}

function tile(video) {
  const cost = video.cost ? `${Number(video.cost.amount).toFixed(2)} ${video.cost.currency}` : "cost unknown";
  const seconds = video.duration != null ? `${video.duration} s` : "? s";
  const facts = el("p", { class: "facts" }, [
    el("span", { class: `status ${video.status}`, text: video.status }),
    el("span", { class: "model", text: video.model || "model?" }),
    el("span", { class: "resolution", text: video.resolution || "" }),
    el("span", { class: "duration", text: seconds }),
    el("span", { class: "cost", text: cost }),
  ]);
  const label = video.map_index >= 0 ? `${video.task_id} [${video.map_index}]` : video.task_id;
  const link = el("a", { href: video.ti_url, class: "ti-link", text: `${video.dag_id} / ${label}` });
  link.addEventListener("click", openInAirflow);
  const when = el("p", { class: "facts" }, [
    el("span", { text: video.run_id }),
    el("span", { text: video.end_date ? new Date(video.end_date).toLocaleString() : "" }),
  ]);
  return el("article", { class: "tile", "data-bailian-task-id": video.bailian_task_id || "" }, [
    player(video),
    el("div", { class: "body" }, [
      el("p", { class: "prompt", text: video.prompt || "(prompt not recorded)" }),
      facts, when, link,
    ]),
  ]);
}

function showTotals(videos, total) {
  let seconds = 0;
  const amounts = {};
  for (const video of videos) {
    seconds += Number(video.duration || 0);
    if (video.cost) amounts[video.cost.currency] = (amounts[video.cost.currency] || 0) + Number(video.cost.amount);
  }
  $("totals").textContent = `${videos.length} of ${total} videos shown: ${seconds} s, ${money(amounts)}`;
  $("range").textContent = total ? `${state.offset + 1}-${state.offset + videos.length} of ${total}` : "";
  $("prev").disabled = state.offset === 0;
  $("next").disabled = state.offset + videos.length >= total;
}

function fillSelect(select, values, allLabel, current) {
  select.replaceChildren(el("option", { value: "", text: allLabel }));
  for (const value of values) {
    const option = el("option", { value, text: value });
    if (value === current) option.selected = true;
    select.appendChild(option);
  }
}

async function loadFilters() {
  const { body } = await getJson("api/filters");
  state.filters = body;
  fillSelect($("dag"), Object.keys(body), "All DAGs", state.dag);
  fillSelect($("run"), state.dag ? body[state.dag] || [] : [], "All runs", state.run);
}

async function loadVideos() {
  const query = new URLSearchParams({ limit: PAGE_SIZE, offset: state.offset });
  if (state.dag) query.set("dag_id", state.dag);
  if (state.run) query.set("run_id", state.run);
  const { body, total } = await getJson(`api/videos?${query}`);
  $("grid").replaceChildren(...body.map(tile));
  showTotals(body, total);
  showMessage(body.length ? "" : "No finished Bailian videos yet.");
}

async function refresh(withFilters) {
  try {
    if (withFilters) await loadFilters();
    await loadVideos();
  } catch (err) {
    $("grid").replaceChildren();
    $("totals").textContent = "";
    showMessage(err.message);
  }
}

function readLocation() {
  const params = new URLSearchParams(window.location.search);
  state.dag = params.get("dag_id") || "";
  state.run = params.get("run_id") || "";
}

$("dag").addEventListener("change", (event) => {
  state.dag = event.target.value;
  state.run = "";
  state.offset = 0;
  fillSelect($("run"), state.dag ? state.filters[state.dag] || [] : [], "All runs", "");
  refresh(false);
});
$("run").addEventListener("change", (event) => {
  state.run = event.target.value;
  state.offset = 0;
  refresh(false);
});
$("prev").addEventListener("click", () => { state.offset = Math.max(0, state.offset - PAGE_SIZE); refresh(false); });
$("next").addEventListener("click", () => { state.offset += PAGE_SIZE; refresh(false); });

readLocation();
refresh(true);
