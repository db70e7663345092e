//! The records floor: every stored kind with its record type, store kind, indexes, wire
//! conversion and the reads other families need; the shared errors; and the one write
//! path. Families (the floor above) import this floor, never each other.
//!
//! The [`Service`] is the handle every handler gets: the store, the clock, the quotas and
//! the lifecycle engine (and, with `--desktops local`, the desktop driver), plus the write
//! lock and the decoded-record cache that only this floor touches.

pub(crate) mod account;
pub(crate) mod applications;
pub(crate) mod bundles;
pub(crate) mod catalog;
pub(crate) mod client;
pub(crate) mod connection_aliases;
pub(crate) mod directories;
pub(crate) mod ds;
pub(crate) mod errors;
pub(crate) mod ids;
pub(crate) mod images;
pub(crate) mod ip_groups;
mod limits;
pub(crate) mod pagination;
pub(crate) mod pools;
pub(crate) mod records;
pub(crate) mod saved;
pub(crate) mod tags;
pub(crate) mod workspaces;
pub(crate) mod write;

pub use catalog::BundleCatalog;
pub use limits::Limits;

pub(crate) use errors::{invalid, not_found, Conflict, Fault};
pub(crate) use records::{Resource, Stored};
pub(crate) use tags::{merge_tags, new_tags, StoredTag, Taggable};
pub(crate) use write::Tx;

use crate::clock::Clock;
use crate::desktop::DesktopDriver;
use crate::engine::Engine;
use crate::membership::{Home, Membership};
use localspaces_store::{Scope, Store};
use parking_lot::Mutex;
use std::sync::{Arc, OnceLock};

/// Per-request context handed to every handler.
#[derive(Debug, Clone)]
pub struct Context {
    /// The (account, region) the caller acts in.
    pub scope: Scope,
    /// The request id (also in `x-amzn-RequestId`).
    pub request_id: String,
}

/// The WorkSpaces service over a store.
pub struct Service {
    /// Where every record lives.
    pub(crate) store: Arc<dyn Store>,
    /// The service clock (the engine's; the admin `advance` route moves it).
    pub(crate) clock: Arc<dyn Clock>,
    /// Quotas per account and Region.
    pub(crate) limits: Limits,
    /// Timed transitions: queued after each commit, applied when due.
    pub(crate) engine: Engine,
    /// Serializes read-check-write sequences (quotas, uniqueness) within this process;
    /// conditional writes keep them correct across processes. Taken only by [`write`].
    write: Mutex<()>,
    /// Records already decoded (see [`records::DecodedCache`]).
    decoded: records::DecodedCache,
    /// The desktops behind WorkSpaces (`--desktops local`), installed once before serving;
    /// unset (`--desktops none`): WorkSpaces have no desktop and their states move on the
    /// clock only. The WorkSpaces family's `desktops` module is the service side of it.
    desktops: OnceLock<Arc<dyn DesktopDriver>>,
    /// The replicas on a shared store, when this one runs desktops among several: each
    /// WorkSpace's desktop lives on the replica that provisioned it.
    membership: OnceLock<Arc<Membership>>,
}

impl Service {
    /// A service over `store`, reading time from `clock`, with timed transitions queued
    /// on `engine` (which must use the same clock).
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, limits: Limits, engine: Engine) -> Self {
        Service {
            store,
            clock,
            limits,
            engine,
            write: Mutex::new(()),
            decoded: records::DecodedCache::default(),
            desktops: OnceLock::new(),
            membership: OnceLock::new(),
        }
    }

    /// Installs the desktop driver (once, before serving).
    pub fn set_desktops(&self, driver: Arc<dyn DesktopDriver>) {
        let _ = self.desktops.set(driver);
    }

    /// The desktop driver, when WorkSpaces have desktops.
    pub fn desktops(&self) -> Option<Arc<dyn DesktopDriver>> {
        self.desktops.get().cloned()
    }

    /// Installs this replica's view of the replicas on a shared store (once, before serving).
    pub fn set_membership(&self, m: Arc<Membership>) {
        let _ = self.membership.set(m);
    }

    /// This replica's view of the replicas on a shared store, when it runs desktops among
    /// several.
    pub fn membership(&self) -> Option<&Arc<Membership>> {
        self.membership.get()
    }

    /// This replica's id, when it runs desktops among several.
    pub fn replica_id(&self) -> Option<&str> {
        self.membership.get().map(|m| m.me())
    }

    /// Where the desktop of a WorkSpace owned by `owner` lives, from this replica.
    pub fn desktop_home(&self, owner: Option<&str>) -> Home {
        match self.membership.get() {
            Some(m) => m.home(owner, std::time::Instant::now()),
            None => Home::Here,
        }
    }

    /// The lifecycle engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store (admin endpoints, shutdown).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}

/// The scope of records that belong to no single account and Region (connection-string
/// reservations, account links).
pub(crate) fn global() -> Scope {
    Scope::new("global", "global")
}
