//! The WorkSpaces (2015-04-08) and Directory Service (2015-04-16) models as Rust: typed
//! shapes, enums, the operation tables with each operation's modeled errors, the error
//! tables, and constraint validation. The `generated` modules are written by
//! `localspaces-codegen` from `model/`; do not edit them by hand. No HTTP, no I/O.

pub mod encode;
pub mod error;
mod generated;
pub mod pattern;
pub mod shape;
pub mod value;

pub use generated::{ds, workspaces};
