//! `samscope embed`: run the image encoder once and save the embedding as `.npy`.

use std::path::PathBuf;

use crate::error::CliError;
use crate::files::{read_image, write_npy};
use crate::model::ModelArgs;

/// Arguments of `samscope embed`.
#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// The scan (PNG, JPEG or TIFF).
    #[arg(long)]
    pub image: PathBuf,
    /// Where to write the `1×256×64×64` f32 embedding (`.npy`).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Runs the command.
pub fn run(args: &EmbedArgs) -> Result<(), CliError> {
    let image = read_image(&args.image)?;
    let predictor = args.model.load()?;
    let embedding = predictor
        .embed(&image)
        .map_err(|e| CliError::model(args.image.display().to_string(), e))?;
    let shape = embedding.tensor.dims();
    let values = embedding
        .tensor
        .try_into_vec_as::<f32>()
        .map_err(|e| CliError::arg("--image", format!("reading the embedding: {e:?}")))?;
    write_npy(&args.out, &shape, &values)
}
