//! `samscope export-decoder`: the browser's weights (prompt encoder + mask decoder).

use std::path::PathBuf;

use sam::export::{ExportDtype, export_decoder};

use crate::error::CliError;
use crate::model::ModelArgs;

/// Arguments of `samscope export-decoder`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Output safetensors file.
    #[arg(long)]
    pub out: PathBuf,
    /// Storage precision: f16 (default, half the download) or f32.
    #[arg(long, default_value = "f16")]
    pub dtype: String,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Runs the command.
pub fn run(args: &ExportArgs) -> Result<(), CliError> {
    let dtype: ExportDtype = args
        .dtype
        .parse()
        .map_err(|e: String| CliError::arg("--dtype", e))?;
    let predictor = args.model.load()?;
    let bytes = export_decoder(predictor.config(), predictor.decoder(), dtype)
        .map_err(|e| CliError::model("export", e))?;
    runfolder::write_atomic(&args.out, &bytes).map_err(|e| CliError::io(&args.out, e))?;
    eprintln!(
        "wrote {} ({} bytes, {})",
        args.out.display(),
        bytes.len(),
        dtype.as_str()
    );
    Ok(())
}
