//! One page of a list (docs/design.md §2): up to `limit` objects, newest first, after or before a cursor.
//! Ids sort by creation time, so the cursor is the id itself. Every list query takes its cursor condition
//! and its `ORDER BY … LIMIT` from `sql()`, binds them with `bind()` after its own parameters, fetches
//! `limit + 1` rows and hands them to `finish()`, which is the one place that decides `has_more`.

use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;

#[derive(Debug, Clone, Default)]
pub struct Page {
    pub limit: i64,
    /// Objects older than this id.
    pub starting_after: Option<String>,
    /// Objects newer than this id.
    pub ending_before: Option<String>,
}

impl Page {
    /// `ORDER BY id` direction: a page before a cursor is read oldest first, then reversed.
    pub fn order(&self) -> &'static str {
        if self.ending_before.is_some() { "ASC" } else { "DESC" }
    }

    /// How many rows a query fetches: one more than the page, to learn whether more exist.
    pub fn fetch_limit(&self) -> i64 {
        self.limit + 1
    }

    /// The SQL of this page over the id `column`, its three parameters numbered from `first` (they come
    /// after the query's own): the cursor condition for the WHERE clause (`AND …`) and the tail
    /// (`ORDER BY … LIMIT …`).
    pub fn sql(&self, column: &str, first: usize) -> (String, String) {
        let (after, before, limit) = (first, first + 1, first + 2);
        let condition = format!(
            "AND (${after}::text IS NULL OR {column} < ${after}) AND (${before}::text IS NULL OR {column} > ${before})"
        );
        (condition, format!("ORDER BY {column} {} LIMIT ${limit}", self.order()))
    }

    /// Binds the three parameters `sql` numbered, in its order; call it after binding the query's own.
    pub fn bind<'q, O>(&self, query: QueryAs<'q, Postgres, O, PgArguments>) -> QueryAs<'q, Postgres, O, PgArguments> {
        query.bind(self.starting_after.clone()).bind(self.ending_before.clone()).bind(self.fetch_limit())
    }

    /// The page (newest first) and whether more exist in the paging direction.
    pub fn finish<T>(&self, mut rows: Vec<T>) -> (Vec<T>, bool) {
        let has_more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.ending_before.is_some() {
            rows.reverse();
        }
        (rows, has_more)
    }
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn finish_trims_reverses_backward_pages_and_reports_more() {
        let forward = Page { limit: 2, ..Page::default() };
        assert_eq!(forward.finish(vec![9, 8, 7]), (vec![9, 8], true));
        assert_eq!(forward.finish(vec![9, 8]), (vec![9, 8], false));
        let backward = Page { limit: 2, ending_before: Some("x".into()), ..Page::default() };
        assert_eq!(backward.order(), "ASC");
        assert_eq!(backward.finish(vec![1, 2, 3]), (vec![2, 1], true));
    }
}
