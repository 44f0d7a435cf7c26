//! `samscope embed`: run the image encoder once per image and save each embedding as `.npy`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use study::progress::Progress;

use crate::error::CliError;
use crate::files::write_npy;
use crate::model::ModelArgs;

/// Arguments of `samscope embed`.
#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// The scans (PNG, JPEG, TIFF, PNM, DICOM, NIfTI, NRRD, MetaImage); repeat `--image` or
    /// list several after it. Volumes need --slice (the same slice of each).
    #[arg(long, required = true, num_args = 1..)]
    pub image: Vec<PathBuf>,
    #[command(flatten)]
    pub scan: crate::scan::SliceArgs,
    /// One image: the `.npy` file to write. Several images (or a folder): the folder that
    /// receives one `<stem>.npy` per image. Each holds the `1×256×64×64` f32 embedding.
    #[arg(long)]
    pub out: PathBuf,
    /// No progress bar on stderr.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Where each image's embedding goes: `--out` itself for one image named `*.npy`,
/// else `--out/<stem>.npy`; two images with the same stem are refused.
pub fn output_paths(images: &[PathBuf], out: &Path) -> Result<Vec<PathBuf>, CliError> {
    let single_file = images.len() == 1
        && !out.is_dir()
        && out
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if single_file {
        return Ok(vec![out.to_path_buf()]);
    }
    let mut seen = HashSet::new();
    images
        .iter()
        .map(|image| {
            let stem = image.file_stem().ok_or_else(|| {
                CliError::arg("--image", format!("{}: no file name", image.display()))
            })?;
            if !seen.insert(stem.to_os_string()) {
                return Err(CliError::arg(
                    "--image",
                    format!(
                        "two images are named `{}`; their embeddings would overwrite each other in {}",
                        stem.to_string_lossy(),
                        out.display()
                    ),
                ));
            }
            Ok(out.join(stem).with_extension("npy"))
        })
        .collect()
}

/// Runs the command.
pub fn run(args: &EmbedArgs) -> Result<(), CliError> {
    let outputs = output_paths(&args.image, &args.out)?;
    if outputs.len() > 1 || outputs[0] != args.out {
        std::fs::create_dir_all(&args.out).map_err(|e| CliError::io(&args.out, e))?;
    }
    let predictor = args.model.load()?;
    let mut progress = Progress::new(args.image.len(), 0, !args.quiet && args.image.len() > 1);
    for (path, out) in args.image.iter().zip(&outputs) {
        let image = crate::scan::read_scan(path, &args.scan)?;
        let embedding = predictor
            .embed(&image)
            .map_err(|e| CliError::model(path.display().to_string(), e))?;
        let shape = embedding.tensor.dims();
        let values = embedding
            .tensor
            .try_into_vec_as::<f32>()
            .map_err(|e| CliError::arg("--image", format!("reading the embedding: {e:?}")))?;
        write_npy(out, &shape, &values)?;
        progress.image_done(0, 0.0);
    }
    progress.finish();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_image_writes_the_named_file_several_write_into_the_folder() {
        let one = output_paths(&[PathBuf::from("a/scan.png")], Path::new("e.npy")).unwrap();
        assert_eq!(one, vec![PathBuf::from("e.npy")]);
        let dir = output_paths(&[PathBuf::from("a/scan.png")], Path::new("out")).unwrap();
        assert_eq!(dir, vec![PathBuf::from("out/scan.npy")]);
        let many = output_paths(
            &[PathBuf::from("a/x.png"), PathBuf::from("b/y.tif")],
            Path::new("out"),
        )
        .unwrap();
        assert_eq!(
            many,
            vec![PathBuf::from("out/x.npy"), PathBuf::from("out/y.npy")]
        );
        assert!(
            output_paths(
                &[PathBuf::from("a/x.png"), PathBuf::from("b/x.jpg")],
                Path::new("o")
            )
            .is_err()
        );
    }
}
