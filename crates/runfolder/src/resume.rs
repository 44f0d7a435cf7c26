//! Whether an output folder can take a run: a new run only in a new or empty folder, and
//! `--resume` only of the run recorded there (`run.json`) with this run's settings.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

/// The file in a run folder that records the run's settings.
pub const RUN_FILE: &str = "run.json";

/// Why a folder cannot take a run.
#[derive(Debug, thiserror::Error)]
pub enum RunFolderError {
    /// The folder or its run file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The folder holds something else, or another run; the message says what to do.
    #[error("{}: {message}", path.display())]
    Refused {
        /// The folder.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
}

/// A command's output folder (`--out`), and how that command's messages name its runs.
#[derive(Debug, Clone, Copy)]
pub struct RunFolder<'a> {
    /// The folder.
    pub dir: &'a Path,
    /// What the command's runs are called, e.g. `a run`: "already holds a run (run.json)".
    pub run: &'a str,
    /// What the command's folders are called, e.g. `an evaluation folder`: "exists and is
    /// not an evaluation folder (no run.json)".
    pub kind: &'a str,
    /// What may change when resuming, said after "use the same options", e.g.
    /// ` (only --epochs may grow)`; empty when nothing may.
    pub may_change: &'a str,
}

impl RunFolder<'_> {
    /// `DIR/run.json`.
    pub fn run_file(&self) -> PathBuf {
        self.dir.join(RUN_FILE)
    }

    /// The bytes of `DIR/run.json`; `Ok(None)` when there is none.
    pub fn read(&self) -> Result<Option<Vec<u8>>, RunFolderError> {
        let path = self.run_file();
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(RunFolderError::Io { path, source }),
        }
    }

    fn refused(&self, message: String) -> RunFolderError {
        RunFolderError::Refused {
            path: self.dir.to_path_buf(),
            message,
        }
    }

    /// Checks that the folder can take this run, given the run recorded there
    /// (`previous`, `None` when the folder has no run file): without one the folder must
    /// be new or empty; with one `resume` must be asked for and `compare` (called only
    /// then) must find no difference — it returns the differences as text (`None` when
    /// there are none), or the caller's error when the recorded run is unreadable.
    pub fn check<T, E>(
        &self,
        previous: Option<T>,
        resume: bool,
        compare: impl FnOnce(T) -> Result<Option<String>, E>,
    ) -> Result<(), E>
    where
        E: From<RunFolderError>,
    {
        let Some(previous) = previous else {
            return if self.is_new_or_empty()? {
                Ok(())
            } else {
                Err(self
                    .refused(format!(
                        "exists and is not {} (no {RUN_FILE}); choose a new or empty --out",
                        self.kind
                    ))
                    .into())
            };
        };
        if !resume {
            return Err(self
                .refused(format!(
                    "already holds {} ({RUN_FILE}): pass --resume to continue it, or choose another --out",
                    self.run
                ))
                .into());
        }
        match compare(previous)? {
            None => Ok(()),
            Some(differences) => Err(self
                .refused(format!(
                    "cannot resume: this run differs from the one there in {differences}; use the same options{} or another --out",
                    self.may_change
                ))
                .into()),
        }
    }

    /// Whether the folder does not exist or holds nothing.
    pub fn is_new_or_empty(&self) -> Result<bool, RunFolderError> {
        match std::fs::read_dir(self.dir) {
            Ok(mut entries) => Ok(entries.next().is_none()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(source) => Err(RunFolderError::Io {
                path: self.dir.to_path_buf(),
                source,
            }),
        }
    }
}

/// One setting that differs between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The setting's field name.
    pub field: String,
    /// Its value in this run.
    pub this: Value,
    /// Its value in the other run (`null` when that one lacks it).
    pub that: Value,
}

impl fmt::Display for Difference {
    /// `field: this vs that`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} vs {}", self.field, self.this, self.that)
    }
}

