//! Generates the typed API of localspaces from the vendored botocore models.
//!
//! Run by hand from the workspace root (never from build.rs):
//! `cargo run -p localspaces-codegen`. CI runs it and fails when `git diff` shows a change.
//!
//! Input: `model/<service>/service-2.json`, `model/<service>/paginators-1.json`,
//! `model/framework-errors.json`. Output: `crates/localspaces-api/src/generated/<service>/`
//! with `enums.rs`, `shapes.rs`, `errors.rs`, `operations.rs` and `mod.rs`.

mod emit;
mod model;

use std::path::Path;

/// One service to generate.
pub struct ServiceSpec {
    /// Folder under `model/` and module name under `generated/`.
    pub module: &'static str,
    /// Smithy namespace of the shapes (used in CBOR `__type`).
    pub namespace: &'static str,
    /// Name of the generated handler trait.
    pub trait_name: &'static str,
    /// Only these operations (and the shapes they reach); `None` = all.
    pub operations: Option<&'static [&'static str]>,
}

const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        module: "workspaces",
        namespace: "com.amazonaws.workspaces",
        trait_name: "WorkspacesApi",
        operations: None,
    },
    ServiceSpec {
        module: "ds",
        namespace: "com.amazonaws.directoryservice",
        trait_name: "DirectoryServiceApi",
        operations: Some(&[
            "ConnectDirectory",
            "CreateDirectory",
            "CreateMicrosoftAD",
            "DeleteDirectory",
            "DescribeDirectories",
            "ListTagsForResource",
            "AddTagsToResource",
            "RemoveTagsFromResource",
        ]),
    },
];

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".to_string());
    let root = Path::new(&root);
    let framework = model::load_framework_errors(&root.join("model/framework-errors.json"));
    let out_root = root.join("crates/localspaces-api/src/generated");
    let mut modules = Vec::new();
    for spec in SERVICES {
        let m = model::load(&root.join("model").join(spec.module), spec.operations);
        let files = emit::service(spec, &m, &framework);
        let dir = out_root.join(spec.module);
        std::fs::create_dir_all(&dir).expect("create output dir");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("write generated file");
        }
        modules.push(spec.module);
    }
    let mut m = String::from(emit::HEADER);
    m.push_str("//! Generated service modules.\n\n");
    for module in modules {
        m.push_str(&format!("pub mod {module};\n"));
    }
    std::fs::write(out_root.join("mod.rs"), m).expect("write mod.rs");
    // Format like the rest of the tree so `cargo fmt --check` and the no-diff gate agree.
    let status = std::process::Command::new("cargo")
        .args(["fmt", "-p", "localspaces-api"])
        .current_dir(root)
        .status()
        .expect("run cargo fmt");
    assert!(status.success(), "cargo fmt failed");
    eprintln!("generated into {}", out_root.display());
}
