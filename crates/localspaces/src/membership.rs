//! Which replicas on a shared store (`--store-url` with desktops) are alive, and where they
//! are reached.
//!
//! Each replica has a stable id (kept in its desktops directory) and a heartbeat record in
//! the store (kind `replica`, global scope): its advertised URL and a beat counter it
//! raises every [`BEAT`]. An observer judges liveness on its own monotonic clock: a replica
//! whose counter has not moved for [`LEASE`] is dead; a record seen for the first time is
//! given a full lease. No clocks are compared across machines.
//!
//! The store also holds one relay secret (kind `replica`, id `.relay`): a replica that relays
//! a console desktop stream or a desktop-exec call to the desktop's owner sends it, and the
//! owner accepts the relayed call without the console's session and same-origin checks
//! (the relaying replica made them). Anyone who can read the database can read it, as they
//! can every record.

use localspaces_store::{Expect, Key, Put, Scope, Store, StoreError, Write};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How often a replica raises its beat.
pub const BEAT: Duration = Duration::from_secs(1);
/// How long a replica's beat may stand still before the others count it dead.
pub const LEASE: Duration = Duration::from_secs(5);
/// The record kind of heartbeats and of the relay secret.
pub const KIND: &str = "replica";
/// The id of the relay secret's record (not a valid replica id: ids start with `r-`).
const SECRET_ID: &str = ".relay";

/// A replica's heartbeat record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Beat {
    /// Where other replicas reach this one (`http://host:port`).
    url: String,
    /// Raised by one on every beat.
    beat: u64,
}

/// What an observer knows of another replica.
#[derive(Debug, Clone)]
struct Peer {
    url: String,
    beat: u64,
    /// When this observer last saw `beat` move (or first saw the record).
    moved: Instant,
}

/// A replica's view of the replicas on its store, itself included.
#[derive(Debug)]
pub struct Membership {
    me: String,
    url: String,
    lease: Duration,
    peers: Mutex<HashMap<String, Peer>>,
    /// Replicas this observer has already reported dead (reported again after they beat).
    reported: Mutex<std::collections::HashSet<String>>,
    secret: Mutex<Option<String>>,
    /// Since when this observer's refreshes succeed (`None` after a failed one): a beat
    /// missed while the store was unreachable is no sign of death, so a lease counts from
    /// here at the earliest.
    up_since: Mutex<Option<Instant>>,
}

fn key(id: &str) -> Key {
    Key {
        scope: Scope::new("", ""),
        kind: KIND.to_string(),
        id: id.to_string(),
    }
}

