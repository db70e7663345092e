//! Property tests for both codecs: encode→decode round trips and panic-free decoding.

use base64::Engine as _;
use localspaces_api::value::Value;
use localspaces_protocol::{cbor, json};
use proptest::prelude::*;

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
        (-1.0e12..1.0e12f64),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        finite().prop_map(Value::Float),
        any::<String>().prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..40).prop_map(Value::Blob),
        prop_oneof![
            (-1.0e11..1.0e11f64),
            (0i64..4_000_000_000).prop_map(|s| s as f64),
            (0i64..4_000_000_000_000).prop_map(|ms| ms as f64 / 1000.0),
        ]
        .prop_map(Value::Timestamp),
    ]
}

fn map(entries: Vec<(String, Value)>) -> Value {
    Value::Map(entries.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
            prop::collection::vec((any::<String>(), inner), 0..8).prop_map(map),
        ]
    })
}

fn body() -> impl Strategy<Value = Value> {
    prop::collection::vec((any::<String>(), value()), 0..8).prop_map(map)
}

/// What a value looks like after a trip through JSON, which has no blob or timestamp type.
fn json_expected(v: &Value) -> Value {
    match v {
        Value::Blob(b) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::Timestamp(t) => {
            let ms = (t * 1000.0).round();
            if ms % 1000.0 == 0.0 {
                Value::Int((ms / 1000.0) as i64)
            } else {
                Value::Float(ms / 1000.0)
            }
        }
        Value::List(items) => Value::List(items.iter().map(json_expected).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), json_expected(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Equality, except that JSON floats may be off by a few ulps: serde_json's default
/// (non-`float_roundtrip`) parser is best-effort on the last digit.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y || (x - y).abs() <= x.abs().max(y.abs()) * 1e-15,
        (Value::List(x), Value::List(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, a), (kb, b))| ka == kb && json_eq(a, b))
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cbor_round_trips(v in body()) {
        prop_assert_eq!(cbor::decode(&cbor::encode(&v)).unwrap(), v);
    }

    #[test]
    fn json_round_trips(v in body()) {
        let decoded = json::decode(&json::encode(&v)).unwrap();
        let expected = json_expected(&v);
        prop_assert!(json_eq(&decoded, &expected), "{:?}\n!=\n{:?}", decoded, expected);
    }

    #[test]
    fn cbor_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = cbor::decode(&bytes);
    }

    #[test]
    fn cbor_decode_never_panics_on_map_prefixed_bytes(
        head in prop::sample::select(vec![0xa1u8, 0xa2, 0xbf]),
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut body = vec![head];
        body.extend(bytes);
        let _ = cbor::decode(&body);
    }

    #[test]
    fn cbor_decode_never_panics_on_mutated_bodies(v in body(), pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = cbor::encode(&v);
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let _ = cbor::decode(&bytes);
        bytes.truncate(cut.index(bytes.len()));
        let _ = cbor::decode(&bytes);
    }

    #[test]
    fn json_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = json::decode(&bytes);
    }

    #[test]
    fn json_decode_never_panics_on_json_like_text(text in r#"[{}\[\]":,0-9a-z\\. eE+-]{0,128}"#) {
        let _ = json::decode(text.as_bytes());
    }

    #[test]
    fn json_decode_never_panics_on_mutated_bodies(v in body(), pos in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let mut bytes = json::encode(&v);
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        let _ = json::decode(&bytes);
        bytes.truncate(cut.index(bytes.len()));
        let _ = json::decode(&bytes);
    }
}
