#!/usr/bin/env python3
"""Generates COVERAGE.md from the vendored model, the service code and the tests.

    python3 scripts/coverage.py           # rewrite COVERAGE.md
    python3 scripts/coverage.py --check   # exit 1 if COVERAGE.md is stale (CI)

For each WorkSpaces operation of the model (and the Directory Service subset):
- implemented: a family file under crates/localspaces/src/service/ defines the operation's
  handler (`pub fn <snake_name>(`), which the generated `impl_*_api!` macro wires into the
  handler trait; every other operation answers NotImplemented;
- lifecycle: the operation's handler (found by name in crates/localspaces/src/service/)
  schedules a timed transition (`svc.transition(` / `TransitionKind::`);
- tests: which clients call it in the test suites — the Rust SDK (`.op_name()` in
  crates/localspaces/tests/*.rs), boto3 (`.op_name(` or a paginator in tests/python/*.py;
  files that use the `protocol` fixture run on both awsJson1_1 and rpc-v2-cbor), and the
  AWS CLI (`"op-name"` after `"workspaces"`/`"ds"` in tests/python/*.py).
Stdlib only.
"""
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "COVERAGE.md")


def read(*p):
    with open(os.path.join(ROOT, *p), encoding="utf-8") as f:
        return f.read()


def snake(name):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.lower()


def kebab(name):
    return snake(name).replace("_", "-")


def handler_bodies():
    """`pub fn name(` → its body text, across the service files (folders included)."""
    bodies = {}
    d = os.path.join(ROOT, "crates/localspaces/src/service")
    for dirpath, _, names in sorted(os.walk(d)):
        for fn in sorted(names):
            if not fn.endswith(".rs"):
                continue
            with open(os.path.join(dirpath, fn), encoding="utf-8") as f:
                src = f.read()
            parts = re.split(r"\n(?=(?:pub(?:\(crate\))? )?fn |impl |#\[cfg\(test\)\])", src)
            for p in parts:
                m = re.match(r"(?:pub(?:\(crate\))? )?fn ([a-z0-9_]+)", p)
                if m:
                    bodies.setdefault(m.group(1), p)
    return bodies


def schedules(bodies, name, depth=2):
    """Whether fn `name` (or a service-file fn it calls, `depth` levels down) schedules a
    lifecycle transition."""
    body = bodies.get(name, "")
    if re.search(r"(?<!cancel_)transition(?:_at)?\(|TransitionKind::(?!WorkspaceAutoStop)", body):
        return True
    if depth == 0:
        return False
    # Re-arming the auto-stop timer is not a state transition of the operation itself.
    calls = set(re.findall(r"\b([a-z_][a-z0-9_]*)\(", body.split("{", 1)[-1])) - {name, "arm_auto_stop", "auto_stop_at"}
    return any(schedules(bodies, c, depth - 1) for c in calls if c in bodies)


def test_sources():
    rust, python = {}, {}
    d = os.path.join(ROOT, "crates/localspaces/tests")
    for fn in sorted(os.listdir(d)):
        if fn.endswith(".rs"):
            rust[fn] = read("crates/localspaces/tests", fn)
    d = os.path.join(ROOT, "tests/python")
    for fn in sorted(os.listdir(d)):
        if fn.endswith(".py"):
            python[fn] = read("tests/python", fn)
    return rust, python


def rows(service, trait, ops):
    bodies = handler_bodies()
    rust, python = test_sources()
    out = []
    for op in ops:
        s = snake(op)
        implemented = re.search(rf"^pub fn {s}\(", bodies.get(s, "")) is not None
        lifecycle = implemented and schedules(bodies, s)
        sdk_rust = any(re.search(rf"\.{s}\(\)", src) for src in rust.values())
        boto_files = [
            f for f, src in python.items()
            if re.search(rf"\.{s}\(|get_paginator\(\"{s}\"\)|\"{s}\"", src)
        ]
        cbor = any(re.search(r"\bprotocol\b|\bws\b|raw_ws|\benv\b", python[f]) for f in boto_files)
        cli = any(re.search(rf"\"{kebab(op)}\"", src) and re.search(rf"\"{service}\"", src) for src in python.values())
        # Tests of an unimplemented operation only check its NotImplemented answer.
        t = implemented
        out.append((op, implemented, lifecycle, t and sdk_rust, t and bool(boto_files),
                    t and cbor and service == "workspaces", t and cli))
    return out


