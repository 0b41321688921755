//! Compiled functions shared between the compiles of one process.
//!
//! A site snapshot is compiled twice: once instrumented, to run the
//! imports, and once as the snapshot that calls run in. Both hold the same
//! CPython functions, so Cranelift's incremental cache lets the second
//! compile reuse what the first made. The cache lives in memory and is
//! emptied once an engine has its guest: compiled code is kept on disk as
//! whole components ([`crate::artifact_cache`]), not function by function.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use wasmtime::CacheStore;

/// The process's cache of compiled functions.
#[derive(Debug, Default)]
pub(crate) struct FunctionCache(Mutex<HashMap<Vec<u8>, Vec<u8>>>);

impl FunctionCache {
    /// The one cache every engine of the process compiles with.
    pub(crate) fn shared() -> Arc<FunctionCache> {
        static SHARED: OnceLock<Arc<FunctionCache>> = OnceLock::new();
        SHARED.get_or_init(Arc::default).clone()
    }

    /// Forget every function (after the last compile that could use them).
    pub(crate) fn clear(&self) {
        let mut functions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *functions = HashMap::new();
    }
}

impl CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let functions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        functions.get(key).map(|value| Cow::Owned(value.clone()))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let mut functions = self.0.lock().unwrap_or_else(|e| e.into_inner());
        functions.insert(key.to_vec(), value);
        true
    }
}
