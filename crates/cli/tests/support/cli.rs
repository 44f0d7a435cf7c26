//! Running the `samscope` binary of this build from the CLI tests.

use std::path::Path;
use std::process::{Command, Output};

/// Runs `samscope ARGS` and collects its output.
pub fn samscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_samscope"))
        .args(args)
        .output()
        .expect("samscope runs")
}

/// Runs a command that must succeed; returns its output.
pub fn succeeds(args: &[&str]) -> Output {
    let out = samscope(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command that must succeed; returns its standard output.
pub fn ok(args: &[&str]) -> String {
    String::from_utf8(succeeds(args).stdout).unwrap()
}

/// Runs a command that must succeed and print JSON (`--json`); returns the JSON.
pub fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&ok(args)).expect("--json prints JSON")
}

/// Runs a command that must fail with exit code 2 and a message containing every needle.
pub fn fails_with(args: &[&str], needles: &[&str]) {
    let out = samscope(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: stderr {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` not in: {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
}

/// A path `<temp>/samscope-cli-<suite>-<pid>/<name>` that does not exist yet (anything left
/// there by an earlier run of the same process id is removed).
pub fn scratch_in(suite: &str, name: &str) -> std::path::PathBuf {
    test_support::scratch_path(&format!("cli-{suite}"), name)
}

/// A path as an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `$SAMSCOPE_TESTDATA/<name>`, which must exist (see [`test_support::testdata`]).
pub fn testdata(name: &str) -> std::path::PathBuf {
    test_support::testdata(name)
}
