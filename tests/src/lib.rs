//! Shared test support: the Store conformance suite (generic over a store
//! factory) and the PostgreSQL test database harness.

pub mod conformance;
pub mod pg;
