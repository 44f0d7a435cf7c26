//! `samscope segment`: prompts in original pixels → best mask PNG, low-res logits, JSON.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use sam::embedding_codec::EmbeddingData;
use sam::export::{ExportDtype, export_decoder, load_decoder};
use sam::session::{ChosenIn, Step, replay};
use sam::{Embedding, Prediction, PromptInput, SamPredictor};
use serde::{Deserialize, Serialize};

use crate::error::CliError;
use crate::files::{read_npy_f32, write_mask_png, write_npy};
use crate::model::ModelArgs;

/// Arguments of `samscope segment`.
#[derive(Debug, clap::Args)]
pub struct SegmentArgs {
    /// The scan: PNG, JPEG, TIFF, PNM, DICOM, NIfTI (.nii, .nii.gz), NRRD or MetaImage
    /// (.mha, .mhd); a volume needs --slice (and takes --window).
    #[arg(long)]
    pub image: PathBuf,
    #[command(flatten)]
    pub scan: crate::scan::SliceArgs,
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
    /// Replay a session the viewer exported (its JSON download): every click and box in
    /// order, each decode chained to the candidate kept at the step before — the
    /// viewer's mask, bit for bit on the same backend. Takes the model and `--wire` from
    /// the file; no --point/--box/--mask-input with it.
    #[arg(long, value_name = "SESSION.json")]
    pub replay: Option<PathBuf>,
    /// Precision the embedding and decoder weights travel in to the decoder: `f16` rounds
    /// both as the server sends them to the browser, `f32` (default) keeps them exact.
    #[arg(long, value_name = "f32|f16")]
    pub wire: Option<ExportDtype>,
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

/// What `--replay` reads from the viewer's session export (other fields are ignored).
#[derive(Debug, Deserialize)]
struct SessionFile {
    /// Model the session ran.
    model: String,
    /// `f16` or `f32`: the precision embedding and weights reached the decoder in.
    wire: String,
    /// Clicks and boxes in order.
    steps: Vec<Step>,
}

fn read_session(path: &Path) -> Result<SessionFile, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::arg("--replay", format!("{}: {e}", path.display())))?;
    let session: SessionFile = serde_json::from_str(&text).map_err(|e| {
        CliError::arg(
            "--replay",
            format!("{}: not a samscope session export: {e}", path.display()),
        )
    })?;
    if session.steps.is_empty() {
        return Err(CliError::arg(
            "--replay",
            format!("{}: `steps` is empty", path.display()),
        ));
    }
    Ok(session)
}

/// The embedding and a decoder as they reach the browser: rounded through `wire`.
fn through_wire(
    predictor: SamPredictor,
    embedding: Embedding,
    wire: ExportDtype,
) -> Result<(SamPredictor, Embedding), CliError> {
    if wire == ExportDtype::F32 {
        return Ok((predictor, embedding));
    }
    let config = predictor.config().clone();
    let device = predictor.device().clone();
    let fail = |e| CliError::model("--wire", e);
    let bytes = export_decoder(&config, predictor.decoder(), wire).map_err(fail)?;
    let decoder = load_decoder(&config, bytes, &device).map_err(fail)?;
    let encoded = EmbeddingData::from_embedding(&embedding, wire)
        .and_then(|e| e.encode())
        .map_err(fail)?;
    let embedding = EmbeddingData::decode(&encoded)
        .map_err(fail)?
        .into_embedding(&device);
    Ok((
        SamPredictor::decoder_only(config, decoder, device),
        embedding,
    ))
}

/// Replays a viewer session; the last step's prediction and kept candidate.
fn run_replay(
    args: &SegmentArgs,
    path: &Path,
) -> Result<(SamPredictor, Prediction, usize), CliError> {
    if !args.points.is_empty() || args.bbox.is_some() || args.mask_input.is_some() {
        return Err(CliError::arg(
            "--replay",
            "the session file holds the prompts; drop --point, --box and --mask-input",
        ));
    }
    let session = read_session(path)?;
    let mut model = args.model.clone();
    model.model = session.model.clone();
    let wire: ExportDtype = match args.wire {
        Some(w) => w,
        None => session.wire.parse().map_err(|e: String| {
            CliError::arg("--replay", format!("{}: wire: {e}", path.display()))
        })?,
    };
    let image = crate::scan::read_scan(&args.image, &args.scan)?;
    let predictor = model.load()?;
    let embedding = predictor
        .embed(&image)
        .map_err(|e| CliError::model(args.image.display().to_string(), e))?;
    let (predictor, embedding) = through_wire(predictor, embedding, wire)?;
    let mut outcomes = replay(&predictor, &embedding, &session.steps)
        .map_err(|e| CliError::model(path.display().to_string(), e))?;
    let last = outcomes.pop().expect("steps is not empty");
    let chosen = session.steps[session.steps.len() - 1].chosen_in(&last);
    Ok((predictor, last, chosen))
}

/// Runs the command.
pub fn run(args: &SegmentArgs) -> Result<(), CliError> {
    let (predictor, prediction, chosen) = match &args.replay {
        Some(path) => run_replay(args, path)?,
        None => run_prompts(args)?,
    };
    write_outputs(args, &predictor, &prediction, chosen)
}

/// Decodes the prompts given on the command line once.
fn run_prompts(args: &SegmentArgs) -> Result<(SamPredictor, Prediction, usize), CliError> {
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
    let image = crate::scan::read_scan(&args.image, &args.scan)?;
    let predictor = args.model.load()?;
    if let Some(path) = &args.mask_input {
        let size = predictor.config().low_res_size();
        prompt.mask_input = Some(mask_input_tensor(path, size, predictor.device())?);
    }
    let embedding = predictor
        .embed(&image)
        .map_err(|e| CliError::model(args.image.display().to_string(), e))?;
    let (predictor, embedding) =
        through_wire(predictor, embedding, args.wire.unwrap_or(ExportDtype::F32))?;
    let prediction = predictor
        .predict(&embedding, &prompt)
        .map_err(|e| CliError::model("prompt", e))?;
    let chosen = prediction.best();
    Ok((predictor, prediction, chosen))
}

/// Writes the mask, the logits and the summary the flags ask for.
fn write_outputs(
    args: &SegmentArgs,
    predictor: &SamPredictor,
    prediction: &Prediction,
    chosen: usize,
) -> Result<(), CliError> {
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
            width: mask.width,
            height: mask.height,
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
