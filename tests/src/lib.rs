//! Shared test support: the Store conformance suite (generic over a store
//! factory), the PostgreSQL test database harness, and an in-process server
//! for end-to-end tests.

pub mod conformance;
pub mod pg;
pub mod server;
