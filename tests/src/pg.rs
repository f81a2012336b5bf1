//! PostgreSQL test database harness.
