//! The disk budget of the data directory (`--cache-max-bytes`): an in-memory index of the
//! embeddings, images and volumes stored there, ordered by last use, and the eviction of
//! the least recently used ones that no deck or running session uses. Also the sweep of
//! temporary files that writers killed mid-write left behind.
//!
//! Last use is tracked in memory (a read or write moves an entry to the front); at start
//! the index is rebuilt from the files, ordered by their modification time. Files being
//! read or written are pinned and never evicted.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

/// What part of the store a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    /// `embeddings/…/<id>.emb`: cached encoder outputs.
    Embeddings,
    /// `images/<ab>/<id>.png` (with its `.desc`): uploads and rendered slices.
    Images,
    /// `volumes/<ab>/<id>.vol`: uploaded volumes.
    Volumes,
}

impl Area {
    const ALL: [Area; 3] = [Area::Embeddings, Area::Images, Area::Volumes];

    fn slot(self) -> usize {
        self as usize
    }

    fn label(self) -> &'static str {
        match self {
            Area::Embeddings => "embeddings",
            Area::Images => "images",
            Area::Volumes => "volumes",
        }
    }

    /// The folder under the data directory and the extension of its indexed files.
    fn layout(self) -> (&'static str, &'static str) {
        match self {
            Area::Embeddings => ("embeddings", "emb"),
            Area::Images => ("images", "png"),
            Area::Volumes => ("volumes", "vol"),
        }
    }
}

#[derive(Debug)]
struct Entry {
    area: Area,
    size: u64,
    last: u64,
}

#[derive(Debug, Default)]
struct Index {
    clock: u64,
    entries: HashMap<PathBuf, Entry>,
    /// Last use → path, oldest first.
    order: BTreeMap<u64, PathBuf>,
    bytes: [u64; 3],
    files: [u64; 3],
    /// Paths being read or written, with how many are at it.
    pins: HashMap<PathBuf, usize>,
}

impl Index {
    fn insert(&mut self, path: PathBuf, area: Area, size: u64) {
        self.remove(&path);
        self.clock += 1;
        self.order.insert(self.clock, path.clone());
        self.bytes[area.slot()] += size;
        self.files[area.slot()] += 1;
        self.entries.insert(
            path,
            Entry {
                area,
                size,
                last: self.clock,
            },
        );
    }

    fn touch(&mut self, path: &Path) {
        self.clock += 1;
        let now = self.clock;
        if let Some(entry) = self.entries.get_mut(path) {
            let old = std::mem::replace(&mut entry.last, now);
            if let Some(path) = self.order.remove(&old) {
                self.order.insert(now, path);
            }
        }
    }

    fn remove(&mut self, path: &Path) -> Option<Entry> {
        let entry = self.entries.remove(path)?;
        self.order.remove(&entry.last);
        self.bytes[entry.area.slot()] -= entry.size;
        self.files[entry.area.slot()] -= 1;
        Some(entry)
    }

    fn total(&self) -> u64 {
        self.bytes.iter().sum()
    }
}

/// The index of the evictable files of one data directory, with its budget.
#[derive(Debug)]
pub struct DiskUsage {
    /// Bytes allowed in the three areas together; 0 for no limit.
    budget: AtomicU64,
    index: Mutex<Index>,
    evictions: [AtomicU64; 3],
    /// Set while everything left is in use and still over budget (warned once).
    warned: AtomicBool,
    /// Wakes the eviction task when a write takes the store over budget.
    wake: mpsc::Sender<()>,
    wakeups: Mutex<Option<mpsc::Receiver<()>>>,
}

/// A file pinned while it is read or written: eviction leaves it alone.
pub struct Pin<'a> {
    usage: &'a DiskUsage,
    path: PathBuf,
}

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        let mut index = self.usage.lock();
        if let Some(count) = index.pins.get_mut(&self.path) {
            *count -= 1;
            if *count == 0 {
                index.pins.remove(&self.path);
            }
        }
    }
}

