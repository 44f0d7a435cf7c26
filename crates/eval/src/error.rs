//! The one error type of the evaluation library (reading datasets, prompting, measuring);
//! every variant names the file, folder or option at fault and, where there is one, what
//! to do about it.

use std::path::PathBuf;

/// Why a dataset could not be read or a prompt or measurement not be made.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A scan could not be decoded.
    #[error("{}: {source}", path.display())]
    Image {
        /// The scan.
        path: PathBuf,
        /// Why.
        source: imaging::ImagingError,
    },
    /// A ground-truth mask could not be decoded or has the wrong kind of pixels.
    #[error("{}: {message}", path.display())]
    Mask {
        /// The mask file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The data folder does not look like the layout it was said to be.
    #[error("{}: {message}", path.display())]
    Layout {
        /// The folder or file that is missing or unexpected.
        path: PathBuf,
        /// What the layout expects there.
        message: String,
    },
    /// An option value is invalid.
    #[error("{option}: {message}")]
    Option {
        /// The option, e.g. `--shard`.
        option: &'static str,
        /// What is wrong and what is expected.
        message: String,
    },
}

impl EvalError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EvalError::Io {
            path: path.into(),
            source,
        }
    }

    /// A bad mask file.
    pub fn mask(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        EvalError::Mask {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A data folder that does not match its layout.
    pub fn layout(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        EvalError::Layout {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A bad option value.
    pub fn option(option: &'static str, message: impl Into<String>) -> Self {
        EvalError::Option {
            option,
            message: message.into(),
        }
    }
}
