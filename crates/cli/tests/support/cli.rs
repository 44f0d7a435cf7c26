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

/// Runs a command that must succeed; returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = samscope(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
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
    let dir = std::env::temp_dir()
        .join(format!("samscope-cli-{suite}-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A path as an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `$SAMSCOPE_TESTDATA/<name>` (default `$SAMSCOPE_HOME/testdata`, else
/// `~/.cache/samscope/testdata`), which must exist (`scripts/fetch-testdata.sh`).
pub fn testdata(name: &str) -> std::path::PathBuf {
    use std::path::PathBuf;
    let home = std::env::var_os("SAMSCOPE_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/samscope"),
        PathBuf::from,
    );
    let dir =
        std::env::var_os("SAMSCOPE_TESTDATA").map_or_else(|| home.join("testdata"), PathBuf::from);
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing; run scripts/fetch-testdata.sh",
        path.display()
    );
    path
}
