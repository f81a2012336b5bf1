// The dashboard in a real headless Chromium, against real durable-server
// processes on the memory store: pages show the seeded data a person would
// look for, actions change the store, and with --auth-token the page asks
// for the token. Screenshots of the main pages go to target/ui-screenshots.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const serverBin = process.env.DURABLE_SERVER_BIN ?? path.join(repo, "target/debug/durable-server");
const chromiumBin = process.env.CHROMIUM ?? "/usr/bin/chromium";
const shots = path.join(repo, "target/ui-screenshots");
mkdirSync(shots, { recursive: true });

async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A durable-server on the memory store; `token` turns auth on. */
async function startServer(token) {
  const port = await freePort();
  const args = ["--database-url", "memory:", "--listen", `127.0.0.1:${port}`, "--sweep-interval-ms", "100"];
  if (token) args.push("--auth-token", token);
  const child = spawn(serverBin, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, RUST_LOG: "warn" } });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return { base, child, token };
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`durable-server did not start: ${stderr}`);
}

/** A JSON call of the server's API. */
async function call(server, method, route, body) {
  const headers = { "content-type": "application/json" };
  if (server.token) headers.authorization = `Bearer ${server.token}`;
  const response = await fetch(`${server.base}/api/v1${route}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const claim = (server, queue, limit = 1) => call(server, "POST", `/queues/${queue}/tasks/claim`, { limit, claim_timeout: 300, worker_id: "worker-7" });

/** Queues and tasks in every state the pages show. */
async function seed(server) {
  await call(server, "POST", "/queues", { name: "emails" });
  await call(server, "POST", "/queues", { name: "bulk" });
  const ids = {};
  const create = (queue, body) => call(server, "POST", `/queues/${queue}/tasks`, body);
  // Failed after a step: its run says why, its checkpoint shows the step.
  ids.failed = (await create("emails", { task_name: "send_invoice", params: { invoice: 42 } })).task_id;
  const [failedRun] = (await claim(server, "emails")).tasks;
  await call(server, "PUT", `/tasks/${ids.failed}/checkpoints/render-pdf`, { state: { pages: 3 }, owner_run: failedRun.run_id });
  await call(server, "POST", `/runs/${failedRun.run_id}/fail`, { error: "SMTP timeout" });
  ids.completed = (await create("emails", { task_name: "send_welcome", params: { to: "ada@example.com" } })).task_id;
  const [doneRun] = (await claim(server, "emails")).tasks;
  // It waited for an event first: its page lists the wait's outcome.
  await call(server, "POST", `/runs/${doneRun.run_id}/wait-for-event`, { task_id: ids.completed, step_name: "await-confirmation", event_name: "confirmed:ada", timeout_seconds: 600 });
  await call(server, "POST", "/events", { event_name: "confirmed:ada", payload: { by: "ada" } });
  const [wokenRun] = (await claim(server, "emails")).tasks;
  await call(server, "POST", `/runs/${wokenRun.run_id}/complete`, { result: { delivered: true } });
  ids.claimed = (await create("emails", { task_name: "send_digest" })).task_id;
  await claim(server, "emails");
  ids.pending = (await create("emails", { task_name: "send_reminder" })).task_id;
  await create("emails", { task_name: "send_reminder" });
  await call(server, "POST", "/queues/bulk/tasks/batch", { tasks: Array.from({ length: 60 }, (_, i) => ({ task_name: "resize", params: { image: i } })) });
  await call(server, "POST", "/schedules", { name: "nightly-report", queue_name: "bulk", cron: "0 3 * * *", timezone: "Europe/Berlin", task: { task_name: "report" } });
  return ids;
}

let browser;
let server;
let ids;

before(async () => {
  browser = await chromium.launch({ executablePath: chromiumBin, args: ["--no-sandbox"] });
  server = await startServer();
  ids = await seed(server);
});

after(async () => {
  await browser?.close();
  server?.child.kill();
});

async function open(route, srv = server) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto(`${srv.base}/ui${route}`);
  return page;
}

/** Waits until the page rendered the route (the app marks it). */
const rendered = (page, route) => page.waitForFunction((r) => document.body.dataset.ready === r, route);

describe("queues page", () => {
  test("shows each queue's counts and its chart", async () => {
    const page = await open("#/queues");
    await rendered(page, "/queues");
    const card = page.locator('[data-queue="emails"]');
    const count = (key) => card.locator(`[data-count="${key}"] span`).innerText();
    assert.equal(await count("claimed"), "1");
    assert.equal(await count("completed"), "1");
    assert.equal(await count("failed"), "1");
    assert.equal(await count("pending_due"), "2");
    assert.match(await card.locator("[data-lag]").innerText(), /consumer lag: \d/);
    assert.equal(await page.locator('[data-queue="bulk"] [data-count="pending_due"] span').innerText(), "60");
    assert.equal(await card.locator("svg.chart").count(), 1);
    await page.screenshot({ path: path.join(shots, "queues.png"), fullPage: true });
    await page.close();
  });
});

describe("tasks page", () => {
  test("filters by status and pages through a queue", async () => {
    const page = await open("#/tasks?status=failed");
    await rendered(page, "/tasks");
    const rows = page.locator("tr[data-task]");
    assert.equal(await rows.count(), 1);
    assert.equal(await rows.first().getAttribute("data-task"), ids.failed);
    await page.goto(`${server.base}/ui#/tasks?queue=bulk`);
    await page.waitForFunction(() => document.querySelectorAll("tr[data-task]").length === 50);
    await page.click("#next-page");
    await page.waitForFunction(() => document.querySelectorAll("tr[data-task]").length === 10);
    await page.close();
  });

  test("filters by creation time", async () => {
    const page = await open(`#/tasks?queue=emails&after=2999-01-01T00:00:00Z`);
    await rendered(page, "/tasks");
    assert.equal(await page.locator("tr[data-task]").count(), 0);
    assert.match(await page.locator("main").innerText(), /No tasks match/);
    await page.fill('#task-filters input[name="after"]', "");
    await page.fill('#task-filters input[name="before"]', "2999-01-01T00:00:00Z");
    await page.click('#task-filters button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll("tr[data-task]").length > 0);
    await page.close();
  });

  test("finds a task by id", async () => {
    const page = await open("#/queues");
    await rendered(page, "/queues");
    await page.fill("#find-task input", ids.completed);
    await page.press("#find-task input", "Enter");
    await rendered(page, `/tasks/${ids.completed}`);
    assert.match(await page.locator("#result").innerText(), /"delivered": true/);
    const wait = page.locator('tr[data-wait="await-confirmation"]');
    assert.match(await wait.innerText(), /resolved/);
    assert.match(await wait.innerText(), /"by": "ada"/);
    await page.close();
  });
});

