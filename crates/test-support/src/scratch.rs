//! Scratch folders under the system's temporary folder, one set per test process.

use std::path::PathBuf;

/// `<temp>/samscope-<suite>-<pid>/<name>`, gone (anything an earlier run of the same
/// process id left there is removed), its parent folder made: a path for the code under
/// test to create, as a file or a folder.
pub fn scratch_path(suite: &str, name: &str) -> PathBuf {
    let path = std::env::temp_dir()
        .join(format!("samscope-{suite}-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&path);
    let _ = std::fs::remove_file(&path);
    std::fs::create_dir_all(path.parent().expect("a scratch path has a parent"))
        .expect("the temporary folder is writable");
    path
}

/// [`scratch_path`]`(suite, name)` made as an empty folder.
pub fn scratch_dir(suite: &str, name: &str) -> PathBuf {
    let dir = scratch_path(suite, name);
    std::fs::create_dir_all(&dir).expect("the temporary folder is writable");
    dir
}