/// The top-level fields of `this` (as JSON) whose value differs in `that`, in the order
/// `serde_json` keeps an object's fields, leaving out the fields named in `ignore`; empty
/// unless both are JSON objects.
pub fn differences<T: Serialize>(this: &T, that: &T, ignore: &[&str]) -> Vec<Difference> {
    let (a, b) = (
        serde_json::to_value(this).expect("settings serialise"),
        serde_json::to_value(that).expect("settings serialise"),
    );
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else {
        return Vec::new();
    };
    a.iter()
        .filter(|(k, v)| !ignore.contains(&k.as_str()) && b.get(k.as_str()) != Some(*v))
        .map(|(k, v)| Difference {
            field: k.clone(),
            this: v.clone(),
            that: b.get(k.as_str()).cloned().unwrap_or_default(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Settings {
        seed: u64,
        data: &'static str,
        protocols: Vec<&'static str>,
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "samscope-runfolder-resume-{name}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn folder(dir: &Path) -> RunFolder<'_> {
        RunFolder {
            dir,
            run: "a test run",
            kind: "a test folder",
            may_change: " (only --epochs may grow)",
        }
    }

    /// `compare` for settings kept as a seed: the difference, if any.
    fn same_seed(this: u64) -> impl FnOnce(u64) -> Result<Option<String>, RunFolderError> {
        move |that| Ok((this != that).then(|| format!("seed: {this} vs {that}")))
    }

    fn message(result: Result<(), RunFolderError>) -> String {
        match result.unwrap_err() {
            RunFolderError::Refused { message, .. } => message,
            e => panic!("not a refusal: {e}"),
        }
    }

    #[test]
    fn a_new_or_empty_folder_takes_a_run_and_any_other_is_refused() {
        let dir = scratch("new");
        let f = folder(&dir);
        assert!(f.check(None, false, same_seed(0)).is_ok());
        assert!(f.check(None, true, same_seed(0)).is_ok());
        std::fs::create_dir_all(&dir).unwrap();
        assert!(f.check(None, false, same_seed(0)).is_ok());
        assert_eq!(f.read().unwrap(), None);
        std::fs::write(dir.join("notes.txt"), "mine").unwrap();
        let m = message(f.check(None, true, same_seed(0)));
        assert_eq!(
            m,
            "exists and is not a test folder (no run.json); choose a new or empty --out"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_recorded_run_resumes_only_when_asked_and_only_with_its_settings() {
        let dir = scratch("resume");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(RUN_FILE), "{}").unwrap();
        let f = folder(&dir);
        assert_eq!(f.read().unwrap().as_deref(), Some(&b"{}"[..]));
        let m = message(f.check(Some(3), false, same_seed(3)));
        assert_eq!(
            m,
            "already holds a test run (run.json): pass --resume to continue it, or choose another --out"
        );
        assert!(f.check(Some(3), true, same_seed(3)).is_ok());
        let m = message(f.check(Some(4), true, same_seed(3)));
        assert_eq!(
            m,
            "cannot resume: this run differs from the one there in seed: 3 vs 4; use the same options (only --epochs may grow) or another --out"
        );
        // The caller's own error (an unreadable run file) comes through.
        let unreadable = f.check(Some(3), true, |_| {
            Err(RunFolderError::Refused {
                path: dir.clone(),
                message: "not a run file".into(),
            })
        });
        assert_eq!(message(unreadable), "not a run file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn differences_name_the_fields_in_order_and_skip_the_ignored() {
        let a = Settings {
            seed: 0,
            data: "/a",
            protocols: vec!["box"],
        };
        let b = Settings {
            seed: 3,
            data: "/b",
            protocols: vec!["box", "centroid"],
        };
        let mut text: Vec<String> = differences(&a, &b, &[])
            .iter()
            .map(|d| d.to_string())
            .collect();
        text.sort();
        assert_eq!(
            text,
            [
                r#"data: "/a" vs "/b""#,
                r#"protocols: ["box"] vs ["box","centroid"]"#,
                "seed: 0 vs 3",
            ]
        );
        let fields: Vec<String> = differences(&a, &b, &["data", "protocols"])
            .into_iter()
            .map(|d| d.field)
            .collect();
        assert_eq!(fields, ["seed"]);
        assert!(differences(&a, &a, &[]).is_empty());
        assert!(differences(&1, &2, &[]).is_empty());
    }
}
