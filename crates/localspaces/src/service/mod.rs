//! The behaviour, in two floors. [`tables`] holds every stored kind (record type, store kind,
//! indexes, wire form, the reads other families need), the shared errors and the one write
//! path. Above it, one file (or folder) per API resource family holds one plain function per
//! operation; families import the tables floor, never each other. This module wires the
//! families to the generated handler traits, and [`lifecycle`] to the engine. No HTTP types
//! here.

mod account;
mod applications;
mod bundles;
mod client;
mod connection_aliases;
mod directories;
mod ds;
mod images;
mod ip_groups;
mod lifecycle;
mod pools;
mod tables;

pub(crate) use tables::saved;
/// A store failure, answered as each API's `ServiceUnavailable` or `InternalFailure`.
pub(crate) use tables::Fault as StoreFault;
mod tags;
mod workspaces;

pub use tables::{BundleCatalog, Context, Limits, Service};

/// Every WorkSpaces operation's handler, by name: the families' functions in one namespace.
mod handlers {
    pub(super) use super::account::*;
    pub(super) use super::applications::*;
    pub(super) use super::bundles::*;
    pub(super) use super::client::*;
    pub(super) use super::connection_aliases::*;
    pub(super) use super::directories::*;
    pub(super) use super::images::*;
    pub(super) use super::ip_groups::*;
    pub(super) use super::pools::*;
    pub(super) use super::tags::*;
    pub(super) use super::workspaces::*;
}

localspaces_api::impl_workspaces_api!(Service, Context, handlers);

// The minimal AWS Directory Service API, served by the same service (same store and engine).
localspaces_api::impl_ds_api!(Service, Context, ds);
