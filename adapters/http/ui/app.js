// The dashboard: one page per route of the hash (#/queues, #/tasks/<id>, …),
// each drawn from /api/v1 calls only, so what it shows is what any client
// would see. Nothing here writes HTML from data: every value goes in as text.

const API = "/api/v1";
const TOKEN_KEY = "durable.token";
const PAGE_SIZE = 50;

// ------------------------------------------------------------------ helpers

/** An element: h("td", {class: "num"}, "3"). Children are nodes or text. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svg(tag, attrs = {}) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, value);
  return el;
}

const dash = "–";
const time = (t) => (t ? t.replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : dash);
const json = (v) => JSON.stringify(v, null, 2);
const status = (s) => h("span", { class: `status ${s}`, "data-status": s }, s);
const taskLink = (id, text) => h("a", { href: `#/tasks/${id}`, class: "mono" }, text ?? id);
const seconds = (s) => (s === null || s === undefined ? dash : s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

function table(headers, rows, empty = "Nothing here yet.") {
  if (rows.length === 0) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", { class: /^[#0-9]|count|runs|lag|age/i.test(t) ? "num" : null }, t)))),
    h("tbody", {}, rows),
  );
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? dash)]));
}

function notice(message, kind = "error") {
  const box = document.getElementById("notice");
  box.textContent = message;
  box.className = kind === "info" ? "info" : "";
  box.hidden = !message;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? "";
  }
}

/** A call of the API with the saved bearer token; 401 asks for a token. */
async function api(path, { method = "GET", body } = {}) {
  const headers = { accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(API + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (response.status === 401) throw new NeedsToken(Boolean(token));
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

class NeedsToken extends Error {
  constructor(refused) {
    super("a token is needed");
    this.refused = refused;
  }
}

/** Asks before an action, runs it, and says what came of it. */
async function act(question, call, done) {
  if (!window.confirm(question)) return;
  try {
    await call();
    // Said once the page shows the change, so what it says and shows agree.
    await render();
    notice(done, "info");
  } catch (err) {
    if (err instanceof NeedsToken) return askToken(err.refused);
    notice(`${err.message}${err.status ? ` (HTTP ${err.status}${err.code ? " " + err.code : ""})` : ""}`);
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

// ------------------------------------------------------------------ pages

async function queuesPage() {
  const { queues } = await api("/queues");
  const cards = await Promise.all(
    queues.map(async (queue) => {
      // One bounded call per queue: the depth read now, the last hour, and
      // the finished runs counted up to a cap.
      const history = await api(`/queues/${encodeURIComponent(queue.name)}/history`);
      const latest = history.samples.at(-1);
      const capped = (n) => (n >= history.count_cap ? `${history.count_cap}+` : n);
      const count = (label, value, key) => h("div", { "data-count": key }, label, h("span", {}, value ?? dash));
      return h(
        "div",
        { class: "card", "data-queue": queue.name },
        h("h3", {}, h("a", { href: `#/tasks${query({ queue: queue.name })}` }, queue.name)),
        h(
          "div",
          { class: "counts" },
          count("pending due", latest.pending_due, "pending_due"),
          count("scheduled", latest.pending_scheduled, "pending_scheduled"),
          count("claimed", latest.claimed_now, "claimed"),
          count("sleeping", latest.sleeping, "sleeping"),
          count("completed", capped(history.completed_runs), "completed"),
          count("failed", capped(history.failed_runs), "failed"),
        ),
        h("div", { class: "muted", "data-lag": "" }, `consumer lag: ${seconds(latest.oldest_pending_age_seconds)}`),
        chart(history),
      );
    }),
  );
  return [
    h("h1", {}, "Queues"),
    cards.length ? h("div", { class: "cards" }, cards) : h("p", { class: "muted" }, "No queues yet."),
  ];
}

/** Runs claimed per minute (bars) and live runs (line) over the last hour. */
function chart(history) {
  const samples = history.samples;
  const width = 360;
  const height = 90;
  const box = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img" });
  const title = svg("title");
  title.textContent = "Last hour: runs claimed per minute (bars) and live runs (line)";
  box.append(title);
  if (samples.length === 0) return box;
  const slot = width / 60;
  const maxRate = Math.max(1, ...samples.map((s) => s.claimed));
  const depth = (s) => s.pending_due + s.pending_scheduled + s.claimed_now + s.sleeping;
  const maxDepth = Math.max(1, ...samples.map(depth));
  const start = Date.parse(samples[0].at);
  const x = (s) => ((Date.parse(s.at) - start) / 60000) * slot;
  for (const s of samples) {
    const barHeight = (s.claimed / maxRate) * (height - 4);
    box.append(svg("rect", { class: "rate", x: x(s), y: height - barHeight, width: Math.max(1, slot - 1), height: barHeight }));
  }
  const points = samples.map((s) => `${x(s) + slot / 2},${height - 2 - (depth(s) / maxDepth) * (height - 6)}`).join(" ");
  box.append(svg("polyline", { class: "depth", points }));
  return box;
}

async function tasksPage(params) {
  const filter = {
    queue_name: params.get("queue"), status: params.get("status"), task_name: params.get("name"),
    created_after: params.get("after"), created_before: params.get("before"), cursor: params.get("cursor"),
  };
  const keep = { queue: filter.queue_name, status: filter.status, name: filter.task_name, after: filter.created_after, before: filter.created_before };
  const [{ tasks, next_cursor }, { queues }] = await Promise.all([
    api(`/tasks${query({ ...filter, limit: PAGE_SIZE })}`),
    api("/queues"),
  ]);
  const form = h(
    "form",
    { class: "filters", id: "task-filters", onsubmit: (e) => {
      e.preventDefault();
      const data = new FormData(e.target);
      location.hash = `#/tasks${query({ queue: data.get("queue"), status: data.get("status"), name: data.get("name"), after: data.get("after"), before: data.get("before") })}`;
    } },
    h("label", {}, "Queue", h("select", { name: "queue" }, h("option", { value: "" }, "any"),
      queues.map((q) => h("option", { value: q.name, selected: q.name === filter.queue_name }, q.name)))),
    h("label", {}, "Status", h("select", { name: "status" }, h("option", { value: "" }, "any"),
      ["pending", "completed", "failed", "canceled"].map((s) => h("option", { value: s, selected: s === filter.status }, s)))),
    h("label", {}, "Task name", h("input", { name: "name", value: filter.task_name ?? "" })),
    h("label", {}, "Created after (RFC 3339)", h("input", { name: "after", value: filter.created_after ?? "", placeholder: "2026-12-01T08:00:00Z" })),
    h("label", {}, "Created before", h("input", { name: "before", value: filter.created_before ?? "", placeholder: "2026-12-01T09:00:00Z" })),
    h("button", { type: "submit" }, "Filter"),
  );
  const rows = tasks.map((t) =>
    h("tr", { "data-task": t.id }, h("td", {}, taskLink(t.id)), h("td", {}, t.task_name), h("td", {}, status(t.status)),
      h("td", {}, t.queue_name), h("td", {}, time(t.created_at)), h("td", {}, time(t.completed_at))),
  );
  const next = next_cursor
    ? h("a", { href: `#/tasks${query({ ...keep, cursor: next_cursor })}`, id: "next-page" }, "Older tasks →")
    : null;
  return [
    h("h1", {}, "Tasks"),
    form,
    table(["Id", "Task", "Status", "Queue", "Created", "Finished"], rows, "No tasks match."),
    h("div", { class: "pager" }, filter.cursor ? h("a", { href: `#/tasks${query(keep)}` }, "← Newest") : null, next),
  ];
}

async function taskPage(id) {
  const task = await api(`/tasks/${id}`);
  const [{ runs }, { checkpoints }, { waits: outcomes }, children, workflow] = await Promise.all([
    api(`/runs${query({ task_id: id, limit: 1000 })}`),
    api(`/tasks/${id}/checkpoints`),
    api(`/tasks/${id}/waits`),
    api(`/tasks${query({ parent_task_id: id, limit: 100 })}`),
    task.workflow_run_id ? api(`/workflow-runs/${task.workflow_run_id}`).catch(() => null) : null,
  ]);
  runs.sort((a, b) => a.attempt - b.attempt);
  checkpoints.sort((a, b) => a.updated_at.localeCompare(b.updated_at));
  const actions = h("div", { class: "actions" });
  if (task.status === "pending") {
    actions.append(h("button", { class: "danger", id: "cancel-task", onclick: () =>
      act(`Cancel task ${id}? Its live run ends as canceled.`, () => api(`/tasks/${id}/cancel`, { method: "POST" }), "Task canceled.") }, "Cancel task"));
  }
  if (task.status === "failed" || task.status === "canceled") {
    actions.append(h("button", { class: "primary", id: "retry-task", onclick: () =>
      act(`Retry task ${id}? A new run (attempt ${task.attempts + 1}) becomes claimable now.`, () => api(`/tasks/${id}/retry`, { method: "POST" }), "Task retried: a new run is pending.") }, "Retry task"));
  }
  const waits = runs.filter((r) => r.wait);
  return [
    h("h1", {}, `Task `, h("span", { class: "mono" }, id)),
    actions,
    facts([
      ["task", task.task_name],
      ["status", status(task.status)],
      ["queue", h("a", { href: `#/tasks${query({ queue: task.queue_name })}` }, task.queue_name)],
      ["attempts", `${task.attempts} (max_attempts ${task.max_attempts})`],
      ["priority", task.priority],
      ["concurrency key", task.concurrency_key],
      ["idempotency key", task.idempotency_key],
      ["created", time(task.created_at)],
      ["parent", task.parent_task_id ? taskLink(task.parent_task_id) : null],
      ["workflow run", task.workflow_run_id ? h("a", { href: `#/workflows/${task.workflow_run_id}` }, workflow?.workflow_name ?? task.workflow_run_id) : null],
    ]),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Params"), h("pre", { id: "params" }, json(task.params))),
      h("div", {}, h("h2", {}, "Headers"), h("pre", {}, json(task.headers ?? {})))),
    task.last_error ? [h("h2", {}, "Last error"), h("pre", { id: "last-error" }, task.last_error)] : null,
    task.result !== null && task.result !== undefined ? [h("h2", {}, "Result"), h("pre", { id: "result" }, json(task.result))] : null,
    h("h2", {}, `Runs (${runs.length})`),
    table(["#", "Status", "Worker", "Created", "Due", "Claimed", "Finished", "Error"], runs.map((r) =>
      h("tr", { "data-run": r.id }, h("td", { class: "num" }, r.attempt), h("td", {}, status(r.status)), h("td", {}, r.worker_id ?? dash),
        h("td", {}, time(r.created_at)), h("td", {}, time(r.available_at)), h("td", {}, time(r.claimed_at)), h("td", {}, time(r.completed_at)),
        h("td", {}, r.error ?? dash)))),
    h("h2", {}, `Steps (${checkpoints.length})`),
    table(["Step", "Value", "Saved"], checkpoints.map((c) =>
      h("tr", { "data-step": c.step_name }, h("td", { class: "mono" }, c.step_name), h("td", {}, h("pre", {}, json(c.state))), h("td", {}, time(c.updated_at)))),
      "No steps recorded."),
    waits.length ? [h("h2", {}, "Waiting for"), table(["Run", "Event", "Step", "Until"], waits.map((r) =>
      h("tr", {}, h("td", { class: "num" }, r.attempt), h("td", { class: "mono" }, r.wait.event_name), h("td", { class: "mono" }, r.wait.step_name), h("td", {}, time(r.available_at)))))] : null,
    h("h2", {}, `Waits (${outcomes.length})`),
    table(["Step", "Outcome", "Payload"], outcomes.map((w) =>
      h("tr", { "data-wait": w.step_name }, h("td", { class: "mono" }, w.step_name), h("td", {}, status(w.outcome)),
        h("td", {}, w.payload === undefined ? dash : h("pre", {}, json(w.payload))))),
      "No waits recorded."),
    h("h2", {}, `Children (${children.tasks.length})`),
    table(["Id", "Task", "Status", "Created"], children.tasks.map((t) =>
      h("tr", {}, h("td", {}, taskLink(t.id)), h("td", {}, t.task_name), h("td", {}, status(t.status)), h("td", {}, time(t.created_at)))),
      "No child tasks."),
    h("h2", {}, "Timeline"),
    timeline(task, runs, checkpoints),
  ];
}

function timeline(task, runs, checkpoints) {
  const entries = [[task.created_at, "task created"]];
  for (const r of runs) {
    if (r.attempt > 1) entries.push([r.created_at, `run ${r.attempt} created, due ${time(r.available_at)}`]);
    if (r.claimed_at) entries.push([r.claimed_at, `run ${r.attempt} claimed${r.worker_id ? ` by ${r.worker_id}` : ""}`]);
    if (r.completed_at) entries.push([r.completed_at, `run ${r.attempt} ${r.status}${r.error ? `: ${r.error}` : ""}`]);
  }
  for (const c of checkpoints) entries.push([c.updated_at, `step ${c.step_name} saved`]);
  if (task.completed_at) entries.push([task.completed_at, `task ${task.status}`]);
  entries.sort((a, b) => a[0].localeCompare(b[0]));
  return h("ol", { class: "timeline", id: "timeline" }, entries.map(([t, what]) => h("li", {}, h("span", { class: "muted" }, time(t)), what)));
}

async function workflowsPage(params) {
  const { workflow_runs, next_cursor } = await api(`/workflow-runs${query({ cursor: params.get("cursor"), limit: PAGE_SIZE })}`);
  return [
    h("h1", {}, "Workflow runs"),
    table(["Id", "Workflow", "Version", "Status", "Created", "Finished"], workflow_runs.map((w) =>
      h("tr", {}, h("td", {}, h("a", { href: `#/workflows/${w.workflow_run_id}`, class: "mono" }, w.workflow_run_id)), h("td", {}, w.workflow_name),
        h("td", {}, w.workflow_version ?? dash), h("td", {}, status(w.status)), h("td", {}, time(w.created_at)), h("td", {}, time(w.completed_at))))),
    next_cursor ? h("div", { class: "pager" }, h("a", { href: `#/workflows${query({ cursor: next_cursor })}` }, "Older runs →")) : null,
  ];
}

async function workflowPage(id) {
  const detail = await api(`/workflow-runs/${id}`);
  const run = detail.workflow_run ?? detail.run ?? detail;
  return [
    h("h1", {}, `Workflow run `, h("span", { class: "mono" }, id)),
    facts([["workflow", run.workflow_name], ["version", run.workflow_version], ["status", status(run.status)], ["created", time(run.created_at)], ["finished", time(run.completed_at)]]),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, "Inputs"), h("pre", {}, json(run.inputs ?? null))),
      h("div", {}, h("h2", {}, "Result"), h("pre", {}, json(run.result ?? null)))),
    h("h2", {}, "Tasks"),
    table(["Id", "Task", "Status", "Created"], (detail.tasks ?? []).map((t) =>
      h("tr", {}, h("td", {}, taskLink(t.id)), h("td", {}, t.task_name), h("td", {}, status(t.status)), h("td", {}, time(t.created_at))))),
  ];
}

async function eventsPage(params) {
  const name = params.get("name");
  const recent = await api(`/events${query({ event_name: name, cursor: params.get("cursor"), limit: PAGE_SIZE })}`);
  const byName = h("form", { class: "filters", id: "event-filter", onsubmit: (e) => {
    e.preventDefault();
    location.hash = `#/events${query({ name: new FormData(e.target).get("name") })}`;
  } },
    h("label", {}, "Event name", h("input", { name: "name", value: name ?? "" })),
    h("button", { type: "submit" }, "Show"));
  const form = h("form", { class: "filters", id: "emit-event", onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    let payload;
    try {
      payload = JSON.parse(data.get("payload") || "null");
    } catch (err) {
      return notice(`The payload is not JSON: ${err.message}`);
    }
    const name = data.get("name");
    act(`Emit event "${name}"? Every run waiting on it wakes up.`, () => api("/events", { method: "POST", body: { event_name: name, payload } }), `Event "${name}" emitted.`);
  } },
    h("label", {}, "Event name", h("input", { name: "name", required: true })),
    h("label", {}, "Payload (JSON)", h("input", { name: "payload", value: "{}", size: 40 })),
    h("button", { type: "submit", class: "primary" }, "Emit"));
  return [
    h("h1", {}, "Events"),
    form,
    h("h2", {}, name ? `Recent "${name}" events` : "Recent events"),
    byName,
    table(["Name", "Payload", "Emitted"], recent.events.map((e) =>
      h("tr", { "data-event": e.event_name }, h("td", { class: "mono" }, h("a", { href: `#/events${query({ name: e.event_name })}` }, e.event_name)),
        h("td", {}, h("pre", {}, json(e.payload))), h("td", {}, time(e.created_at)))), "No events yet."),
    recent.next_cursor ? h("div", { class: "pager" }, h("a", { href: `#/events${query({ name, cursor: recent.next_cursor })}` }, "Older events →")) : null,
  ];
}

