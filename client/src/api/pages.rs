//! Cursor paging turned into a stream of items.

use std::future::Future;

use futures::stream::{self, Stream, TryStreamExt};

use crate::Error;

/// Every item of every page: `fetch(cursor)` returns one page and the next
/// cursor, starting from `first` and ending when a page has no next cursor
/// (or repeats the cursor it was asked for, so a server bug cannot loop forever).
pub(crate) fn paginate<T, F, Fut>(first: Option<String>, fetch: F) -> impl Stream<Item = Result<T, Error>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), Error>>,
{
    stream::try_unfold((Some(first), fetch), |(cursor, mut fetch)| async move {
        let Some(cursor) = cursor else {
            return Ok(None);
        };
        let (items, next) = fetch(cursor.clone()).await?;
        let next = next.filter(|next| Some(next) != cursor.as_ref());
        Ok(Some((stream::iter(items.into_iter().map(Ok)), (next.map(Some), fetch))))
    })
    .try_flatten()
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;

    #[test]
    fn walks_every_page_in_order() {
        let pages = |cursor: Option<String>| async move {
            Ok(match cursor.as_deref() {
                None => (vec![1, 2], Some("a".to_owned())),
                Some("a") => (vec![], Some("b".to_owned())),
                Some("b") => (vec![3], None),
                Some(other) => return Err(Error::Config(other.to_owned())),
            })
        };
        let all: Vec<i32> = block_on(paginate(None, pages).try_collect()).unwrap();
        assert_eq!(all, [1, 2, 3]);
    }

    #[test]
    fn stops_on_a_repeated_cursor_and_on_errors() {
        let same = |_cursor: Option<String>| async { Ok((vec![7], Some("x".to_owned()))) };
        let all: Vec<i32> = block_on(paginate(Some("x".to_owned()), same).try_collect()).unwrap();
        assert_eq!(all, [7]);
        let failing = |_cursor: Option<String>| async { Err::<(Vec<i32>, _), _>(Error::Config("boom".into())) };
        assert!(block_on(paginate(None, failing).try_collect::<Vec<i32>>()).is_err());
    }
}