/// Size of an indexed file; an image counts its descriptor too.
fn stored_size(area: Area, path: &Path) -> Option<u64> {
    let size = fs::metadata(path).ok()?.len();
    let descriptor = match area {
        Area::Images => fs::metadata(path.with_extension("desc")).map_or(0, |m| m.len()),
        Area::Embeddings | Area::Volumes => 0,
    };
    Some(size + descriptor)
}

/// Every file under `dir` (at most `depth` folders down) whose extension is `extension`,
/// with its size and modification time.
fn files_under(dir: &Path, extension: &str, depth: usize, out: &mut Vec<(SystemTime, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() && depth > 0 {
            files_under(&path, extension, depth - 1, out);
        } else if kind.is_file()
            && path.extension().is_some_and(|e| e == extension)
            && !entry.file_name().to_string_lossy().starts_with('.')
        {
            let modified = entry.metadata().and_then(|m| m.modified());
            out.push((modified.unwrap_or(SystemTime::UNIX_EPOCH), path));
        }
    }
}

impl DiskUsage {
    /// Indexes the embeddings, images and volumes stored under `root`, oldest first by
    /// modification time; no budget until [`DiskUsage::set_budget`].
    pub fn scan(root: &Path) -> Self {
        let mut index = Index::default();
        for area in Area::ALL {
            let (folder, extension) = area.layout();
            let mut found = Vec::new();
            files_under(&root.join(folder), extension, 2, &mut found);
            found.sort();
            for (_, path) in found {
                if let Some(size) = stored_size(area, &path) {
                    index.insert(path, area, size);
                }
            }
        }
        let (wake, wakeups) = mpsc::channel(1);
        Self {
            budget: AtomicU64::new(0),
            index: Mutex::new(index),
            evictions: Default::default(),
            warned: AtomicBool::new(false),
            wake,
            wakeups: Mutex::new(Some(wakeups)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the budget in bytes (0: unbounded) and wakes the eviction task if over it.
    pub fn set_budget(&self, bytes: u64) {
        self.budget.store(bytes, Ordering::Relaxed);
        self.wake_if_over();
    }

    /// The wake-ups of the eviction task (once; `None` after).
    pub fn take_wakeups(&self) -> Option<mpsc::Receiver<()>> {
        self.wakeups
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Whether the indexed files exceed the budget.
    pub fn over_budget(&self) -> bool {
        let budget = self.budget.load(Ordering::Relaxed);
        budget > 0 && self.lock().total() > budget
    }

    fn wake_if_over(&self) {
        if self.over_budget() {
            // Full: a wake-up is already pending.
            let _ = self.wake.try_send(());
        }
    }

    /// Pins `path` until the returned guard is dropped.
    pub fn pin(&self, path: &Path) -> Pin<'_> {
        *self.lock().pins.entry(path.to_path_buf()).or_default() += 1;
        Pin {
            usage: self,
            path: path.to_path_buf(),
        }
    }

    /// Indexes a file just written (as most recently used).
    pub fn record(&self, area: Area, path: &Path) {
        match stored_size(area, path) {
            Some(size) => self.lock().insert(path.to_path_buf(), area, size),
            None => {
                self.lock().remove(path);
            }
        }
        self.wake_if_over();
    }

    /// Marks an indexed file as just used.
    pub fn touch(&self, path: &Path) {
        self.lock().touch(path);
    }

    /// Forgets a file that was removed (damaged).
    pub fn forget(&self, path: &Path) {
        self.lock().remove(path);
    }

    /// Removes the least recently used files, skipping pinned ones and those `in_use`
    /// (given the area and the file's id) says a deck uses, until the indexed files fit
    /// the budget. Returns how many files were removed.
    pub fn evict(&self, in_use: &dyn Fn(Area, &str) -> bool) -> usize {
        let budget = self.budget.load(Ordering::Relaxed);
        if budget == 0 {
            return 0;
        }
        let mut index = self.lock();
        let mut total = index.total();
        let mut victims = Vec::new();
        for path in index.order.values() {
            if total <= budget {
                break;
            }
            let entry = &index.entries[path];
            let id = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if index.pins.contains_key(path) || in_use(entry.area, id) {
                continue;
            }
            total -= entry.size;
            victims.push(path.clone());
        }
        for path in &victims {
            let Some(entry) = index.remove(path) else {
                continue;
            };
            remove_file(path);
            if entry.area == Area::Images {
                remove_file(&path.with_extension("desc"));
            }
            self.evictions[entry.area.slot()].fetch_add(1, Ordering::Relaxed);
        }
        let still_over = index.total() > budget;
        drop(index);
        if still_over && !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                budget,
                "the data directory is over --cache-max-bytes, and what is left is in use by decks or being read"
            );
        } else if !still_over {
            self.warned.store(false, Ordering::Relaxed);
        }
        if !victims.is_empty() {
            tracing::info!(files = victims.len(), "evicted least recently used files");
        }
        victims.len()
    }

    /// The disk figures of `/metrics` (Prometheus text format 0.0.4).
    pub fn render(&self) -> String {
        let (bytes, files) = {
            let index = self.lock();
            (index.bytes, index.files)
        };
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, value: &dyn Fn(Area) -> u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for area in Area::ALL {
                let _ = writeln!(out, "{name}{{area=\"{}\"}} {}", area.label(), value(area));
            }
        };
        family(
            "samscope_disk_bytes",
            "gauge",
            "Bytes stored in the data directory, by area (embeddings, images, volumes).",
            &|a| bytes[a.slot()],
        );
        family(
            "samscope_disk_files",
            "gauge",
            "Files stored in the data directory, by area.",
            &|a| files[a.slot()],
        );
        family(
            "samscope_disk_evictions_total",
            "counter",
            "Files evicted to keep the data directory within --cache-max-bytes, by area.",
            &|a| self.evictions[a.slot()].load(Ordering::Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP samscope_disk_budget_bytes The --cache-max-bytes budget (0: unbounded).\n# TYPE samscope_disk_budget_bytes gauge\nsamscope_disk_budget_bytes {}",
            self.budget.load(Ordering::Relaxed)
        );
        out
    }
}

fn remove_file(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => tracing::error!(path = %path.display(), error = %e, "could not evict a file"),
    }
}

