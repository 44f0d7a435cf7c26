//! What every samscope command that writes a run folder (`samscope eval`, `samscope
//! finetune`, `samscope export`) or a store (the server's data directory) shares:
//!
//! - [`write_atomic`]: a file is replaced whole or not at all, and stays replaced after a
//!   crash or a power cut (the temporary file and its folder are synced);
//! - [`RunFolder::check`]: a folder can take a new run only when it is new or empty, and
//!   resume one only when the settings recorded there are this run's;
//! - [`Ticker`]: a progress line on stderr, redrawn in place on a terminal and every few
//!   seconds otherwise, with an ETA ([`eta`], [`clock`]).

#![warn(missing_docs)]

mod atomic;
mod progress;
mod resume;

pub use atomic::{sync_file, sync_folder, write_atomic, write_atomic_with};
pub use progress::{Ticker, clock, eta};
pub use resume::{Difference, RunFolder, RunFolderError, differences};
