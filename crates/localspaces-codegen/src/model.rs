//! Reading a botocore service model into a small typed form.

use serde_json::Value as J;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A member of a structure.
pub struct Member {
    pub name: String,
    pub target: String,
    pub required: bool,
}

/// What a shape is.
pub enum Kind {
    Structure {
        members: Vec<Member>,
        union: bool,
        exception: bool,
    },
    List {
        member: String,
    },
    Map {
        key: String,
        value: String,
    },
    String {
        enum_values: Option<Vec<String>>,
        pattern: Option<String>,
    },
    Integer,
    Long,
    Boolean,
    Timestamp,
    Blob,
}

/// A shape with its constraints.
pub struct Shape {
    pub kind: Kind,
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// One operation.
pub struct Operation {
    pub name: String,
    pub input: String,
    pub output: String,
    pub errors: Vec<String>,
}

/// A botocore paginator.
pub struct Paginator {
    pub input_token: String,
    pub output_token: String,
    pub result_key: String,
    pub limit_key: Option<String>,
}

/// The model, reduced to what the generator needs.
pub struct Model {
    pub target_prefix: String,
    pub signing_name: String,
    pub api_version: String,
    pub shapes: BTreeMap<String, Shape>,
    pub operations: Vec<Operation>,
    /// Operations of the model left out of the selected subset (names only).
    pub omitted: Vec<String>,
    pub paginators: BTreeMap<String, Paginator>,
}

/// A framework error from `model/framework-errors.json`.
pub struct FrameworkError {
    pub name: String,
    pub status: u16,
    pub server: bool,
}

fn read_json(path: &Path) -> J {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn s(v: &J) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

/// Loads the framework error list.
pub fn load_framework_errors(path: &Path) -> Vec<FrameworkError> {
    let j = read_json(path);
    j["errors"]
        .as_array()
        .expect("errors array")
        .iter()
        .map(|e| FrameworkError {
            name: s(&e["name"]),
            status: e["status"].as_u64().expect("status") as u16,
            server: e["fault"] == "server",
        })
        .collect()
}

/// Loads a service folder; keeps only the shapes reachable from the selected operations.
pub fn load(dir: &Path, only: Option<&[&str]>) -> Model {
    let j = read_json(&dir.join("service-2.json"));
    let meta = &j["metadata"];
    let mut operations = Vec::new();
    let mut omitted = Vec::new();
    for (name, op) in j["operations"].as_object().expect("operations") {
        if let Some(only) = only {
            if !only.contains(&name.as_str()) {
                omitted.push(name.clone());
                continue;
            }
        }
        let errors = op["errors"]
            .as_array()
            .map(|a| a.iter().map(|e| s(&e["shape"])).collect())
            .unwrap_or_default();
        operations.push(Operation {
            name: name.clone(),
            input: s(&op["input"]["shape"]),
            output: s(&op["output"]["shape"]),
            errors,
        });
    }
    operations.sort_by(|a, b| a.name.cmp(&b.name));
    let raw = j["shapes"].as_object().expect("shapes");
    // Reachability from the selected operations (inputs, outputs, errors).
    let mut keep = BTreeSet::new();
    let mut todo: Vec<String> = Vec::new();
    for op in &operations {
        todo.push(op.input.clone());
        todo.push(op.output.clone());
        todo.extend(op.errors.iter().cloned());
    }
    while let Some(name) = todo.pop() {
        if !keep.insert(name.clone()) {
            continue;
        }
        let sh = &raw[&name];
        if let Some(members) = sh["members"].as_object() {
            for m in members.values() {
                todo.push(s(&m["shape"]));
            }
        }
        for k in ["member", "key", "value"] {
            if sh[k].is_object() {
                todo.push(s(&sh[k]["shape"]));
            }
        }
    }
    let mut shapes = BTreeMap::new();
    for name in keep {
        let sh = &raw[&name];
        let kind = match sh["type"].as_str().expect("type") {
            "structure" => {
                let required: BTreeSet<String> = sh["required"]
                    .as_array()
                    .map(|a| a.iter().map(s).collect())
                    .unwrap_or_default();
                let mut members: Vec<Member> = sh["members"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(n, v)| Member {
                                name: n.clone(),
                                target: s(&v["shape"]),
                                required: required.contains(n),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                members.sort_by(|a, b| a.name.cmp(&b.name));
                Kind::Structure {
                    members,
                    union: sh["union"].as_bool().unwrap_or(false),
                    exception: sh["exception"].as_bool().unwrap_or(false),
                }
            }
            "list" => Kind::List {
                member: s(&sh["member"]["shape"]),
            },
            "map" => Kind::Map {
                key: s(&sh["key"]["shape"]),
                value: s(&sh["value"]["shape"]),
            },
            "string" => Kind::String {
                enum_values: sh["enum"].as_array().map(|a| a.iter().map(s).collect()),
                pattern: sh["pattern"].as_str().map(str::to_string),
            },
            "integer" => Kind::Integer,
            "long" => Kind::Long,
            "boolean" => Kind::Boolean,
            "timestamp" => Kind::Timestamp,
            "blob" => Kind::Blob,
            other => panic!("shape {name}: unsupported type {other}"),
        };
        let num = |k: &str| sh[k].as_f64().map(|f| f as i64);
        shapes.insert(
            name,
            Shape {
                kind,
                min: num("min"),
                max: num("max"),
            },
        );
    }
    let mut paginators = BTreeMap::new();
    let pj = read_json(&dir.join("paginators-1.json"));
    if let Some(p) = pj["pagination"].as_object() {
        for (op, v) in p {
            if operations.iter().all(|o| &o.name != op) {
                continue;
            }
            let one = |k: &str| v[k].as_str().map(str::to_string);
            paginators.insert(
                op.clone(),
                Paginator {
                    input_token: one("input_token").expect("input_token"),
                    output_token: one("output_token").expect("output_token"),
                    result_key: one("result_key").expect("result_key"),
                    limit_key: one("limit_key"),
                },
            );
        }
    }
    Model {
        target_prefix: s(&meta["targetPrefix"]),
        signing_name: meta["signingName"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| s(&meta["endpointPrefix"])),
        api_version: s(&meta["apiVersion"]),
        shapes,
        operations,
        omitted,
        paginators,
    }
}
