//! Typed identifiers. All are UUID v7 so that ids sort by creation time, which
//! keeps "newest first" listings and cursors a plain comparison on the id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }
    };
}

typed_id!(
    /// The logical unit of work.
    TaskId
);
typed_id!(
    /// One attempt at a task; also the fencing token of a claim.
    RunId
);
typed_id!(
    /// An emitted event.
    EventId
);
typed_id!(
    /// A group of related tasks.
    WorkflowRunId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_time_ordered_and_render_lowercase_hyphenated() {
        let a = TaskId::new();
        let b = TaskId::new();
        assert!(a < b);
        let text = a.to_string();
        assert_eq!(text.len(), 36);
        assert_eq!(text, text.to_lowercase());
        assert_eq!(text.parse::<TaskId>().unwrap(), a);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn parsing_rejects_garbage() {
        assert!("not-a-uuid".parse::<RunId>().is_err());
    }
}
