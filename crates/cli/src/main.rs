//! `samscope`: Segment Anything on medical scans from the command line.

mod commands;
mod error;
mod files;
mod model;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Segment Anything (LiteMedSAM, MobileSAM) on medical scans.
#[derive(Debug, Parser)]
#[command(name = "samscope", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the image encoder once and save the embedding (1×256×64×64 f32 .npy).
    Embed(commands::embed::EmbedArgs),
    /// Segment with points and/or a box; write the best mask, logits and a JSON summary.
    Segment(commands::segment::SegmentArgs),
    /// Export prompt encoder + mask decoder weights for the browser (safetensors).
    ExportDecoder(commands::export::ExportArgs),
}

fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Embed(args) => commands::embed::run(args),
        Command::Segment(args) => commands::segment::run(args),
        Command::ExportDecoder(args) => commands::export::run(args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}
