//! awsJson1_1 codec: decoding rules, encoding format, malformed inputs.

use localspaces_api::value::Value;
use localspaces_protocol::json::{decode, encode};

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned().into(), v.clone()))
            .collect(),
    )
}

fn enc(v: &Value) -> String {
    String::from_utf8(encode(v)).unwrap()
}

#[test]
fn empty_and_whitespace_bodies_are_the_empty_structure() {
    for body in ["", " ", "\n\t\r  ", "{}", " {} \n"] {
        assert_eq!(decode(body.as_bytes()).unwrap(), Value::empty_map(), "{body:?}");
    }
}

#[test]
fn decodes_every_kind() {
    let body = br#"{"n":null,"t":true,"f":false,"i":-42,"u":5,"x":1.5,"e":1e3,
        "s":"a\"b\\c\u00e9\ud83d\ude00","l":[1,"two",[]],"m":{"k":"v"}}"#;
    let expected = map(&[
        ("n", Value::Null),
        ("t", Value::Bool(true)),
        ("f", Value::Bool(false)),
        ("i", Value::Int(-42)),
        ("u", Value::Int(5)),
        ("x", Value::Float(1.5)),
        ("e", Value::Float(1000.0)),
        ("s", s("a\"b\\cé😀")),
        (
            "l",
            Value::List(vec![Value::Int(1), s("two"), Value::List(vec![])]),
        ),
        ("m", map(&[("k", s("v"))])),
    ]);
    assert_eq!(decode(body).unwrap(), expected);
}

