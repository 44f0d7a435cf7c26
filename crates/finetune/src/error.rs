//! The one error type of fine-tuning; every variant names the file, folder or option at
//! fault and, where there is one, what to do about it.

use std::path::PathBuf;

/// Why fine-tuning (or writing the synthetic dataset) could not go on.
#[derive(Debug, thiserror::Error)]
pub enum FinetuneError {
    /// Reading the dataset, its ground truth or the embedding cache failed.
    #[error(transparent)]
    Eval(#[from] eval::EvalError),
    /// Encoding a scan, caching its embedding or scoring the validation set failed.
    #[error(transparent)]
    Study(#[from] study::StudyError),
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// An option value is invalid.
    #[error("{option}: {message}")]
    Option {
        /// The option, e.g. `--lr`.
        option: &'static str,
        /// What is wrong and what is expected.
        message: String,
    },
    /// The output or model folder holds something that does not fit.
    #[error("{}: {message}", path.display())]
    Output {
        /// The folder or file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The model refused an input, or weights could not be read or written.
    #[error("{context}: {source}")]
    Model {
        /// What was being done.
        context: String,
        /// Why.
        source: sam::SamError,
    },
}

impl FinetuneError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FinetuneError::Io {
            path: path.into(),
            source,
        }
    }

    /// A bad option value.
    pub fn option(option: &'static str, message: impl Into<String>) -> Self {
        FinetuneError::Option {
            option,
            message: message.into(),
        }
    }

    /// An output or model folder problem.
    pub fn output(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        FinetuneError::Output {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A model-side failure while doing `context`.
    pub fn model(context: impl Into<String>, source: sam::SamError) -> Self {
        FinetuneError::Model {
            context: context.into(),
            source,
        }
    }
}

impl From<runfolder::RunFolderError> for FinetuneError {
    fn from(e: runfolder::RunFolderError) -> Self {
        match e {
            runfolder::RunFolderError::Io { path, source } => FinetuneError::Io { path, source },
            runfolder::RunFolderError::Refused { path, message } => {
                FinetuneError::Output { path, message }
            }
        }
    }
}
