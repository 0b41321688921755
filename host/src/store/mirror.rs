//! Keeping a table equal to rows derived from the site's files: the files are
//! the truth, the table follows (posts and scripts both work this way).

use std::collections::HashMap;

/// How a table changed when it was brought in line with the files, by key.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Keys of new rows.
    pub added: Vec<String>,
    /// Keys of rows that differed and were rewritten.
    pub modified: Vec<String>,
    /// Keys of rows whose file is gone, sorted.
    pub removed: Vec<String>,
}

impl Changes {
    /// How many rows were written or deleted.
    pub fn len(&self) -> usize {
        self.added.len() + self.modified.len() + self.removed.len()
    }

    /// Whether the table already matched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Bring a table holding `known` (its rows by key) in line with `rows`:
/// `upsert` every row that is new or not `unchanged`, `delete` every known
/// key that `rows` no longer has. Rows are visited in the order given.
pub(crate) fn mirror<Known, Row, E>(
    known: &HashMap<String, Known>,
    rows: &[Row],
    key: impl Fn(&Row) -> &str,
    unchanged: impl Fn(&Known, &Row) -> bool,
    mut upsert: impl FnMut(&Row) -> Result<(), E>,
    mut delete: impl FnMut(&str) -> Result<(), E>,
) -> Result<Changes, E> {
    let mut changes = Changes::default();
    for row in rows {
        let k = key(row);
        match known.get(k) {
            Some(old) if unchanged(old, row) => continue,
            Some(_) => changes.modified.push(k.to_string()),
            None => changes.added.push(k.to_string()),
        }
        upsert(row)?;
    }
    let present: std::collections::HashSet<&str> = rows.iter().map(&key).collect();
    changes.removed = known
        .keys()
        .filter(|k| !present.contains(k.as_str()))
        .cloned()
        .collect();
    changes.removed.sort();
    for k in &changes.removed {
        delete(k)?;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_changed_and_gone_rows_are_touched() {
        let known: HashMap<String, u32> = [("a", 1), ("b", 2), ("gone", 3), ("also-gone", 4)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let rows = [("a", 1), ("b", 20), ("new", 5)];
        let mut written = Vec::new();
        let mut deleted = Vec::new();
        let changes = mirror::<_, _, ()>(
            &known,
            &rows,
            |r| r.0,
            |old, r| *old == r.1,
            |r| {
                written.push(r.0);
                Ok(())
            },
            |k| {
                deleted.push(k.to_string());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(written, ["b", "new"]);
        assert_eq!(deleted, ["also-gone", "gone"]);
        assert_eq!(changes.added, ["new"]);
        assert_eq!(changes.modified, ["b"]);
        assert_eq!(changes.removed, ["also-gone", "gone"]);
        assert_eq!(changes.len(), 4);
    }

    #[test]
    fn the_first_failure_stops_the_mirror() {
        let known: HashMap<String, u32> = HashMap::new();
        let rows = [("a", 1), ("b", 2)];
        let mut tried = 0;
        let result = mirror(
            &known,
            &rows,
            |r| r.0,
            |old, r| *old == r.1,
            |_| {
                tried += 1;
                Err("disk full")
            },
            |_| Ok(()),
        );
        assert_eq!(result, Err("disk full"));
        assert_eq!(tried, 1);
    }
}
