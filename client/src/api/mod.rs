//! The endpoints, as methods on [`Client`](crate::Client), one module per resource.

mod checkpoints;
mod events;
mod health;
mod pages;
mod queues;
mod runs;
mod schedules;
mod tasks;
mod workflows;
