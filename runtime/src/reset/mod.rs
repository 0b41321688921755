//! Reset in place: one instance per worker, brought back after each request
//! to the exact state it had when instantiated.
//!
//! The runtime maps the guest's linear memory itself ([`host_memory`]), keeps
//! a copy of it taken right after instantiation (the image, shared by every
//! instance of the engine), and has the kernel track which pages a request
//! writes ([`kernel`]). After the request exactly those pages, plus the hot
//! set ([`hot_set`]), are copied back from the image. Everything else an
//! instance holds is checked or rebuilt (see [`instance`]); an instance that
//! fails any check is discarded, never reused.

pub(crate) mod host_memory;
pub(crate) mod hot_set;
pub(crate) mod image;
pub(crate) mod instance;
pub(crate) mod kernel;
pub(crate) mod worker;

pub(crate) use instance::{Discard, ResetInstance};
pub(crate) use kernel::probe;