async function schedulesPage() {
  const { schedules } = await api("/schedules");
  const toggle = (s) => {
    const verb = s.paused ? "Resume" : "Pause";
    return h("button", { "data-toggle": s.name, onclick: () =>
      act(`${verb} schedule "${s.name}"?`, () => api(`/schedules/${encodeURIComponent(s.name)}`, { method: "PATCH", body: { paused: !s.paused } }), `Schedule "${s.name}" ${s.paused ? "resumed" : "paused"}.`) }, verb);
  };
  return [
    h("h1", {}, "Schedules"),
    table(["Name", "Queue", "Cron", "Zone", "Task", "Next fire", "Last tick", "Last task", ""], schedules.map((s) =>
      h("tr", { "data-schedule": s.name }, h("td", {}, s.name), h("td", {}, s.queue_name), h("td", { class: "mono" }, s.cron), h("td", {}, s.timezone),
        h("td", {}, s.task.task_name), h("td", {}, s.paused ? "paused" : time(s.next_fire_times[0])), h("td", {}, time(s.last_tick)),
        h("td", {}, s.last_task_id ? taskLink(s.last_task_id, "open") : dash), h("td", {}, toggle(s)))),
      "No schedules yet."),
  ];
}

function askToken(refused) {
  const page = document.getElementById("page");
  if (refused) sessionStorage.removeItem(TOKEN_KEY);
  page.replaceChildren(
    h("h1", {}, "Sign in"),
    refused ? h("p", { id: "token-refused", class: "muted" }, "The server refused that token.") : null,
    h("form", { class: "token", id: "token-form", onsubmit: (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, new FormData(e.target).get("token"));
      render();
    } },
      h("p", {}, "This server requires a token (the server's --auth-token). It is kept for this browser tab only."),
      h("input", { name: "token", type: "password", placeholder: "Bearer token", autocomplete: "off", required: true }),
      h("button", { type: "submit", class: "primary" }, "Continue")),
  );
}

