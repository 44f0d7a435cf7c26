//! The one error type of a study run; every variant names the file, folder or option at
//! fault and, where there is one, what to do about it.

use std::path::PathBuf;

/// Why a run, a merge or an encoder pass could not go on.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// Reading the dataset, a prompt or a measurement failed, or an option is invalid.
    #[error(transparent)]
    Eval(#[from] eval::EvalError),
    /// The output folder holds results that do not fit this run.
    #[error("{}: {message}", path.display())]
    Output {
        /// The output folder or file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The model refused an image or a prompt.
    #[error("{context}: {source}")]
    Model {
        /// The image (and prompt) concerned.
        context: String,
        /// Why.
        source: sam::SamError,
    },
}

impl StudyError {
    /// An I/O failure on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        eval::EvalError::io(path, source).into()
    }

    /// A bad option value.
    pub fn option(option: &'static str, message: impl Into<String>) -> Self {
        eval::EvalError::option(option, message).into()
    }

    /// An output folder problem.
    pub fn output(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        StudyError::Output {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl From<runfolder::RunFolderError> for StudyError {
    fn from(e: runfolder::RunFolderError) -> Self {
        match e {
            runfolder::RunFolderError::Io { path, source } => StudyError::io(path, source),
            runfolder::RunFolderError::Refused { path, message } => {
                StudyError::Output { path, message }
            }
        }
    }
}
