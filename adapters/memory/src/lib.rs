//! In-memory Store and Notifier.