// ------------------------------------------------------------------ routing

const routes = [
  [/^\/queues$/, () => queuesPage()],
  [/^\/tasks$/, (_, params) => tasksPage(params)],
  [/^\/tasks\/([0-9a-f-]{36})$/, (m) => taskPage(m[1])],
  [/^\/workflows$/, (_, params) => workflowsPage(params)],
  [/^\/workflows\/([0-9a-f-]{36})$/, (m) => workflowPage(m[1])],
  [/^\/events$/, (_, params) => eventsPage(params)],
  [/^\/schedules$/, () => schedulesPage()],
];

let refreshTimer = null;

async function render() {
  const [path, search] = (location.hash.slice(1) || "/queues").split("?");
  const params = new URLSearchParams(search ?? "");
  const page = document.getElementById("page");
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", path.startsWith(`/${a.dataset.nav}`));
  clearTimeout(refreshTimer);
  const route = routes.find(([re]) => re.test(path));
  if (!route) {
    page.replaceChildren(h("h1", {}, "Not found"), h("p", {}, h("a", { href: "#/queues" }, "Back to the queues")));
    return;
  }
  try {
    const content = await route[1](path.match(route[0]), params);
    page.replaceChildren(...[content].flat(3).filter(Boolean));
    document.body.dataset.ready = path;
    // The queues page follows the server by itself.
    if (path === "/queues") refreshTimer = setTimeout(render, 5000);
  } catch (err) {
    if (err instanceof NeedsToken) return askToken(err.refused);
    page.replaceChildren(h("h1", {}, "Something went wrong"), h("pre", { id: "page-error" }, `${err.message}${err.status ? ` (HTTP ${err.status})` : ""}`));
  }
}

document.getElementById("find-task").addEventListener("submit", (e) => {
  e.preventDefault();
  const id = new FormData(e.target).get("id").trim();
  if (id) location.hash = `#/tasks/${id}`;
});
window.addEventListener("hashchange", () => {
  notice("");
  render();
});
render();