/// A temporary file of [`runfolder::write_atomic`] (`.NAME.PID.N.tmp`): the writer's pid.
fn temp_file_writer(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let mut parts = inner.rsplitn(3, '.');
    let counter = parts.next()?;
    let pid = parts.next()?;
    let file = parts.next()?;
    if file.is_empty() || counter.is_empty() || !counter.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` may still be writing: this process, or a running one where
/// `/proc` can tell (elsewhere every other process counts as running).
fn writer_running(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_fs = Path::new("/proc");
    !proc_fs.join("self").exists() || proc_fs.join(pid.to_string()).exists()
}

/// A temporary file whose writer is gone is removed after this long; any after a day.
const ORPHAN_AGE: Duration = Duration::from_secs(60);
const STALE_AGE: Duration = Duration::from_secs(24 * 3600);

/// The folders of the data directory that atomic writes put temporary files in.
const STORE_FOLDERS: [&str; 5] = ["images", "embeddings", "volumes", "masks", "models"];

/// Removes the temporary files that writers killed mid-write left behind in the data
/// directory `root` and its store folders; returns how many.
pub fn sweep_temp_files(root: &Path) -> usize {
    fn walk(dir: &Path, depth: usize, now: SystemTime, removed: &mut usize) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() && depth > 0 {
                walk(&entry.path(), depth - 1, now, removed);
                continue;
            }
            let name = entry.file_name();
            let Some(pid) = kind
                .is_file()
                .then(|| temp_file_writer(&name.to_string_lossy()))
                .flatten()
            else {
                continue;
            };
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            let orphaned = (age >= ORPHAN_AGE && !writer_running(pid)) || age >= STALE_AGE;
            if orphaned && fs::remove_file(entry.path()).is_ok() {
                *removed += 1;
            }
        }
    }
    let (mut removed, now) = (0, SystemTime::now());
    walk(root, 0, now, &mut removed);
    for folder in STORE_FOLDERS {
        walk(&root.join(folder), 3, now, &mut removed);
    }
    if removed > 0 {
        tracing::info!(
            files = removed,
            "removed temporary files left by interrupted writes"
        );
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("samscope-disk-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn write(path: &Path, bytes: usize) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, vec![7u8; bytes]).unwrap();
    }

    #[test]
    fn least_recently_used_files_go_first_and_used_or_pinned_ones_stay() {
        let root = scratch("lru");
        let (a, b, c, d) = (
            root.join("images/aa/a.png"),
            root.join("embeddings/m-w/bb/b.emb"),
            root.join("volumes/cc/c.vol"),
            root.join("images/dd/d.png"),
        );
        for path in [&a, &b, &c, &d] {
            write(path, 100);
        }
        write(&a.with_extension("desc"), 10);
        let usage = DiskUsage::scan(&root);
        assert!(
            usage
                .render()
                .contains("samscope_disk_bytes{area=\"images\"} 210")
        );
        assert!(!usage.over_budget(), "no budget: unbounded");
        assert_eq!(usage.evict(&|_, _| false), 0);
        for path in [&a, &b, &c, &d] {
            usage.record(Area::of_test(path), path);
        }
        usage.touch(&a); // order now: b, c, d, a
        usage.set_budget(250);
        assert!(usage.over_budget());
        let pin = usage.pin(&b);
        // b is pinned, c is in use: d goes, then a (with its descriptor).
        let evicted = usage.evict(&|area, id| area == Area::Volumes && id == "c");
        assert_eq!(evicted, 2);
        assert!(b.exists() && c.exists() && !d.exists() && !a.exists());
        assert!(!a.with_extension("desc").exists());
        drop(pin);
        let text = usage.render();
        assert!(
            text.contains("samscope_disk_evictions_total{area=\"images\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("samscope_disk_files{area=\"embeddings\"} 1"),
            "{text}"
        );
        assert!(text.contains("samscope_disk_budget_bytes 250"), "{text}");
        assert!(!usage.over_budget());
        let _ = fs::remove_dir_all(root);
    }

    impl Area {
        fn of_test(path: &Path) -> Area {
            match path.extension().and_then(|e| e.to_str()) {
                Some("emb") => Area::Embeddings,
                Some("vol") => Area::Volumes,
                _ => Area::Images,
            }
        }
    }

    #[test]
    fn only_temporary_files_of_gone_writers_are_swept() {
        let root = scratch("sweep");
        let old = SystemTime::now() - Duration::from_secs(3600);
        let orphan = root.join("images/ab/.x.png.999999999.3.tmp");
        let ours = root
            .join("images/ab")
            .join(format!(".y.png.{}.0.tmp", std::process::id()));
        let fresh = root.join("embeddings/m/ab/.z.emb.999999999.0.tmp");
        let stored = root.join("images/ab/x.png");
        for path in [&orphan, &ours, &fresh, &stored] {
            write(path, 4);
        }
        for path in [&orphan, &ours, &stored] {
            fs::File::options()
                .write(true)
                .open(path)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        assert_eq!(sweep_temp_files(&root), 1);
        assert!(!orphan.exists() && ours.exists() && fresh.exists() && stored.exists());
        assert_eq!(
            temp_file_writer(".decoder.f16.safetensors.12.0.tmp"),
            Some(12)
        );
        assert_eq!(temp_file_writer(".x.png.tmp"), None);
        assert_eq!(temp_file_writer("x.png.1.2.tmp"), None);
        let _ = fs::remove_dir_all(root);
    }
}
