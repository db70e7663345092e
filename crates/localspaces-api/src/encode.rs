//! Writing typed values to the wire without an intermediate tree.
//!
//! Generated shapes (and [`Value`] itself) implement [`Encode`]: they walk their members and
//! call an [`Encoder`]. The wire codecs implement [`Encoder`] by writing bytes as they are
//! called; [`ValueBuilder`] builds a [`Value`] for callers that want the tree (the console,
//! the activity log).

use crate::value::{MapKey, Value};

/// A sink for one value, called in document order.
///
/// A structure or map is `begin_map(n)`, then `n` times a key (`member` or `key`) followed by
/// exactly one value, then `end_map()`; a list is `begin_list(n)`, `n` values, `end_list()`.
/// The counts are exact (CBOR writes them up front).
pub trait Encoder {
    /// Starts a structure or map of `len` entries.
    fn begin_map(&mut self, len: usize);
    /// The key of the next entry of a structure: a member name of the model.
    fn member(&mut self, name: &'static str) {
        self.key(name);
    }
    /// The key of the next entry of a map.
    fn key(&mut self, key: &str);
    /// Ends the innermost structure or map.
    fn end_map(&mut self);
    /// Starts a list of `len` items.
    fn begin_list(&mut self, len: usize);
    /// Ends the innermost list.
    fn end_list(&mut self);
    /// A null (only a [`Value`] carries one; shapes omit absent members).
    fn null(&mut self);
    /// A string.
    fn string(&mut self, s: &str);
    /// An integer.
    fn int(&mut self, n: i64);
    /// A floating-point number.
    fn float(&mut self, f: f64);
    /// A boolean.
    fn bool(&mut self, b: bool);
    /// A timestamp in epoch seconds (fractional allowed).
    fn timestamp(&mut self, t: f64);
    /// A blob.
    fn blob(&mut self, b: &[u8]);
}

/// A value that writes itself through an [`Encoder`].
pub trait Encode {
    /// Writes `self` as one value.
    fn encode_with<E: Encoder + ?Sized>(&self, e: &mut E);

    /// The value as a [`Value`] tree.
    fn to_value(&self) -> Value {
        let mut b = ValueBuilder::default();
        self.encode_with(&mut b as &mut dyn Encoder);
        b.finish()
    }
}

impl Encode for Value {
    fn encode_with<E: Encoder + ?Sized>(&self, e: &mut E) {
        match self {
            Value::Null => e.null(),
            Value::Bool(b) => e.bool(*b),
            Value::Int(i) => e.int(*i),
            Value::Float(f) => e.float(*f),
            Value::String(s) => e.string(s),
            Value::Blob(b) => e.blob(b),
            Value::Timestamp(t) => e.timestamp(*t),
            Value::List(items) => {
                e.begin_list(items.len());
                for item in items {
                    item.encode_with(e);
                }
                e.end_list();
            }
            Value::Map(entries) => {
                e.begin_map(entries.len());
                for (k, v) in entries {
                    // Any string may be a value tree's key (a static one too): written as
                    // a key, escaped where needed, never as a model member name.
                    e.key(k);
                    v.encode_with(e);
                }
                e.end_map();
            }
        }
    }

    fn to_value(&self) -> Value {
        self.clone()
    }
}

/// Builds a [`Value`] from encoder calls.
#[derive(Debug, Default)]
pub struct ValueBuilder {
    /// Open structures and lists, innermost last.
    stack: Vec<Frame>,
    /// The finished top-level value.
    done: Option<Value>,
}

#[derive(Debug)]
enum Frame {
    /// Entries so far and the key waiting for its value.
    Map(Vec<(MapKey, Value)>, Option<MapKey>),
    List(Vec<Value>),
}

impl ValueBuilder {
    /// The value built; `Null` if nothing complete was written.
    pub fn finish(self) -> Value {
        self.done.unwrap_or(Value::Null)
    }

    fn push(&mut self, v: Value) {
        match self.stack.last_mut() {
            Some(Frame::Map(entries, key)) => {
                let k = key.take().unwrap_or(MapKey::Borrowed(""));
                entries.push((k, v));
            }
            Some(Frame::List(items)) => items.push(v),
            None => self.done = Some(v),
        }
    }

    fn set_key(&mut self, k: MapKey) {
        if let Some(Frame::Map(_, key)) = self.stack.last_mut() {
            *key = Some(k);
        }
    }
}

impl Encoder for ValueBuilder {
    fn begin_map(&mut self, len: usize) {
        self.stack.push(Frame::Map(Vec::with_capacity(len), None));
    }
    fn member(&mut self, name: &'static str) {
        self.set_key(MapKey::Borrowed(name));
    }
    fn key(&mut self, key: &str) {
        self.set_key(MapKey::Owned(key.to_string()));
    }
    fn end_map(&mut self) {
        if let Some(Frame::Map(entries, _)) = self.stack.pop() {
            self.push(Value::Map(entries));
        }
    }
    fn begin_list(&mut self, len: usize) {
        self.stack.push(Frame::List(Vec::with_capacity(len)));
    }
    fn end_list(&mut self) {
        if let Some(Frame::List(items)) = self.stack.pop() {
            self.push(Value::List(items));
        }
    }
    fn null(&mut self) {
        self.push(Value::Null);
    }
    fn string(&mut self, s: &str) {
        self.push(Value::String(s.to_string()));
    }
    fn int(&mut self, n: i64) {
        self.push(Value::Int(n));
    }
    fn float(&mut self, f: f64) {
        self.push(Value::Float(f));
    }
    fn bool(&mut self, b: bool) {
        self.push(Value::Bool(b));
    }
    fn timestamp(&mut self, t: f64) {
        self.push(Value::Timestamp(t));
    }
    fn blob(&mut self, b: &[u8]) {
        self.push(Value::Blob(b.to_vec()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_rebuilds_any_value() {
        let v = Value::Map(vec![
            (
                "a".into(),
                Value::List(vec![Value::Int(1), Value::Null, Value::Bool(true)]),
            ),
            (
                MapKey::Owned("b".into()),
                Value::Map(vec![("c".into(), Value::Timestamp(1.5))]),
            ),
            ("d".into(), Value::Blob(vec![1, 2])),
            ("e".into(), Value::Float(0.25)),
            ("f".into(), Value::List(vec![])),
            ("g".into(), Value::empty_map()),
        ]);
        let mut b = ValueBuilder::default();
        v.encode_with(&mut b);
        assert_eq!(b.finish(), v);
    }
}
