//! The HTTP adapter against a mocked `Service`, one request at a time.

mod auth;
mod checkpoints;
mod errors;
mod events;
mod fixtures;
mod harness;
mod logging;
mod metrics;
mod openapi;
mod ops;
mod queues;
mod runs;
mod serve;
mod tasks;
mod workflows;
