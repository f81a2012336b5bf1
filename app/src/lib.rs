//! The application core of durable: [`Engine`] implements the driving port
//! [`durable_ports::Service`] over the driven ports, and the [`sweeper`]
//! keeps time-based transitions moving.

mod claim;
mod config;
mod engine;
pub mod server;
pub mod sweeper;

pub use config::EngineConfig;
pub use engine::Engine;
pub use sweeper::{SweepReport, SweeperHandle, spawn_sweeper};
