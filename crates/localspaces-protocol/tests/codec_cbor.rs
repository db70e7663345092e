//! Smithy rpcv2Cbor codec: the Smithy specification's example bodies, encoding format, malformed inputs.

use localspaces_api::value::Value;
use localspaces_protocol::cbor::{decode, encode};

/// Hex with optional whitespace → bytes.
fn h(hex: &str) -> Vec<u8> {
    let compact: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(compact).unwrap()
}

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

fn one(key: &str, value: Value) -> Value {
    map(&[(key, value)])
}

/// `{"v": <item>}` with `item` given in hex.
fn wrap(item_hex: &str) -> Vec<u8> {
    h(&format!("a1 61 76 {item_hex}"))
}

fn decode_v(item_hex: &str) -> Value {
    match decode(&wrap(item_hex)).unwrap() {
        Value::Map(mut entries) => entries.remove(0).1,
        other => panic!("not a map: {other:?}"),
    }
}

#[test]
fn spec_examples() {
    assert_eq!(decode(b"").unwrap(), Value::empty_map());
    assert_eq!(decode(&h("a0")).unwrap(), Value::empty_map());
    assert_eq!(decode(&h("bf ff")).unwrap(), Value::empty_map());
    assert_eq!(
        decode(&h("a1 65 4c696d6974 05")).unwrap(),
        one("Limit", Value::Int(5))
    );
    let create_tags = h("a2 6a 5265736f757263654964 6b 77732d6162633132333435
                         64 54616773 81 a2 63 4b6579 61 6b 65 56616c7565 61 76");
    let expected = map(&[
        ("ResourceId", s("ws-abc12345")),
        (
            "Tags",
            Value::List(vec![map(&[("Key", s("k")), ("Value", s("v"))])]),
        ),
    ]);
    assert_eq!(decode(&create_tags).unwrap(), expected);
    // Our encoder produces botocore's exact bytes for it.
    assert_eq!(encode(&expected), create_tags);
    // ImportClientBranding logo: a byte string.
    assert_eq!(
        decode(&h("a1 64 4c6f676f 44 89504e47")).unwrap(),
        one("Logo", Value::Blob(b"\x89PNG".to_vec()))
    );
}

#[test]
fn indefinite_lengths() {
    // {_ "Limit": 5, "Tags": [_ "a", "b"], "S": (_ "ab", "c"), "B": (_ h'01', h'0203') }
    let body = h("bf 65 4c696d6974 05
                  64 54616773 9f 61 61 61 62 ff
                  61 53 7f 62 6162 61 63 ff
                  61 42 5f 41 01 42 0203 ff
                  ff");
    assert_eq!(
        decode(&body).unwrap(),
        map(&[
            ("Limit", Value::Int(5)),
            ("Tags", Value::List(vec![s("a"), s("b")])),
            ("S", s("abc")),
            ("B", Value::Blob(vec![1, 2, 3])),
        ])
    );
    // Indefinite-length key, empty indefinite string and bytes.
    let body = h("bf 7f 62 4c69 63 6d6974 ff 7f ff 61 62 5f ff ff");
    assert_eq!(
        decode(&body).unwrap(),
        map(&[("Limit", s("")), ("b", Value::Blob(vec![]))])
    );
}

#[test]
fn timestamps() {
    assert_eq!(decode_v("c1 1a 6553f100"), Value::Timestamp(1_700_000_000.0));
    assert_eq!(decode_v("c1 00"), Value::Timestamp(0.0));
    assert_eq!(decode_v("c1 3863"), Value::Timestamp(-100.0));
    assert_eq!(
        decode_v(&format!(
            "c1 fb {}",
            hex::encode(1_700_000_000.123f64.to_be_bytes())
        )),
        Value::Timestamp(1_700_000_000.123)
    );
    assert_eq!(decode_v("c1 fa 3fc00000"), Value::Timestamp(1.5));
    assert_eq!(decode_v("c1 f9 3c00"), Value::Timestamp(1.0));
    // Encoded as tag 1 + float64.
    let mut expected = h("a1 61 74 c1 fb");
    expected.extend_from_slice(&1_700_000_000.5f64.to_be_bytes());
    assert_eq!(encode(&one("t", Value::Timestamp(1_700_000_000.5))), expected);
    assert_eq!(encode(&Value::Timestamp(1.0)), h("c1 fb 3ff0000000000000"));
}

#[test]
fn scalars() {
    assert_eq!(decode_v("f6"), Value::Null);
    assert_eq!(decode_v("f7"), Value::Null);
    assert_eq!(decode_v("f4"), Value::Bool(false));
    assert_eq!(decode_v("f5"), Value::Bool(true));
    assert_eq!(decode_v("f9 3c00"), Value::Float(1.0));
    assert_eq!(decode_v("f9 c400"), Value::Float(-4.0));
    assert_eq!(decode_v("f9 7c00"), Value::Float(f64::INFINITY));
    assert_eq!(decode_v("fa 47c35000"), Value::Float(100_000.0));
    assert_eq!(decode_v("fb 3ff199999999999a"), Value::Float(1.1));
    assert_eq!(decode_v("17"), Value::Int(23));
    assert_eq!(decode_v("18 18"), Value::Int(24));
    assert_eq!(decode_v("20"), Value::Int(-1));
    assert_eq!(decode_v("39 03e7"), Value::Int(-1000));
    assert_eq!(decode_v("1b 7fffffffffffffff"), Value::Int(i64::MAX));
    assert_eq!(decode_v("3b 7fffffffffffffff"), Value::Int(i64::MIN));
    assert_eq!(
        decode_v("1b ffffffffffffffff"),
        Value::Float(18_446_744_073_709_551_615.0)
    );
    assert_eq!(
        decode_v("3b ffffffffffffffff"),
        Value::Float(-18_446_744_073_709_551_616.0)
    );
    // Non-minimal integer encodings are still valid CBOR.
    assert_eq!(decode_v("1b 0000000000000005"), Value::Int(5));
    assert_eq!(decode_v("60"), s(""));
    assert_eq!(decode_v("40"), Value::Blob(vec![]));
    assert_eq!(decode_v("80"), Value::List(vec![]));
}

#[test]
fn encoding_format() {
    let cases: Vec<(Value, &str)> = vec![
        (Value::Null, "f6"),
        (Value::Bool(true), "f5"),
        (Value::Bool(false), "f4"),
        (Value::Int(0), "00"),
        (Value::Int(23), "17"),
        (Value::Int(24), "1818"),
        (Value::Int(255), "18ff"),
        (Value::Int(256), "190100"),
        (Value::Int(65_536), "1a00010000"),
        (Value::Int(4_294_967_296), "1b0000000100000000"),
        (Value::Int(-1), "20"),
        (Value::Int(-25), "3818"),
        (Value::Int(i64::MIN), "3b7fffffffffffffff"),
        (Value::Float(1.5), "fb3ff8000000000000"),
        (s("é"), "62c3a9"),
        (Value::Blob(vec![1, 2]), "420102"),
        (Value::List(vec![Value::Int(1), Value::Null]), "8201f6"),
        (Value::Map(vec![("a".into(), Value::empty_map())]), "a16161a0"),
        (Value::Timestamp(0.0), "c1fb0000000000000000"),
    ];
    for (value, hex) in cases {
        assert_eq!(hex::encode(encode(&value)), hex, "{value:?}");
    }
}

#[test]
fn round_trips_every_kind() {
    let v = map(&[
        ("n", Value::Null),
        ("b", Value::Bool(true)),
        ("i", Value::Int(i64::MIN)),
        ("j", Value::Int(i64::MAX)),
        ("f", Value::Float(-0.1)),
        ("s", s("ünïcödé 𝄞")),
        ("blob", Value::Blob((0..=255).collect())),
        ("t", Value::Timestamp(1_580_248_532.577)),
        (
            "l",
            Value::List(vec![Value::List(vec![]), Value::Timestamp(-1.0)]),
        ),
        ("m", map(&[("dup", Value::Int(1)), ("dup", Value::Int(2))])),
    ]);
    assert_eq!(decode(&encode(&v)).unwrap(), v);
}

#[test]
fn malformed_inputs_are_codec_errors() {
    let nested_arrays = {
        let mut b = h("a1 61 61");
        b.extend(std::iter::repeat_n(0x81, 10_000));
        b.push(0x00);
        b
    };
    let nested_indef_arrays = {
        let mut b = h("a1 61 61");
        b.extend(std::iter::repeat_n(0x9f, 10_000));
        b
    };
    let nested_maps = {
        let mut b = h("a1 61 61").repeat(10_000);
        b.push(0xa0);
        b
    };
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("truncated map", "unexpected end of input", h("a1")),
        ("truncated key", "unexpected end of input", h("a1 65 4c69")),
        ("missing value", "unexpected end of input", h("a1 61 61")),
        ("truncated uint", "unexpected end of input", h("a1 61 61 1a 0000")),
        (
            "truncated float",
            "unexpected end of input",
            h("a1 61 61 fb 3ff0"),
        ),
        (
            "unterminated indefinite map",
            "unexpected end of input",
            h("bf 61 61 01"),
        ),
        (
            "unterminated indefinite array",
            "unexpected end of input",
            h("a1 61 61 9f 01"),
        ),
        (
            "unterminated indefinite string",
            "unexpected end of input",
            h("a1 61 61 7f 61 61"),
        ),
        ("trailing bytes", "trailing byte", h("a0 00")),
        ("trailing map", "trailing byte", h("a0 a0")),
        ("non-map top level: int", "must be a CBOR map", h("05")),
        ("non-map top level: array", "must be a CBOR map", h("80")),
        ("non-map top level: string", "must be a CBOR map", h("61 61")),
        ("non-map top level: null", "must be a CBOR map", h("f6")),
        ("non-map top level: tagged map", "must be a CBOR map", h("c1 a0")),
        (
            "huge byte string",
            "unexpected end of input",
            wrap("5b ffffffffffffffff"),
        ),
        (
            "huge text string",
            "unexpected end of input",
            wrap("7b ffffffffffffffff"),
        ),
        (
            "huge array",
            "unexpected end of input",
            wrap("9b ffffffffffffffff"),
        ),
        ("huge map", "unexpected end of input", h("bb ffffffffffffffff")),
        (
            "long declared string",
            "unexpected end of input",
            wrap("7a 00010000 61"),
        ),
        ("invalid utf-8", "invalid utf-8", wrap("62 c328")),
        ("invalid utf-8 key", "invalid utf-8", h("a1 61 ff 01")),
        (
            "invalid utf-8 in chunk",
            "invalid utf-8",
            wrap("7f 61 61 61 ff ff"),
        ),
        (
            "split code point across chunks",
            "invalid utf-8",
            wrap("7f 61 c3 61 a9 ff"),
        ),
        ("integer key", "map keys must be text strings", h("a1 01 02")),
        (
            "byte-string key",
            "map keys must be text strings",
            h("a1 41 61 02"),
        ),
        ("null key", "map keys must be text strings", h("a1 f6 02")),
        ("tagged key", "map keys must be text strings", h("a1 c1 61 61 02")),
        ("bignum tag 2", "bignums", wrap("c2 41 01")),
        ("bignum tag 3", "bignums", wrap("c3 41 01")),
        ("unsupported tag 0", "unsupported CBOR tag 0", wrap("c0 61 61")),
        (
            "unsupported tag 32",
            "unsupported CBOR tag 32",
            wrap("d8 20 61 61"),
        ),
        ("tag 1 over string", "tag 1 must wrap a number", wrap("c1 61 61")),
        ("tag 1 over tag 1", "tag 1 must wrap a number", wrap("c1 c1 00")),
        ("tag 1 over NaN", "not a finite number", wrap("c1 f9 7e00")),
        ("tag 1 at end", "unexpected end of input", wrap("c1")),
        ("simple value 16", "unsupported CBOR simple value", wrap("f0")),
        ("simple value 255", "unsupported CBOR simple value", wrap("f8 ff")),
        ("lone break", "unexpected break", wrap("ff")),
        ("break as key", "map keys must be text strings", h("a1 ff 01")),
        ("reserved info 28", "invalid initial byte", wrap("1c")),
        ("reserved initial byte fc", "invalid initial byte", wrap("fc")),
        ("indefinite integer", "invalid initial byte", wrap("1f")),
        ("mixed chunk type", "expected text", wrap("7f 41 61 ff")),
        ("nested indefinite chunk", "expected text", wrap("7f 7f ff ff")),
        ("deep arrays", "nesting deeper than 64", nested_arrays),
        (
            "deep indefinite arrays",
            "nesting deeper than 64",
            nested_indef_arrays,
        ),
        ("deep maps", "nesting deeper than 64", nested_maps),
    ];
    for (name, fragment, body) in cases {
        match decode(&body) {
            Err(e) => {
                assert!(e.0.contains(fragment), "{name}: unexpected message: {}", e.0);
                assert!(e.0.len() <= 200, "{name}: message too long: {}", e.0);
            }
            Ok(v) => panic!("{name}: decoded to {v:?}"),
        }
    }
}

#[test]
fn unsupported_tag_message_names_the_tag() {
    let e = decode(&wrap("d8 20 61 61")).unwrap_err();
    assert!(e.0.contains("unsupported CBOR tag 32"), "{}", e.0);
    let e = decode(&h("a1 01 02")).unwrap_err();
    assert!(e.0.contains("text strings"), "{}", e.0);
}
