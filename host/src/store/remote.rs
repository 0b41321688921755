//! The `remote_responses` table: what `ctx.fetch` got, replayed by later
//! renders. Each row is tagged under the machine's key: a committed
//! database cannot plant a response.

use super::{Store, StoreError, sqlite_error};
use crate::capabilities::fetch::Response;
use crate::machine_key::MachineKey;
use std::collections::HashMap;

/// The tag domain of a stored response.
const REMOTE_RESPONSE: &str = "blogmark remote response v1";

/// What a stored response's tag covers.
fn parts(r: &Response) -> [Vec<u8>; 6] {
    [
        r.url.as_bytes().to_vec(),
        r.final_url.as_bytes().to_vec(),
        r.status.to_le_bytes().to_vec(),
        r.content_type.as_bytes().to_vec(),
        r.body.clone(),
        r.fetched_at.to_le_bytes().to_vec(),
    ]
}

impl Store {
    /// The stored responses this machine wrote, by URL.
    pub fn remote_responses(&self) -> Result<HashMap<String, Response>, StoreError> {
        let key = MachineKey::get();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT url, final_url, status, content_type, body, fetched_at, tag FROM remote_responses",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    Response {
                        url: r.get(0)?,
                        final_url: r.get(1)?,
                        status: r.get(2)?,
                        content_type: r.get(3)?,
                        body: r.get(4)?,
                        fetched_at: r.get(5)?,
                    },
                    r.get::<_, Vec<u8>>(6)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut found = HashMap::new();
        for row in rows {
            let (response, tag) = row.map_err(|e| self.err(e))?;
            let parts = parts(&response);
            if key.verify(REMOTE_RESPONSE, &parts.each_ref().map(Vec::as_slice), &tag) {
                found.insert(response.url.clone(), response);
            }
        }
        Ok(found)
    }

    /// Keep `responses`, each replacing the one stored for its URL.
    pub fn record_remote_responses(&mut self, responses: &[Response]) -> Result<(), StoreError> {
        if responses.is_empty() {
            return Ok(());
        }
        let key = MachineKey::get();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| sqlite_error(&self.path)(e))?;
        for r in responses {
            let tag = key.tag(REMOTE_RESPONSE, &parts(r).each_ref().map(Vec::as_slice));
            tx.execute(
                "INSERT INTO remote_responses (url, final_url, status, content_type, body, fetched_at, tag)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(url) DO UPDATE SET final_url = ?2, status = ?3, content_type = ?4,
                     body = ?5, fetched_at = ?6, tag = ?7",
                rusqlite::params![
                    r.url,
                    r.final_url,
                    r.status,
                    r.content_type,
                    r.body,
                    r.fetched_at,
                    &tag[..]
                ],
            )
            .map_err(|e| sqlite_error(&self.path)(e))?;
        }
        tx.commit().map_err(|e| sqlite_error(&self.path)(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_round_trip_and_a_planted_row_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_file(&dir.path().join("site.db")).unwrap();
        let response = Response {
            url: "https://a.example/x".into(),
            final_url: "https://a.example/y".into(),
            status: 200,
            content_type: "application/json".into(),
            body: b"{\"n\": 1}".to_vec(),
            fetched_at: 1_700_000_000,
        };
        store
            .record_remote_responses(std::slice::from_ref(&response))
            .unwrap();
        let found = store.remote_responses().unwrap();
        assert_eq!(found.get("https://a.example/x"), Some(&response));
        // A row written by someone else (its tag is not this machine's).
        store
            .conn
            .execute(
                "UPDATE remote_responses SET body = ?1",
                [b"<script>".to_vec()],
            )
            .unwrap();
        assert!(store.remote_responses().unwrap().is_empty());
    }
}
