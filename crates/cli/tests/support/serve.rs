//! `samscope serve` for the browser tests: a free loopback port, its own data directory,
//! the given viewer bundle, run from the checkout so `static/` is served too.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cdp::TempDir;

/// The checkout's root.
pub fn root() -> PathBuf {
    test_support::workspace_root()
}

/// A running server, stopped on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Its data directory (removed on drop).
    pub data: TempDir,
}

impl Server {
    /// Starts the server on `web_dir` and waits until it accepts connections.
    pub fn start(web_dir: &Path) -> Self {
        Self::start_with(Some(web_dir), &[])
    }

    /// The server's process id (for reading its `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts the server with the viewer bundle `web_dir` (if any) and `extra` arguments,
    /// and waits until it accepts connections.
    pub fn start_with(web_dir: Option<&Path>, extra: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data =
            std::env::temp_dir().join(format!("samscope-serve-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_samscope"))
            .current_dir(root())
            .args([
                "serve",
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(&data)
            .args(
                web_dir
                    .map(|dir| ["--web-dir".as_ref(), dir.as_os_str()])
                    .into_iter()
                    .flatten(),
            )
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("samscope serve starts");
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the server did not start in 120 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
            data: TempDir(data),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
