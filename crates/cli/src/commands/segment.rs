//! `samscope segment`: prompts in original pixels → best mask PNG, low-res logits, JSON.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use sam::PromptInput;
use serde::Serialize;

use crate::error::CliError;
use crate::files::{read_image, read_npy_f32, write_mask_png, write_npy};
use crate::model::ModelArgs;

/// Arguments of `samscope segment`.
#[derive(Debug, clap::Args)]
pub struct SegmentArgs {
    /// The scan (PNG, JPEG or TIFF).
    #[arg(long)]
    pub image: PathBuf,
    /// A click `X,Y[,LABEL]` in original pixels (x = column, y = row); LABEL 1 (default,
    /// foreground) or 0 (background). Repeat for several clicks.
    #[arg(long = "point", value_name = "X,Y[,LABEL]")]
    pub points: Vec<String>,
    /// A box `X0,Y0,X1,Y1` in original pixels.
    #[arg(long = "box", value_name = "X0,Y0,X1,Y1")]
    pub bbox: Option<String>,
    /// Previous low-res logits (`256×256`, `1×256×256` or `1×1×256×256` f32 `.npy`).
    #[arg(long)]
    pub mask_input: Option<PathBuf>,
    /// Return three candidate masks instead of one.
    #[arg(long)]
    pub multimask: bool,
    /// Where to write the chosen mask as a 0/255 PNG at the original size.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where to write the low-res logits of all candidates (`C×256×256` f32 `.npy`).
    #[arg(long)]
    pub low_res_out: Option<PathBuf>,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// The `--json` summary.
#[derive(Debug, Serialize)]
struct Summary {
    model: String,
    width: usize,
    height: usize,
    iou_predictions: Vec<f32>,
    chosen: usize,
    area: usize,
}

fn parse_numbers(flag: &'static str, text: &str, counts: &[usize]) -> Result<Vec<f64>, CliError> {
    let values = text
        .split(',')
        .map(|t| t.trim().parse::<f64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CliError::arg(flag, format!("`{text}` is not a list of numbers")))?;
    if !counts.contains(&values.len()) || values.iter().any(|v| !v.is_finite()) {
        return Err(CliError::arg(
            flag,
            format!(
                "`{text}` must have {} finite numbers",
                counts
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
    }
    Ok(values)
}

/// Parses `X,Y[,LABEL]`.
pub fn parse_point(text: &str) -> Result<([f64; 2], i32), CliError> {
    let v = parse_numbers("--point", text, &[2, 3])?;
    let label = match v.get(2) {
        None => 1,
        Some(&1.0) => 1,
        Some(&0.0) => 0,
        Some(l) => {
            return Err(CliError::arg(
                "--point",
                format!("label {l} in `{text}`; use 1 (foreground) or 0 (background)"),
            ));
        }
    };
    Ok(([v[0], v[1]], label))
}

/// Parses `X0,Y0,X1,Y1`.
pub fn parse_box(text: &str) -> Result<[f64; 4], CliError> {
    let v = parse_numbers("--box", text, &[4])?;
    Ok([v[0], v[1], v[2], v[3]])
}

fn mask_input_tensor(path: &Path, size: usize, device: &Device) -> Result<Tensor<4>, CliError> {
    let arr = read_npy_f32("--mask-input", path)?;
    let plane_ok = arr.shape.len() >= 2 && arr.shape[arr.shape.len() - 2..] == [size, size];
    let leading_ones = arr.shape[..arr.shape.len().saturating_sub(2)]
        .iter()
        .all(|&d| d == 1);
    if !(plane_ok && leading_ones && arr.shape.len() <= 4) {
        return Err(CliError::arg(
            "--mask-input",
            format!(
                "{}: shape {:?}; expected one {size}×{size} plane ({size}×{size}, 1×{size}×{size} or 1×1×{size}×{size}) — pick one candidate of a multimask output",
                path.display(),
                arr.shape
            ),
        ));
    }
    Ok(Tensor::from_data(
        TensorData::new(arr.data, [1, 1, size, size]),
        device,
    ))
}

/// Runs the command.
pub fn run(args: &SegmentArgs) -> Result<(), CliError> {
    let mut prompt = PromptInput {
        multimask: args.multimask,
        ..Default::default()
    };
    for text in &args.points {
        let (point, label) = parse_point(text)?;
        prompt.points.push(point);
        prompt.labels.push(label);
    }
    prompt.bbox = args.bbox.as_deref().map(parse_box).transpose()?;
    if prompt.points.is_empty() && prompt.bbox.is_none() && args.mask_input.is_none() {
        return Err(CliError::arg(
            "--point/--box",
            "give at least one --point X,Y[,LABEL] or a --box X0,Y0,X1,Y1",
        ));
    }
    let image = read_image(&args.image)?;
    let predictor = args.model.load()?;
    if let Some(path) = &args.mask_input {
        let size = predictor.config().low_res_size();
        prompt.mask_input = Some(mask_input_tensor(path, size, predictor.device())?);
    }
    let embedding = predictor
        .embed(&image)
        .map_err(|e| CliError::model(args.image.display().to_string(), e))?;
    let prediction = predictor
        .predict(&embedding, &prompt)
        .map_err(|e| CliError::model("prompt", e))?;
    let chosen = prediction.best();
    let mask = &prediction.masks[chosen];
    if let Some(out) = &args.out {
        write_mask_png(out, mask)?;
    }
    if let Some(out) = &args.low_res_out {
        let [_, c, h, w] = prediction.low_res_logits.dims();
        let values = prediction
            .low_res_logits
            .clone()
            .try_into_vec_as::<f32>()
            .map_err(|e| CliError::arg("--low-res-out", format!("reading logits: {e:?}")))?;
        write_npy(out, &[c, h, w], &values)?;
    }
    if args.json {
        let summary = Summary {
            model: predictor.config().id.to_string(),
            width: image.width,
            height: image.height,
            iou_predictions: prediction.iou_predictions.clone(),
            chosen,
            area: mask.area(),
        };
        println!(
            "{}",
            serde_json::to_string(&summary).expect("summary serialises")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_default_to_foreground_and_reject_bad_labels() {
        assert_eq!(parse_point("10,20").unwrap(), ([10.0, 20.0], 1));
        assert_eq!(parse_point("10.5, 20,0").unwrap(), ([10.5, 20.0], 0));
        assert!(parse_point("10,20,2").is_err());
        assert!(parse_point("10").is_err());
        assert!(parse_point("a,b").is_err());
        assert!(parse_point("nan,1").is_err());
    }

    #[test]
    fn boxes_need_four_numbers() {
        assert_eq!(parse_box("1,2,3,4").unwrap(), [1.0, 2.0, 3.0, 4.0]);
        assert!(parse_box("1,2,3").is_err());
    }
}
