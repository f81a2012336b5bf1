//! Cursor pagination of tasks and runs: three pages of 25 items with limit
//! 10, newest first, nothing missing or repeated, no cursor on the last page.

use std::collections::HashSet;

use durable_client::{ClaimRequest, CreateTask, ListRuns, ListTasks, RunStatus, TaskStatus};
use futures::TryStreamExt;
use serde_json::json;
use uuid::Uuid;

use crate::support::Harness;

const N: usize = 25;

#[tokio::test(flavor = "multi_thread")]
async fn tasks_and_runs_page_newest_first_without_gaps_or_repeats() {
    let h = Harness::postgres().await;
    let c = &h.client;
    h.queue("pages").await;
    h.queue("other").await;

    // One by one, so creation order is unambiguous.
    let mut created = Vec::new();
    for i in 0..N {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        created.push(c.create_task("pages", &CreateTask::new(name).params(json!(i))).await.unwrap());
    }
    // Noise in another queue, finished so it has no pending run.
    c.create_task("other", &CreateTask::new("even")).await.unwrap();
    let noise = c.claim("other", &ClaimRequest::new(1, 30)).await.unwrap();
    c.complete_run(noise[0].run_id, None).await.unwrap();

    let newest_first_tasks: Vec<Uuid> = created.iter().rev().map(|t| t.task_id).collect();
    let newest_first_runs: Vec<Uuid> = created.iter().rev().map(|t| t.run_id).collect();

    // Tasks, by hand.
    let mut seen = Vec::new();
    let mut cursor = None;
    let mut sizes = Vec::new();
    loop {
        let page = c
            .list_tasks(&ListTasks { cursor: cursor.clone(), ..ListTasks::default().queue("pages").limit(10) })
            .await
            .unwrap();
        sizes.push(page.tasks.len());
        for t in &page.tasks {
            assert_eq!(t.queue_name, "pages");
            assert_eq!(t.status, TaskStatus::Pending);
        }
        seen.extend(page.tasks.iter().map(|t| t.id));
        match page.next_cursor {
            Some(next) => {
                assert_ne!(Some(&next), cursor.as_ref(), "the cursor did not move");
                cursor = Some(next);
            }
            None => break,
        }
        assert!(sizes.len() < 10, "paging does not end: {sizes:?}");
    }
    assert_eq!(sizes, [10, 10, 5], "page sizes");
    assert_eq!(seen.len(), seen.iter().collect::<HashSet<_>>().len(), "duplicates");
    assert_eq!(seen, newest_first_tasks, "every task once, newest first");
    // created_at never increases down the list.
    let all: Vec<_> = c.list_all_tasks(ListTasks::default().queue("pages").limit(10)).try_collect().await.unwrap();
    assert_eq!(all.iter().map(|t| t.id).collect::<Vec<_>>(), newest_first_tasks);
    assert!(all.windows(2).all(|w| w[0].created_at >= w[1].created_at));

    // Filters combine with paging.
    let odd: Vec<Uuid> = c
        .list_all_tasks(ListTasks::default().queue("pages").task_name("odd").limit(4))
        .map_ok(|t| t.id)
        .try_collect()
        .await
        .unwrap();
    let expected_odd: Vec<Uuid> =
        created.iter().enumerate().rev().filter(|(i, _)| i % 2 == 1).map(|(_, t)| t.task_id).collect();
    assert_eq!(odd, expected_odd);
    let everywhere = c.list_tasks(&ListTasks::default().task_name("even").limit(1000)).await.unwrap();
    assert_eq!(everywhere.tasks.len(), 13 + 1, "even tasks of both queues");
    assert_eq!(everywhere.next_cursor, None);
    let completed = c.list_tasks(&ListTasks::default().status(TaskStatus::Completed)).await.unwrap();
    assert_eq!(completed.tasks.len(), 1);
    assert_eq!(completed.tasks[0].queue_name, "other");
    assert!(completed.tasks[0].completed_at.is_some());

    // An exact multiple of the limit: the last full page may carry a cursor,
    // but the page after it is then empty and ends the listing.
    let mut pages = 0;
    let mut total = 0;
    let mut cursor = None;
    loop {
        let page = c
            .list_tasks(&ListTasks { cursor: cursor.clone(), ..ListTasks::default().queue("pages").limit(5) })
            .await
            .unwrap();
        pages += 1;
        total += page.tasks.len();
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
        assert!(pages <= 6, "paging does not end");
    }
    assert_eq!(total, N);

    // Runs: pending ones are exactly the 25 first runs.
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor = None;
    loop {
        let page = c
            .list_runs(&ListRuns { cursor: cursor.clone(), ..ListRuns::default().status(RunStatus::Pending).limit(10) })
            .await
            .unwrap();
        sizes.push(page.runs.len());
        for r in &page.runs {
            assert_eq!((r.status, r.attempt), (RunStatus::Pending, 1));
            assert_eq!(r.completed_at, None);
        }
        seen.extend(page.runs.iter().map(|r| r.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
        assert!(sizes.len() < 10, "paging does not end: {sizes:?}");
    }
    assert_eq!(sizes, [10, 10, 5], "page sizes");
    assert_eq!(seen, newest_first_runs, "every run once, newest first");
    // Unfiltered: the noise run too, as the newest.
    let all_runs: Vec<_> = c.list_all_runs(ListRuns::default().limit(10)).try_collect().await.unwrap();
    assert_eq!(all_runs.len(), N + 1);
    assert_eq!(all_runs[0].id, noise[0].run_id);
    assert_eq!(all_runs[1..].iter().map(|r| r.id).collect::<Vec<_>>(), newest_first_runs);
    // By task.
    let one = c.list_runs(&ListRuns::default().task(created[7].task_id)).await.unwrap();
    assert_eq!(one.runs.len(), 1);
    assert_eq!(one.runs[0].id, created[7].run_id);
    assert_eq!(one.next_cursor, None);
    h.stop().await;
}
