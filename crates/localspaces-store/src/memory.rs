//! The in-memory engine: BTreeMaps behind one `RwLock`, for tests and `--in-memory`.
//!
//! Per (scope, kind) a table keeps records by id, ids by `seq` (creation order) and, per
//! index (name, key), the set of `seq`s carrying it, so scans and counts cost what their
//! answer costs. A commit runs under the write lock and applies its writes in order with
//! an undo log: if a condition fails, the earlier writes of the batch are undone.

use crate::common::{check_expect, closed, too_many, unique_conflict};
use crate::{IndexEntry, Key, Put, Query, Record, Scope, Store, StoreError, Write};
use parking_lot::RwLock;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// A volatile [`Store`]: same semantics as the SQLite engine, nothing persisted.
#[derive(Debug)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// scope → kind → table.
    scopes: BTreeMap<Scope, BTreeMap<String, Table>>,
    next_seq: u64,
    closed: bool,
}

#[derive(Debug, Default)]
struct Table {
    records: BTreeMap<String, Rec>,
    by_seq: BTreeMap<u64, String>,
    /// index name → index key → seqs of the records carrying it.
    index: BTreeMap<String, BTreeMap<String, BTreeSet<u64>>>,
}

#[derive(Debug, Clone)]
struct Rec {
    rev: u64,
    seq: u64,
    body: Vec<u8>,
    indexes: Vec<IndexEntry>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore {
            inner: RwLock::new(Inner {
                scopes: BTreeMap::new(),
                next_seq: 1,
                closed: false,
            }),
        }
    }
}

fn record(key: Key, rec: &Rec) -> Record {
    Record {
        key,
        rev: rec.rev,
        seq: rec.seq,
        body: rec.body.clone(),
        indexes: rec.indexes.clone(),
    }
}

fn record_of(scope: &Scope, kind: &str, id: &str, rec: &Rec) -> Record {
    let key = Key {
        scope: scope.clone(),
        kind: kind.to_string(),
        id: id.to_string(),
    };
    record(key, rec)
}

impl Table {
    /// Seqs of the records a query selects, in order (`after_seq` applied, `limit` not).
    fn seqs<'a>(&'a self, query: &Query) -> Box<dyn Iterator<Item = u64> + 'a> {
        let from = match query.after_seq {
            Some(s) => Bound::Excluded(s),
            None => Bound::Unbounded,
        };
        match &query.index {
            None => Box::new(self.by_seq.range((from, Bound::Unbounded)).map(|(s, _)| *s)),
            Some(e) => match self.index.get(&e.name).and_then(|m| m.get(&e.key)) {
                Some(set) => Box::new(set.range((from, Bound::Unbounded)).copied()),
                None => Box::new(std::iter::empty()),
            },
        }
    }

    fn by_seq(&self, seq: u64) -> Option<(&String, &Rec)> {
        let id = self.by_seq.get(&seq)?;
        self.records.get_key_value(id)
    }
}

impl Inner {
    fn open(&self) -> Result<(), StoreError> {
        if self.closed {
            Err(closed())
        } else {
            Ok(())
        }
    }

    fn table(&self, scope: &Scope, kind: &str) -> Option<&Table> {
        self.scopes.get(scope)?.get(kind)
    }

    fn current(&self, key: &Key) -> Option<&Rec> {
        self.table(&key.scope, &key.kind)?.records.get(&key.id)
    }

    /// Removes a record with its index entries (pruning emptied tables).
    fn remove(&mut self, key: &Key) -> Option<Rec> {
        let kinds = self.scopes.get_mut(&key.scope)?;
        let table = kinds.get_mut(&key.kind)?;
        let rec = table.records.remove(&key.id)?;
        table.by_seq.remove(&rec.seq);
        for e in &rec.indexes {
            if let Some(keys) = table.index.get_mut(&e.name) {
                if let Some(set) = keys.get_mut(&e.key) {
                    set.remove(&rec.seq);
                    if set.is_empty() {
                        keys.remove(&e.key);
                    }
                }
                if keys.is_empty() {
                    table.index.remove(&e.name);
                }
            }
        }
        if table.records.is_empty() {
            kinds.remove(&key.kind);
            if kinds.is_empty() {
                self.scopes.remove(&key.scope);
            }
        }
        Some(rec)
    }

    /// Inserts a record (absent before) with its index entries.
    fn insert(&mut self, key: Key, rec: Rec) {
        let table = self
            .scopes
            .entry(key.scope)
            .or_default()
            .entry(key.kind)
            .or_default();
        table.by_seq.insert(rec.seq, key.id.clone());
        for e in &rec.indexes {
            table
                .index
                .entry(e.name.clone())
                .or_default()
                .entry(e.key.clone())
                .or_default()
                .insert(rec.seq);
        }
        table.records.insert(key.id, rec);
    }

    /// Applies one write, logging what it replaced in `undo`.
    fn apply(&mut self, write: Write, undo: &mut Vec<(Key, Option<Rec>)>) -> Result<(), StoreError> {
        match write {
            Write::Put(put) => self.put(put, undo),
            Write::Delete { key, expect } => {
                check_expect(&key, self.current(&key).map(|r| r.rev), expect)?;
                if let Some(old) = self.remove(&key) {
                    undo.push((key, Some(old)));
                }
                Ok(())
            }
            Write::AtMost { scope, kind, max } => {
                let n = self.table(&scope, &kind).map_or(0, |t| t.records.len() as u64);
                if n > max {
                    return Err(too_many(&scope, &kind, n, max));
                }
                Ok(())
            }
        }
    }