describe("task detail", () => {
  test("shows the runs, the steps and the error, and retries the task", async () => {
    const page = await open(`#/tasks/${ids.failed}`);
    await rendered(page, `/tasks/${ids.failed}`);
    assert.match(await page.locator("#last-error").innerText(), /SMTP timeout/);
    const run = page.locator("tr[data-run]").first();
    assert.match(await run.innerText(), /failed/);
    assert.match(await run.innerText(), /worker-7/);
    assert.match(await page.locator('tr[data-step="render-pdf"]').innerText(), /"pages": 3/);
    assert.match(await page.locator("#timeline").innerText(), /run 1 claimed by worker-7/);
    await page.screenshot({ path: path.join(shots, "task.png"), fullPage: true });
    await page.click("#retry-task");
    await page.waitForSelector("#notice.info");
    assert.match(await page.locator("#notice").innerText(), /retried/);
    const task = await call(server, "GET", `/tasks/${ids.failed}`);
    assert.equal(task.status, "pending");
    assert.equal(task.attempts, 2);
    await page.waitForFunction(() => document.querySelectorAll("tr[data-run]").length === 2);
    await page.close();
  });

  test("cancels a pending task", async () => {
    const page = await open(`#/tasks/${ids.pending}`);
    await rendered(page, `/tasks/${ids.pending}`);
    await page.click("#cancel-task");
    await page.waitForSelector("#notice.info");
    assert.equal((await call(server, "GET", `/tasks/${ids.pending}`)).status, "canceled");
    assert.equal(await page.locator("#cancel-task").count(), 0, "nothing left to cancel");
    await page.close();
  });

  test("shows the API's error when an action is refused", async () => {
    const victim = (await call(server, "POST", "/queues/emails/tasks", { task_name: "doomed" })).task_id;
    await call(server, "POST", `/tasks/${victim}/cancel`);
    const page = await open(`#/tasks/${victim}`);
    await rendered(page, `/tasks/${victim}`);
    // Someone else retries it first: the page's retry is then refused.
    await call(server, "POST", `/tasks/${victim}/retry`);
    await page.click("#retry-task");
    await page.waitForSelector("#notice:not([hidden]):not(.info)");
    assert.match(await page.locator("#notice").innerText(), /only failed or canceled tasks can be retried.*409/);
    await page.close();
  });
});

