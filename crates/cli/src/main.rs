//! `samscope`: Segment Anything on medical scans from the command line.

mod commands;
mod error;
mod files;
mod model;
mod scan;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::CliError;

/// Burn's CPU backend allocates a new buffer for most tensor ops; mimalloc reuses freed
/// pages where glibc would map (and fault in) every large buffer afresh.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Segment Anything (LiteMedSAM, MobileSAM, SAM ViT-B/L/H) on medical scans.
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
    /// Time the image encoder per image (device, precision; JSON on stdout).
    BenchEncoder(commands::bench_encoder::BenchEncoderArgs),
    /// Serve embeddings, decoder weights and the viewer over HTTP (API v1, docs/api.md).
    Serve(commands::serve::ServeArgs),
    /// Evaluate prompting protocols on a labelled dataset: tables and report (docs/protocols.md).
    Eval(commands::eval::EvalArgs),
    /// Join the --out folders of a sharded `eval` into one set of tables and report.
    EvalMerge(commands::eval::EvalMergeArgs),
    /// Fine-tune the mask decoder on a labelled dataset (frozen encoder): a model folder to
    /// use with `eval --finetuned` and `serve --finetuned`.
    Finetune(commands::finetune::FinetuneArgs),
    /// Write a synthetic retinal-vessel dataset (exact masks) in the DRIVE layout.
    SynthVessels(commands::finetune::SynthVesselsArgs),
    /// Teaching decks: create from a dataset folder, list, export, import, start a session.
    Deck(commands::deck::DeckArgs),
}

fn run(cli: &Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::Embed(args) => commands::embed::run(args),
        Command::Segment(args) => commands::segment::run(args),
        Command::ExportDecoder(args) => commands::export::run(args),
        Command::BenchEncoder(args) => commands::bench_encoder::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::EvalMerge(args) => commands::eval::run_merge(args),
        Command::Finetune(args) => commands::finetune::run(args),
        Command::SynthVessels(args) => commands::finetune::run_synth(args),
        Command::Deck(args) => commands::deck::run(args),
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
