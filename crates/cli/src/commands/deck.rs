//! `samscope deck`: teaching decks in a data directory — create one from a labelled
//! dataset folder, list, export to a single file, import, and start a session.
//! The same checks and storage as the server's HTTP API (`teaching::DeckLibrary` over the
//! server's content store, `server::Content`).

use std::io::Cursor;
use std::path::{Path, PathBuf};

use api::{Case, DeckInput};
use eval::Layout;
use eval::ground_truth::{Classes, LabelMap};
use eval::sample::Loader;
use image::{ImageBuffer, ImageFormat, Luma};
use server::Content;
use teaching::deck::MAX_CASES;
use teaching::{DeckLibrary, TeachingError};

use crate::error::CliError;
use crate::model::data_dir;

/// Arguments of `samscope deck`.
#[derive(Debug, clap::Args)]
pub struct DeckArgs {
    /// The data directory the server uses (default: $SAMSCOPE_HOME, else ~/.cache/samscope).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: DeckCommand,
}

/// What to do with decks.
#[derive(Debug, clap::Subcommand)]
pub enum DeckCommand {
    /// Build a deck from a labelled dataset folder: one case per image and annotation
    /// layer, its label map as the ground truth (docs/protocols.md, Layouts).
    Create(CreateArgs),
    /// List the decks.
    List,
    /// Write a deck and every image, mask and volume it uses to one file.
    Export {
        /// Deck id.
        id: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add the deck in a file written by `export` (or the viewer) as a new deck.
    Import {
        /// The deck file.
        file: PathBuf,
    },
    /// Start a teaching session on a deck and print the instructor's and students' links.
    Session {
        /// Deck id.
        id: String,
        /// How long the links work, in hours (1–168).
        #[arg(long, default_value_t = 8)]
        hours: u32,
        /// The server's address as the class reaches it.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        origin: String,
    },
}

/// Arguments of `samscope deck create`.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The dataset folder.
    #[arg(long)]
    pub from: PathBuf,
    /// Its layout (as `samscope eval --layout`).
    #[arg(long, default_value = "generic")]
    pub layout: String,
    /// The deck's title.
    #[arg(long)]
    pub title: String,
    /// Notes in Markdown: `NOTES/<case id>.md` (with `/` in ids as `_`) becomes a case's
    /// notes when it exists.
    #[arg(long)]
    pub notes: Option<PathBuf>,
    /// At most this many images (in id order).
    #[arg(long)]
    pub limit: Option<usize>,
}

/// Runs `samscope deck …`.
pub fn run(args: &DeckArgs) -> Result<(), CliError> {
    let dir = args.data_dir.clone().unwrap_or_else(data_dir);
    let api = |context: &str, e: TeachingError| CliError::arg("deck", format!("{context}: {e}"));
    let library = DeckLibrary::open(&dir, Content::open(&dir)?)
        .map_err(|e| api(&format!("data directory {}", dir.display()), e))?;
    match &args.command {
        DeckCommand::Create(create) => {
            let input = build_deck(&library, create)?;
            let deck = library
                .create(&input)
                .map_err(|e| api("storing the deck", e))?;
            println!(
                "deck {} \"{}\": {} cases in {}",
                deck.id,
                deck.title,
                deck.cases.len(),
                dir.display()
            );
            println!("start a session: samscope deck session {}", deck.id);
        }
        DeckCommand::List => {
            for deck in library.list().map_err(|e| api("listing decks", e))? {
                println!("{}  {:>3} cases  {}", deck.id, deck.cases, deck.title);
            }
        }
        DeckCommand::Export { id, out } => {
            let bytes = library
                .export(id)
                .map_err(|e| api(&format!("exporting deck {id}"), e))?;
            std::fs::write(out, &bytes).map_err(|e| CliError::io(out, e))?;
            println!("wrote {} ({} bytes)", out.display(), bytes.len());
        }
        DeckCommand::Import { file } => {
            let bytes = std::fs::read(file).map_err(|e| CliError::io(file, e))?;
            let deck = library
                .import(&bytes)
                .map_err(|e| api(&file.display().to_string(), e))?;
            println!(
                "deck {} \"{}\": {} cases",
                deck.id,
                deck.title,
                deck.cases.len()
            );
        }
        DeckCommand::Session { id, hours, origin } => {
            let started = library
                .start_session(id, *hours)
                .map_err(|e| api(&format!("deck {id}"), e))?;
            let origin = origin.trim_end_matches('/');
            println!("instructor: {origin}/#teach={}", started.instructor_key);
            println!("students:   {origin}/#join={}", started.student_key);
            println!("expires at {} (unix seconds)", started.expires_at);
        }
    }
    Ok(())
}

