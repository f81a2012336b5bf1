//! Checkpoint names: what a step, a sleep, a spawn or a wait is recorded
//! under. A run that executes the same code asks for the same names in the
//! same order, which is what makes replay find the earlier results.

use std::collections::HashMap;

use super::DurableError;

/// Hands out the checkpoint name of each call of one run, in call order:
/// the first use of a name is the name itself, the n-th is `name#n`.
#[derive(Debug, Default)]
pub(crate) struct StepNames {
    uses: HashMap<String, u32>,
}

impl StepNames {
    /// The name of the next use of `base`.
    pub(crate) fn next(&mut self, base: String) -> String {
        let uses = self.uses.entry(base.clone()).or_insert(0);
        *uses += 1;
        if *uses == 1 { base } else { format!("{base}#{uses}") }
    }
}

/// A user's step name, refused when it could collide with a suffixed name
/// or with the SDK's own names.
pub(crate) fn user_step(name: &str) -> Result<String, DurableError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.starts_with('$') {
        "names starting with `$` are reserved for the SDK's own checkpoints"
    } else if name.contains('#') {
        "`#` separates the suffixes of repeated steps"
    } else {
        return Ok(name.to_owned());
    };
    Err(DurableError::InvalidStepName { name: name.to_owned(), reason })
}

/// The SDK's own name for `kind` about `subject` (an event name, a task
/// name): `$kind:subject`, with `#` and `%` escaped so a subject cannot
/// forge a repeat suffix.
pub(crate) fn internal(kind: &str, subject: &str) -> String {
    let subject = subject.replace('%', "%25").replace('#', "%23");
    format!("${kind}:{subject}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_get_counted_suffixes() {
        let mut names = StepNames::default();
        let got: Vec<_> = ["a", "b", "a", "a", "b"].iter().map(|n| names.next((*n).to_owned())).collect();
        assert_eq!(got, ["a", "b", "a#2", "a#3", "b#2"]);
    }

    #[test]
    fn user_names_that_could_collide_are_refused() {
        assert_eq!(user_step("charge").unwrap(), "charge");
        for bad in ["", "$sleep", "item#2"] {
            assert!(matches!(user_step(bad), Err(DurableError::InvalidStepName { .. })), "{bad:?}");
        }
    }

    #[test]
    fn internal_names_escape_the_suffix_separator() {
        assert_eq!(internal("event", "paid:42"), "$event:paid:42");
        assert_eq!(internal("event", "a#2"), "$event:a%232");
        assert_eq!(internal("event", "50%"), "$event:50%25");
    }
}
