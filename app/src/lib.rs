//! The application core of durable: [`Engine`] implements the driving port
//! [`durable_ports::Service`] over the driven ports, the [`sweeper`] keeps
//! time-based transitions moving, and the [`gauges`] refresher keeps the
//! metrics' levels current.

mod claim;
mod config;
mod engine;
pub mod gauges;
mod handoff;
mod history;
mod periodic;
mod result_wait;
pub mod server;
pub mod sweeper;
mod traced_store;

pub use config::EngineConfig;
pub use engine::Engine;
pub use gauges::spawn_gauge_refresher;
pub use periodic::Periodic;
pub use sweeper::{SweepReport, SweeperHandle, spawn_sweeper};