def table(rs, service):
    yes = "✓"
    lines = [
        "| operation | implemented | lifecycle states | Rust SDK | boto3 json | boto3 cbor | AWS CLI |",
        "|---|---|---|---|---|---|---|",
    ]
    for op, impl, life, rust, boto, cbor, cli in rs:
        lines.append(
            f"| {op} | {yes if impl else 'not yet (NotImplemented)'} | {yes if life else ''} | "
            f"{yes if rust else ''} | {yes if boto else ''} | {yes if cbor else ('n/a' if service == 'ds' else '')} | "
            f"{yes if cli else ''} |"
        )
    return lines


def render():
    ws_model = json.loads(read("model/workspaces/service-2.json"))
    ds_model = json.loads(read("model/ds/service-2.json"))
    version = read("model/VERSION").strip()
    ws_ops = sorted(ws_model["operations"])
    ds_rows = rows("ds", "DirectoryServiceApi", sorted(ds_model["operations"]))
    ds_rows = [r for r in ds_rows if r[1]]
    ws_rows = rows("workspaces", "WorkspacesApi", ws_ops)
    done = sum(1 for r in ws_rows if r[1])
    tested = sum(1 for r in ws_rows if r[1] and (r[3] or r[4]))
    lines = [
        "# Coverage",
        "",
        "Generated by `python3 scripts/coverage.py` from the vendored model "
        f"({version}), the service code and the tests; CI fails when it is stale.",
        "",
        f"**WorkSpaces: {done} of {len(ws_ops)} operations implemented**, {tested} of them exercised "
        "by the Rust SDK and/or boto3 tests. Every other operation answers `NotImplemented` "
        "(HTTP 501) naming itself. *Lifecycle states*: the operation moves its resource through "
        "timed states on the lifecycle engine. *boto3 cbor*: the boto3 tests also run with the "
        "client forced to Smithy RPC v2 CBOR.",
        "",
        unbounded_note(ws_model),
        "",
        "## WorkSpaces (`WorkspacesService`, 2015-04-08)",
        "",
        *table(ws_rows, "workspaces"),
        "",
        "## Directory Service (`DirectoryService_20150416`), the subset WorkSpaces needs",
        "",
        f"{len(ds_rows)} operations. The others answer `UnsupportedOperationException` naming themselves.",
        "",
        *table(ds_rows, "ds"),
        "",
    ]
    # Hand-written notes (choices for inferred behaviour) follow the generated tables.
    notes = os.path.join(ROOT, "docs", "coverage-notes.md")
    if os.path.exists(notes):
        lines += [read("docs", "coverage-notes.md").rstrip("\n"), ""]
    return "\n".join(lines)


def unbounded_note(model):
    """The limit on string members the model leaves without a maximum length."""
    m = re.search(r"UNBOUNDED_STRING_MAX: i64 = (\d+);", read("crates/localspaces-codegen/src/emit.rs"))
    limit = m.group(1) if m else "?"
    names = sorted(
        n for n, sh in model["shapes"].items()
        if sh["type"] == "string" and "max" not in sh and "enum" not in sh
    )
    return (
        f"*Limits the model leaves open* (inferred): a string whose shape sets no maximum length "
        f"({len(names)} WorkSpaces shapes: {', '.join('`' + n + '`' for n in names)}) holds at most "
        f"{limit} characters (`UNBOUNDED_STRING_MAX` in localspaces-codegen, the largest maximum "
        "the model sets on any string); longer values answer `ValidationException`. Request "
        "bodies are capped by `--max-body` (16 MiB by default, `RequestEntityTooLargeException`)."
    )


def main():
    text = render()
    if "--check" in sys.argv:
        current = open(OUT, encoding="utf-8").read() if os.path.exists(OUT) else ""
        if current != text:
            print("COVERAGE.md is stale: run 'python3 scripts/coverage.py' and commit", file=sys.stderr)
            sys.exit(1)
        return
    with open(OUT, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