describe("events and schedules", () => {
  test("emits an event and lists it", async () => {
    const page = await open("#/events");
    await rendered(page, "/events");
    await page.fill('#emit-event input[name="name"]', "invoice.paid");
    await page.fill('#emit-event input[name="payload"]', '{"invoice": 42}');
    await page.click('#emit-event button[type="submit"]');
    await page.waitForSelector("#notice.info");
    await page.waitForFunction(() => document.querySelector("main").innerText.includes("invoice.paid"));
    const { events } = await call(server, "GET", "/events?event_name=invoice.paid");
    assert.equal(events.length, 1);
    assert.deepEqual(events[0].payload, { invoice: 42 });
    await call(server, "POST", "/events", { event_name: "invoice.voided", payload: {} });
    await page.fill('#event-filter input[name="name"]', "invoice.voided");
    await page.click('#event-filter button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll("tr[data-event]").length === 1);
    assert.equal(await page.locator("tr[data-event]").getAttribute("data-event"), "invoice.voided");
    await page.close();
  });

  test("pauses and resumes a schedule", async () => {
    const page = await open("#/schedules");
    await rendered(page, "/schedules");
    const row = page.locator('tr[data-schedule="nightly-report"]');
    assert.match(await row.innerText(), /0 3 \* \* \*/);
    await row.locator("button").click();
    await page.waitForSelector("#notice.info");
    assert.equal((await call(server, "GET", "/schedules/nightly-report")).paused, true);
    await page.waitForFunction(() => document.querySelector('tr[data-schedule="nightly-report"] button')?.innerText === "Resume");
    await page.locator('tr[data-schedule="nightly-report"] button').click();
    await page.waitForFunction(() => document.querySelector('tr[data-schedule="nightly-report"] button')?.innerText === "Pause");
    assert.equal((await call(server, "GET", "/schedules/nightly-report")).paused, false);
    await page.close();
  });
});

describe("with --auth-token", () => {
  test("asks for the token and sends it", async () => {
    const guarded = await startServer("s3cret");
    try {
      await call(guarded, "POST", "/queues", { name: "private" });
      const refused = await fetch(`${guarded.base}/api/v1/queues`);
      assert.equal(refused.status, 401, "the API stays closed without the token");
      const page = await open("#/queues", guarded);
      await page.waitForSelector("#token-form");
      await page.fill('#token-form input[name="token"]', "wrong");
      await page.click('#token-form button[type="submit"]');
      await page.waitForSelector("#token-refused");
      await page.fill('#token-form input[name="token"]', "s3cret");
      await page.click('#token-form button[type="submit"]');
      await rendered(page, "/queues");
      assert.equal(await page.locator('[data-queue="private"]').count(), 1);
      await page.close();
    } finally {
      guarded.child.kill();
    }
  });
});