#[test]
fn integer_range() {
    let v = decode(br#"{"a":9223372036854775807,"b":-9223372036854775808,"c":9223372036854775808,"d":-9223372036854775809,"e":100000000000000000000000}"#).unwrap();
    assert_eq!(
        v,
        map(&[
            ("a", Value::Int(i64::MAX)),
            ("b", Value::Int(i64::MIN)),
            ("c", Value::Float(9_223_372_036_854_775_808.0)),
            ("d", Value::Float(-9_223_372_036_854_775_809.0)),
            ("e", Value::Float(1e23)),
        ])
    );
}

#[test]
fn duplicate_keys_are_kept_in_order() {
    let v = decode(br#"{"a":1,"b":2,"a":3}"#).unwrap();
    assert_eq!(
        v,
        map(&[("a", Value::Int(1)), ("b", Value::Int(2)), ("a", Value::Int(3))])
    );
}

#[test]
fn botocore_request_body() {
    assert_eq!(
        decode(b"{\"Limit\": 5}").unwrap(),
        map(&[("Limit", Value::Int(5))])
    );
}

#[test]
fn encodes_every_kind() {
    let v = map(&[
        ("n", Value::Null),
        ("b", Value::Bool(true)),
        ("i", Value::Int(-7)),
        ("f", Value::Float(0.25)),
        ("w", Value::Float(2.0)),
        ("nan", Value::Float(f64::NAN)),
        ("inf", Value::Float(f64::INFINITY)),
        ("s", s("q\"\\\n\u{1}é")),
        ("blob", Value::Blob(b"\x89PNG".to_vec())),
        ("t0", Value::Timestamp(1_700_000_000.0)),
        ("t1", Value::Timestamp(1_700_000_000.123)),
        ("l", Value::List(vec![Value::Int(1), Value::List(vec![])])),
        ("m", Value::empty_map()),
    ]);
    assert_eq!(
        enc(&v),
        r#"{"n":null,"b":true,"i":-7,"f":0.25,"w":2.0,"nan":null,"inf":null,"s":"q\"\\\n\u0001é","blob":"iVBORw==","t0":1700000000,"t1":1700000000.123,"l":[1,[]],"m":{}}"#
    );
}

#[test]
fn encode_keeps_duplicate_keys_and_escapes_them() {
    let v = Value::Map(vec![("a\"".into(), Value::Int(1)), ("a\"".into(), Value::Int(2))]);
    assert_eq!(enc(&v), r#"{"a\"":1,"a\"":2}"#);
}

#[test]
fn round_trips_every_kind() {
    let v = map(&[
        ("n", Value::Null),
        ("b", Value::Bool(false)),
        ("i", Value::Int(i64::MIN)),
        ("j", Value::Int(i64::MAX)),
        ("f", Value::Float(-1.25e-7)),
        ("s", s("\u{0}\u{7f}\u{2028}𝄞")),
        ("l", Value::List(vec![Value::Null, Value::Float(3.0)])),
        ("m", map(&[("x", Value::empty_map())])),
    ]);
    assert_eq!(decode(&encode(&v)).unwrap(), v);
    // Kinds JSON cannot carry come back as their wire form.
    let v = map(&[
        ("blob", Value::Blob(vec![0, 1, 2, 255])),
        ("t", Value::Timestamp(1_580_248_532.577)),
        ("w", Value::Timestamp(-86_400.0)),
    ]);
    assert_eq!(
        decode(&encode(&v)).unwrap(),
        map(&[
            ("blob", s("AAEC/w==")),
            ("t", Value::Float(1_580_248_532.577)),
            ("w", Value::Int(-86_400)),
        ])
    );
}

#[test]
fn malformed_inputs_are_codec_errors() {
    let deep_array = format!("{{\"a\":{}", "[".repeat(10_000));
    let deep_closed = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_objects = "{\"a\":".repeat(10_000) + "1" + &"}".repeat(10_000);
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("lone bracket", "must be a JSON object", b"[".to_vec()),
        ("array top level", "must be a JSON object", b"[]".to_vec()),
        ("string top level", "must be a JSON object", b"\"x\"".to_vec()),
        ("number top level", "must be a JSON object", b"5".to_vec()),
        ("null top level", "must be a JSON object", b"null".to_vec()),
        ("missing value", "expected value", br#"{"a":}"#.to_vec()),
        ("trailing brace", "trailing characters", br#"{"a":1}}"#.to_vec()),
        (
            "trailing garbage",
            "trailing characters",
            br#"{"a":1} x"#.to_vec(),
        ),
        ("two objects", "trailing characters", b"{}{}".to_vec()),
        ("truncated object", "EOF while parsing", br#"{"a":1"#.to_vec()),
        ("truncated string", "EOF while parsing", br#"{"a":"abc"#.to_vec()),
        ("truncated escape", "EOF while parsing", br#"{"a":"\u12"#.to_vec()),
        ("NaN literal", "expected value", br#"{"a":NaN}"#.to_vec()),
        (
            "Infinity literal",
            "expected value",
            br#"{"a":Infinity}"#.to_vec(),
        ),
        (
            "-Infinity literal",
            "invalid number",
            br#"{"a":-Infinity}"#.to_vec(),
        ),
        ("number out of range", "out of range", br#"{"a":1e400}"#.to_vec()),
        (
            "invalid utf-8 in string",
            "invalid unicode code point",
            b"{\"a\":\"\xff\"}".to_vec(),
        ),
        (
            "invalid utf-8 in key",
            "invalid unicode code point",
            b"{\"\xc3\x28\":1}".to_vec(),
        ),
        ("lone surrogate", "escape", br#"{"a":"\ud800"}"#.to_vec()),
        (
            "raw control char",
            "control character",
            b"{\"a\":\"\x01\"}".to_vec(),
        ),
        ("single quotes", "key must be a string", b"{'a':1}".to_vec()),
        ("trailing comma", "trailing comma", br#"{"a":1,}"#.to_vec()),
        ("unquoted key", "key must be a string", b"{a:1}".to_vec()),
        ("comment", "trailing characters", b"{} // x".to_vec()),
        ("byte order mark", "expected value", b"\xef\xbb\xbf{}".to_vec()),
        (
            "deep open arrays",
            "nesting deeper than 64",
            deep_array.into_bytes(),
        ),
        (
            "deep closed arrays",
            "nesting deeper than 64",
            deep_closed.into_bytes(),
        ),
        (
            "deep objects",
            "nesting deeper than 64",
            deep_objects.into_bytes(),
        ),
    ];
    for (name, fragment, body) in cases {
        match decode(&body) {
            Err(e) => {
                assert!(e.0.contains(fragment), "{name}: unexpected message: {}", e.0);
                assert!(e.0.len() <= 210, "{name}: message too long: {}", e.0);
            }
            Ok(v) => panic!("{name}: decoded to {v:?}"),
        }
    }
}

#[test]
fn errors_do_not_echo_large_input() {
    let big = "x".repeat(100_000);
    for body in [
        format!("\"{big}\""),
        format!("[\"{big}\""),
        format!("{{\"a\":\"{big}\"}} {big}"),
    ] {
        let e = decode(body.as_bytes()).unwrap_err();
        assert!(e.0.len() <= 210, "{}", e.0);
    }
}
