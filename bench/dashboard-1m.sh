#!/usr/bin/env bash
# Times the API calls behind each dashboard page on a PostgreSQL store of
# 1 000 000 finished tasks (bench/dashboard-1m.sql seeds them; run once):
#
#   createdb ui1m && DATABASE_URL=postgres://…/ui1m durable-server migrate
#   psql … -d ui1m -f bench/dashboard-1m.sql
#   DATABASE_URL=postgres://…/ui1m bench/dashboard-1m.sh [server binary]
#
# Prints, per call, the median and the slowest of 7 (curl's time_total).
set -euo pipefail
server="${1:-target/release/durable-server}"
port=18282
"$server" --database-url "$DATABASE_URL" --listen "127.0.0.1:$port" >/tmp/dashboard-1m.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
base="http://127.0.0.1:$port/api/v1"
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.1; done
some_task=$(curl -s "$base/tasks?queue_name=bulk&limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["id"])')
middle=$(curl -s "$base/tasks?queue_name=bulk&limit=1000" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])')
time_call() {
  local what="$1" url="$2"
  local times
  times=$(for _ in 1 2 3 4 5 6 7; do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | sort -n)
  printf '%-58s median %6.1f ms   max %6.1f ms\n' "$what" \
    "$(echo "$times" | sed -n 4p | awk '{print $1*1000}')" "$(echo "$times" | tail -1 | awk '{print $1*1000}')"
}
time_call "queues: GET /queues" "$base/queues"
time_call "queues: GET /queues/bulk/stats" "$base/queues/bulk/stats"
time_call "queues: GET /queues/bulk/history" "$base/queues/bulk/history"
time_call "tasks: GET /tasks?limit=50" "$base/tasks?limit=50"
time_call "tasks: GET /tasks?queue_name=bulk&limit=50" "$base/tasks?queue_name=bulk&limit=50"
time_call "tasks: … &cursor=<1000th>" "$base/tasks?queue_name=bulk&limit=50&cursor=$middle"
time_call "tasks: GET /tasks?queue_name=bulk&status=failed&limit=50" "$base/tasks?queue_name=bulk&status=failed&limit=50"
time_call "tasks: GET /tasks?task_name=resize&limit=50" "$base/tasks?task_name=resize&limit=50"
half=$(psql "$DATABASE_URL" -Atc "SELECT to_char((min(created_at) + (max(created_at) - min(created_at)) / 2) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM tasks")
time_call "tasks: … &created_after=<median task>" "$base/tasks?queue_name=bulk&limit=50&created_after=$half"
time_call "tasks: … &created_before=<median task>" "$base/tasks?queue_name=bulk&limit=50&created_before=$half"
time_call "task: GET /tasks/{id}" "$base/tasks/$some_task"
time_call "task: GET /runs?task_id=…&limit=1000" "$base/runs?task_id=$some_task&limit=1000"
time_call "task: GET /tasks/{id}/checkpoints" "$base/tasks/$some_task/checkpoints"
time_call "task: GET /tasks?parent_task_id=…&limit=100" "$base/tasks?parent_task_id=$some_task&limit=100"
time_call "events: GET /events?limit=50" "$base/events?limit=50"
time_call "workflows: GET /workflow-runs?limit=50" "$base/workflow-runs?limit=50"