/// A new replica id: `r-` and 12 hex digits.
pub fn new_id() -> String {
    format!("r-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Whether `id` looks like a replica id (`r-` and 1 to 32 alphanumerics).
pub fn valid_id(id: &str) -> bool {
    id.strip_prefix("r-")
        .is_some_and(|r| !r.is_empty() && r.len() <= 32 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The replica id kept in `dir` (`replica-id`), created on first use.
pub fn id_in(dir: &std::path::Path) -> anyhow::Result<String> {
    let path = dir.join("replica-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if valid_id(s.trim()) => return Ok(s.trim().to_string()),
        Ok(_) => anyhow::bail!("{} does not hold a replica id (r-…)", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    }
    let id = new_id();
    std::fs::write(&path, format!("{id}\n"))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(id)
}

impl Membership {
    /// This replica (`me`, reached at `url`); peers count dead after `lease` without a beat.
    pub fn new(me: &str, url: &str, lease: Duration) -> Membership {
        Membership {
            me: me.to_string(),
            url: url.trim_end_matches('/').to_string(),
            lease,
            peers: Mutex::new(HashMap::new()),
            reported: Mutex::new(Default::default()),
            secret: Mutex::new(None),
            up_since: Mutex::new(None),
        }
    }

    /// This replica's id.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// Raises this replica's beat in the store (creating its record on the first call, or
    /// taking over the record a previous run of this replica left).
    pub fn beat(&self, store: &dyn Store) -> Result<(), StoreError> {
        localspaces_store::update_record(store, &key(&self.me), 3, |cur| {
            let beat = cur.map_or(0, |r| {
                serde_json::from_slice::<Beat>(&r.body)
                    .map(|b| b.beat)
                    .unwrap_or(0)
            });
            serde_json::to_vec(&Beat {
                url: self.url.clone(),
                beat: beat + 1,
            })
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
        })
    }

    /// Reads every heartbeat at `now`; answers the replicas that are dead and were not
    /// reported dead before (each is reported once until it beats again).
    pub fn refresh(&self, store: &dyn Store, now: Instant) -> Result<Vec<String>, StoreError> {
        let recs = match store.scan_all_scopes(KIND) {
            Ok(r) => r,
            Err(e) => {
                *self.up_since.lock() = None;
                return Err(e);
            }
        };
        let up = *self.up_since.lock().get_or_insert(now);
        let mut peers = self.peers.lock();
        for r in recs {
            if !valid_id(&r.key.id) || !r.key.scope.account.is_empty() {
                continue;
            }
            let Ok(b) = serde_json::from_slice::<Beat>(&r.body) else {
                continue;
            };
            match peers.get_mut(&r.key.id) {
                Some(p) if p.beat == b.beat => {}
                Some(p) => {
                    *p = Peer {
                        url: b.url,
                        beat: b.beat,
                        moved: now,
                    };
                    self.reported.lock().remove(&r.key.id);
                }
                None => {
                    peers.insert(
                        r.key.id.clone(),
                        Peer {
                            url: b.url,
                            beat: b.beat,
                            moved: now,
                        },
                    );
                }
            }
        }
        let mut reported = self.reported.lock();
        let mut dead = Vec::new();
        for (id, p) in peers.iter() {
            if *id != self.me
                && now.saturating_duration_since(p.moved.max(up)) >= self.lease
                && reported.insert(id.clone())
            {
                dead.push(id.clone());
            }
        }
        dead.sort();
        Ok(dead)
    }

    /// Reports replica `id` again at the next refresh that finds it dead (handling its death
    /// failed).
    pub fn report_again(&self, id: &str) {
        self.reported.lock().remove(id);
    }

    /// Whether replica `id` is alive as of the last refresh (this replica always is; one
    /// never seen is not; while this observer cannot read the store, every one seen is).
    pub fn is_alive(&self, id: &str, now: Instant) -> bool {
        if id == self.me {
            return true;
        }
        let up = *self.up_since.lock();
        self.peers.lock().get(id).is_some_and(|p| match up {
            Some(up) => now.saturating_duration_since(p.moved.max(up)) < self.lease,
            None => true,
        })
    }

    /// Where replica `id` is reached, if it ever beat.
    pub fn url_of(&self, id: &str) -> Option<String> {
        if id == self.me {
            return Some(self.url.clone());
        }
        self.peers.lock().get(id).map(|p| p.url.clone())
    }

    /// The relay secret shared by the replicas of this store (made by the first one to ask).
    pub fn secret(&self, store: &dyn Store) -> Result<String, StoreError> {
        if let Some(s) = self.secret.lock().clone() {
            return Ok(s);
        }
        let k = key(SECRET_ID);
        let s = match store.get(&k)? {
            Some(r) => String::from_utf8(r.body).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            None => {
                let fresh = format!(
                    "{}{}",
                    uuid::Uuid::new_v4().simple(),
                    uuid::Uuid::new_v4().simple()
                );
                let put = Write::Put(Put {
                    key: k.clone(),
                    body: fresh.clone().into_bytes(),
                    indexes: Vec::new(),
                    unique: Vec::new(),
                    expect: Expect::Absent,
                });
                match store.commit(vec![put]) {
                    Ok(()) => fresh,
                    Err(StoreError::Conflict(_)) => store
                        .get(&k)?
                        .and_then(|r| String::from_utf8(r.body).ok())
                        .ok_or_else(|| StoreError::Corrupt("relay secret".into()))?,
                    Err(e) => return Err(e),
                }
            }
        };
        *self.secret.lock() = Some(s.clone());
        Ok(s)
    }

    /// Whether `presented` is the relay secret (already known to this replica).
    pub fn is_relay(&self, presented: &str) -> bool {
        self.secret
            .lock()
            .as_deref()
            .is_some_and(|s| !presented.is_empty() && constant_eq(s.as_bytes(), presented.as_bytes()))
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Where a WorkSpace's desktop is, as seen from this replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Home {
    /// Here (or the WorkSpace has no owner: one replica, or made without desktops).
    Here,
    /// On another replica that is alive, reached at this URL.
    Peer { id: String, url: String },
    /// On another replica that is dead (or never seen), whose disk holds its volumes.
    Lost { id: String },
}

impl Membership {
    /// Where the desktop of a WorkSpace owned by `owner` is.
    pub fn home(&self, owner: Option<&str>, now: Instant) -> Home {
        match owner {
            None => Home::Here,
            Some(o) if o == self.me => Home::Here,
            Some(o) => match self.url_of(o).filter(|_| self.is_alive(o, now)) {
                Some(url) => Home::Peer {
                    id: o.to_string(),
                    url,
                },
                None => Home::Lost { id: o.to_string() },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use localspaces_store::MemoryStore;

    #[test]
    fn a_replica_is_dead_after_a_lease_without_a_beat_and_alive_again_when_it_beats() {
        let store = MemoryStore::new();
        let lease = Duration::from_secs(5);
        let a = Membership::new("r-a", "http://127.0.0.1:1/", lease);
        let b = Membership::new("r-b", "http://127.0.0.1:2", lease);
        let t0 = Instant::now();
        a.beat(&store).unwrap();
        b.beat(&store).unwrap();
        assert!(b.refresh(&store, t0).unwrap().is_empty());
        assert!(b.is_alive("r-a", t0));
        assert_eq!(b.url_of("r-a").as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(
            b.home(Some("r-a"), t0),
            Home::Peer {
                id: "r-a".into(),
                url: "http://127.0.0.1:1".into()
            }
        );
        assert_eq!(b.home(Some("r-b"), t0), Home::Here);
        assert_eq!(b.home(None, t0), Home::Here);
        // A beats within the lease: still alive at t0 + 4 s and later.
        let t4 = t0 + Duration::from_secs(4);
        a.beat(&store).unwrap();
        assert!(b.refresh(&store, t4).unwrap().is_empty());
        assert!(b.is_alive("r-a", t4 + Duration::from_secs(4)));
        // No beat for a lease: dead, reported once.
        let t9 = t4 + lease;
        assert_eq!(b.refresh(&store, t9).unwrap(), vec!["r-a".to_string()]);
        assert!(!b.is_alive("r-a", t9));
        assert_eq!(b.home(Some("r-a"), t9), Home::Lost { id: "r-a".into() });
        assert!(b.refresh(&store, t9 + lease).unwrap().is_empty());
        // A restarts (same id): it beats again, is alive, and would be reported again.
        let a2 = Membership::new("r-a", "http://127.0.0.1:3", lease);
        a2.beat(&store).unwrap();
        let t10 = t9 + Duration::from_secs(1);
        assert!(b.refresh(&store, t10).unwrap().is_empty());
        assert_eq!(b.url_of("r-a").as_deref(), Some("http://127.0.0.1:3"));
        assert!(b.is_alive("r-a", t10));
        assert_eq!(b.refresh(&store, t10 + lease).unwrap(), vec!["r-a".to_string()]);
        // A replica never seen is not alive; one's own id always is.
        assert!(!b.is_alive("r-zz", t10));
        assert_eq!(b.home(Some("r-zz"), t10), Home::Lost { id: "r-zz".into() });
        assert!(b.is_alive("r-b", t10 + lease * 10));
    }

    /// A store that fails every read while `down` is set.
    struct Flaky {
        inner: MemoryStore,
        down: std::sync::atomic::AtomicBool,
    }

    impl Store for Flaky {
        fn get(&self, key: &Key) -> Result<Option<localspaces_store::Record>, StoreError> {
            self.inner.get(key)
        }
        fn get_many(
            &self,
            s: &Scope,
            k: &str,
            ids: &[&str],
        ) -> Result<Vec<localspaces_store::Record>, StoreError> {
            self.inner.get_many(s, k, ids)
        }
        fn scan(&self, q: &localspaces_store::Query) -> Result<Vec<localspaces_store::Record>, StoreError> {
            self.inner.scan(q)
        }
        fn count(&self, q: &localspaces_store::Query) -> Result<u64, StoreError> {
            self.inner.count(q)
        }
        fn commit(&self, w: Vec<Write>) -> Result<(), StoreError> {
            self.inner.commit(w)
        }
        fn scan_all_scopes(&self, kind: &str) -> Result<Vec<localspaces_store::Record>, StoreError> {
            if self.down.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(StoreError::Unavailable("down".into()));
            }
            self.inner.scan_all_scopes(kind)
        }
        fn clear_scope(&self, s: &Scope) -> Result<u64, StoreError> {
            self.inner.clear_scope(s)
        }
        fn close(&self) -> Result<(), StoreError> {
            Ok(())
        }
    }

    #[test]
    fn beats_missed_while_the_store_was_unreachable_do_not_count() {
        let store = Flaky {
            inner: MemoryStore::new(),
            down: Default::default(),
        };
        let lease = Duration::from_secs(5);
        let a = Membership::new("r-a", "http://a", lease);
        let b = Membership::new("r-b", "http://b", lease);
        let t0 = Instant::now();
        a.beat(&store).unwrap();
        assert!(b.refresh(&store, t0).unwrap().is_empty());
        store.down.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(b.refresh(&store, t0 + lease).is_err());
        assert!(b.is_alive("r-a", t0 + lease * 2));
        store.down.store(false, std::sync::atomic::Ordering::SeqCst);
        // Back after two leases, before A beat again: not dead yet...
        let t = t0 + lease * 3;
        assert!(b.refresh(&store, t).unwrap().is_empty());
        assert!(b.is_alive("r-a", t));
        // ...but dead once a whole lease passes with the store readable and no beat.
        assert_eq!(b.refresh(&store, t + lease).unwrap(), vec!["r-a".to_string()]);
    }

    #[test]
    fn the_relay_secret_is_shared_and_checked() {
        let store = MemoryStore::new();
        let a = Membership::new("r-a", "http://a", LEASE);
        let b = Membership::new("r-b", "http://b", LEASE);
        assert!(!a.is_relay("anything"));
        let s = a.secret(&store).unwrap();
        assert_eq!(b.secret(&store).unwrap(), s);
        assert!(b.is_relay(&s));
        assert!(!b.is_relay(""));
        assert!(!b.is_relay(&s[1..]));
        // The secret's record is not a replica.
        assert!(b.refresh(&store, Instant::now()).unwrap().is_empty());
        assert!(!b.is_alive(".relay", Instant::now()));
    }

    #[test]
    fn replica_ids_are_kept_in_the_directory() {
        let dir = std::env::temp_dir().join(format!("ls-replica-id-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = id_in(&dir).unwrap();
        assert!(valid_id(&first));
        assert_eq!(id_in(&dir).unwrap(), first);
        std::fs::write(dir.join("replica-id"), "../etc").unwrap();
        assert!(id_in(&dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!valid_id("r-"));
        assert!(!valid_id("x-abc"));
        assert!(!valid_id("r-a/b"));
    }
}