    fn put(&mut self, put: Put, undo: &mut Vec<(Key, Option<Rec>)>) -> Result<(), StoreError> {
        let Put {
            key,
            body,
            indexes,
            unique,
            expect,
        } = put;
        let existing = self.current(&key).map(|r| (r.rev, r.seq));
        check_expect(&key, existing.map(|(rev, _)| rev), expect)?;
        if let Some(table) = self.table(&key.scope, &key.kind) {
            let own = existing.map(|(_, seq)| seq);
            for e in indexes.iter().filter(|e| unique.contains(&e.name)) {
                let Some(set) = table.index.get(&e.name).and_then(|m| m.get(&e.key)) else {
                    continue;
                };
                if let Some(other) = set.iter().find(|s| Some(**s) != own) {
                    let holder = table.by_seq.get(other).map_or("another record", String::as_str);
                    return Err(unique_conflict(&key, &e.name, &e.key, holder));
                }
            }
        }
        let (rev, seq) = match existing {
            Some((rev, seq)) => (rev + 1, seq),
            None => {
                let seq = self.next_seq;
                self.next_seq += 1;
                (1, seq)
            }
        };
        let old = self.remove(&key);
        undo.push((key.clone(), old));
        self.insert(
            key,
            Rec {
                rev,
                seq,
                body,
                indexes,
            },
        );
        Ok(())
    }

    /// Undoes applied writes, newest first.
    fn rollback(&mut self, undo: Vec<(Key, Option<Rec>)>) {
        for (key, old) in undo.into_iter().rev() {
            self.remove(&key);
            if let Some(old) = old {
                self.insert(key, old);
            }
        }
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &Key) -> Result<Option<Record>, StoreError> {
        let inner = self.inner.read();
        inner.open()?;
        Ok(inner.current(key).map(|r| record(key.clone(), r)))
    }

    fn get_many(&self, scope: &Scope, kind: &str, ids: &[&str]) -> Result<Vec<Record>, StoreError> {
        let inner = self.inner.read();
        inner.open()?;
        let Some(table) = inner.table(scope, kind) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .iter()
            .filter_map(|id| table.records.get(*id).map(|r| record_of(scope, kind, id, r)))
            .collect())
    }

    fn scan(&self, query: &Query) -> Result<Vec<Record>, StoreError> {
        let inner = self.inner.read();
        inner.open()?;
        let Some(table) = inner.table(&query.scope, &query.kind) else {
            return Ok(Vec::new());
        };
        let limit = query.limit.unwrap_or(usize::MAX);
        Ok(table
            .seqs(query)
            .take(limit)
            .filter_map(|seq| table.by_seq(seq))
            .map(|(id, r)| record_of(&query.scope, &query.kind, id, r))
            .collect())
    }

    fn count(&self, query: &Query) -> Result<u64, StoreError> {
        let inner = self.inner.read();
        inner.open()?;
        let Some(table) = inner.table(&query.scope, &query.kind) else {
            return Ok(0);
        };
        let n = match &query.index {
            None => table.records.len(),
            Some(e) => table
                .index
                .get(&e.name)
                .and_then(|m| m.get(&e.key))
                .map_or(0, BTreeSet::len),
        };
        Ok(n as u64)
    }

    fn commit(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut inner = self.inner.write();
        inner.open()?;
        let next_seq = inner.next_seq;
        let mut undo = Vec::new();
        for write in writes {
            if let Err(e) = inner.apply(write, &mut undo) {
                inner.rollback(undo);
                inner.next_seq = next_seq;
                return Err(e);
            }
        }
        Ok(())
    }

    fn scan_all_scopes(&self, kind: &str) -> Result<Vec<Record>, StoreError> {
        let inner = self.inner.read();
        inner.open()?;
        let mut all: Vec<Record> = inner
            .scopes
            .iter()
            .filter_map(|(scope, kinds)| kinds.get(kind).map(|t| (scope, t)))
            .flat_map(|(scope, t)| t.records.iter().map(move |(id, r)| record_of(scope, kind, id, r)))
            .collect();
        all.sort_unstable_by_key(|r| r.seq);
        Ok(all)
    }

    fn clear_scope(&self, scope: &Scope) -> Result<u64, StoreError> {
        let mut inner = self.inner.write();
        inner.open()?;
        let kinds = inner.scopes.remove(scope).unwrap_or_default();
        Ok(kinds.values().map(|t| t.records.len() as u64).sum())
    }

    fn close(&self) -> Result<(), StoreError> {
        self.inner.write().closed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Expect;

    /// The undo log restores index maps exactly, pruning what a failed batch created.
    #[test]
    fn failed_batch_leaves_no_empty_tables() {
        let s = MemoryStore::new();
        let key = |id: &str| Key {
            scope: Scope::new("1", "r"),
            kind: "k".into(),
            id: id.into(),
        };
        let put = |id: &str, expect| {
            Write::Put(Put {
                key: key(id),
                body: vec![],
                indexes: vec![IndexEntry {
                    name: "n".into(),
                    key: "v".into(),
                }],
                unique: vec![],
                expect,
            })
        };
        let err = s.commit(vec![put("a", Expect::Any), put("b", Expect::Rev(3))]);
        assert!(matches!(err, Err(StoreError::Conflict(_))));
        let inner = s.inner.read();
        assert!(inner.scopes.is_empty());
        assert_eq!(inner.next_seq, 1);
    }
}