/// A label map as a grey PNG (8-bit when every label fits, else 16-bit), the form the
/// viewer and `POST /api/v1/masks` read label values from.
fn label_png(map: &LabelMap) -> Vec<u8> {
    let (w, h) = (map.width as u32, map.height as u32);
    let mut out = Cursor::new(Vec::new());
    let written = if map.data.iter().all(|&v| v <= 255) {
        let bytes = map.data.iter().map(|&v| v as u8).collect();
        ImageBuffer::<Luma<u8>, Vec<u8>>::from_raw(w, h, bytes)
            .expect("label map size")
            .write_to(&mut out, ImageFormat::Png)
    } else {
        ImageBuffer::<Luma<u16>, Vec<u16>>::from_raw(w, h, map.data.clone())
            .expect("label map size")
            .write_to(&mut out, ImageFormat::Png)
    };
    written.expect("PNG encoding into memory");
    out.into_inner()
}

/// Markdown naming the labels present in `map`.
fn class_notes(id: &str, layout: &str, map: &LabelMap, classes: &Classes) -> String {
    let mut present: Vec<u16> = map.data.iter().copied().filter(|&v| v != 0).collect();
    present.sort_unstable();
    present.dedup();
    let mut notes = format!("**{id}** (`{layout}` layout).\n\nLabels in the ground truth:\n");
    for value in present {
        notes.push_str(&format!("- {value}: {}\n", classes.name(value)));
    }
    notes
}

fn read_notes(dir: &Path, id: &str) -> Result<Option<String>, CliError> {
    let path = dir.join(format!("{}.md", id.replace('/', "_")));
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::io(path, e)),
    }
}

/// Stores every sample's image and label maps and returns the deck to create.
fn build_deck(library: &DeckLibrary<Content>, args: &CreateArgs) -> Result<DeckInput, CliError> {
    let layout: Layout = args.layout.parse()?;
    let mut samples = layout.discover(&args.from)?;
    samples.truncate(args.limit.unwrap_or(usize::MAX));
    let mut loader = Loader::default();
    let mut cases = Vec::new();
    for sample in &samples {
        let loaded = loader.load(sample)?;
        let pixels = study::encoder_image(&loaded.image).ok_or_else(|| {
            CliError::arg(
                "--from",
                format!(
                    "{}: decoded pixels do not match the size",
                    sample.image.display()
                ),
            )
        })?;
        let image = library
            .content()
            .add_image(&pixels)
            .map_err(|e| CliError::arg("--from", format!("{}: {e}", sample.image.display())))?;
        let custom = match &args.notes {
            Some(dir) => read_notes(dir, &sample.id)?,
            None => None,
        };
        let layers = loaded.truth.layers.len();
        for (index, layer) in loaded.truth.layers.iter().enumerate() {
            let gt = library
                .content()
                .add_mask(&label_png(&layer.map))
                .map_err(|e| {
                    CliError::arg("--from", format!("{}: ground truth: {e}", sample.id))
                })?;
            let title = if layers > 1 {
                format!("{} ({}/{layers})", sample.id, index + 1)
            } else {
                sample.id.clone()
            };
            cases.push(Case {
                title,
                image: image.clone(),
                volume: None,
                model: None,
                gt: Some(gt),
                label: None,
                steps: Vec::new(),
                notes: custom.clone().unwrap_or_else(|| {
                    class_notes(&sample.id, layout.as_str(), &layer.map, &layer.classes)
                }),
            });
        }
        if cases.len() > MAX_CASES {
            return Err(CliError::arg(
                "--limit",
                format!(
                    "the deck would have more than {MAX_CASES} cases; pass --limit to take fewer images"
                ),
            ));
        }
    }
    if cases.is_empty() {
        return Err(CliError::arg("--from", "no labelled images found"));
    }
    Ok(DeckInput {
        title: args.title.clone(),
        cases,
    })
}
