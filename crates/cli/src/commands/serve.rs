//! `samscope serve`: the embedding server, with the viewer bundle on the same origin.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use server::{FinetunedDecoder, LoadedModel, ServerConfig, ServerLimits};
use tracing_subscriber::EnvFilter;

use crate::commands::finetune::open_finetuned;
use crate::error::CliError;
use crate::model::{ModelArgs, data_dir};

/// Arguments of `samscope serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; any address but loopback needs --token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Where uploaded images, the embedding cache and the exported decoder live
    /// (default: $SAMSCOPE_HOME, else ~/.cache/samscope).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Bearer token that uploads must carry (`Authorization: Bearer TOKEN`). Prefer
    /// $SAMSCOPE_TOKEN, which keeps it out of the process list.
    #[arg(long, env = "SAMSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The viewer bundle (Trunk's output) served at `/` (default: `dist` if it exists);
    /// files in `static/` are served too.
    #[arg(long)]
    pub web_dir: Option<PathBuf>,
    /// A fine-tuned model folder (`samscope finetune --out`) to list next to --model, which
    /// must be its base; repeat for several.
    #[arg(long = "finetuned", value_name = "MODEL_DIR")]
    pub finetuned: Vec<PathBuf>,
    /// Memory, in bytes, that upload decodes may use together (default 2 GiB): each
    /// upload is weighed by the size its header announces and waits for room; one that
    /// alone needs more is refused with 413.
    #[arg(long, value_name = "BYTES", default_value_t = ServerLimits::default().decode_memory,
          value_parser = clap::value_parser!(u64).range(1 << 20..))]
    pub decode_memory: u64,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// `dir` when it is a folder.
fn existing_dir(dir: &str) -> Option<PathBuf> {
    Path::new(dir).is_dir().then(|| PathBuf::from(dir))
}

/// Runs the server until Ctrl-C.
pub fn run(args: &ServeArgs) -> Result<(), CliError> {
    let web_dir = match &args.web_dir {
        Some(dir) if !dir.is_dir() => {
            return Err(CliError::arg(
                "--web-dir",
                format!("{} is not a folder; build the viewer first", dir.display()),
            ));
        }
        Some(dir) => Some(dir.clone()),
        None => existing_dir("dist"),
    };
    let config = ServerConfig {
        addr: args.addr,
        data_dir: args.data_dir.clone().unwrap_or_else(data_dir),
        token: args.token.clone(),
        web_dir,
        static_dir: existing_dir("static"),
        limits: ServerLimits {
            decode_memory: args.decode_memory,
            ..ServerLimits::default()
        },
        finetuned: Vec::new(),
    };
    // Refuse an insecure address before spending seconds on the model.
    config.check()?;
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let resolved = args.model.resolve()?;
    let mut config = config;
    for dir in &args.finetuned {
        let model = open_finetuned(dir, &resolved)?;
        config.finetuned.push(FinetunedDecoder {
            name: model.name().to_string(),
            base: model.base,
            decoder: model.decoder(&resolved.config, &args.model.device.device()?)?,
        });
    }
    let weights_sha256 = resolved.sha256.clone();
    let predictor = args.model.load_resolved(resolved)?;
    let model = LoadedModel {
        predictor,
        weights_sha256,
    };
    Ok(server::run_until_ctrl_c(config, vec![model])?)
}
