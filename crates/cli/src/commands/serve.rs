//! `samscope serve`: the embedding server, with the viewer bundle on the same origin.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use server::{FinetunedDecoder, LoadedModel, ServerConfig, ServerLimits, TlsSource};
use tracing_subscriber::EnvFilter;

use crate::commands::finetune::open_finetuned;
use crate::error::CliError;
use crate::model::{ModelArgs, data_dir};

/// Arguments of `samscope serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; any address but loopback needs --token (or --token-file).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Where uploaded images, the embedding cache and the exported decoder live
    /// (default: $SAMSCOPE_HOME, else ~/.cache/samscope).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Server token (16 characters or more): with one, everything but the viewer bundle,
    /// /healthz, the model list and the decoder weights needs signing in (the viewer asks
    /// for it once) or `Authorization: Bearer TOKEN`. Prefer $SAMSCOPE_TOKEN or
    /// --token-file, which keep it out of the process list.
    #[arg(long, env = "SAMSCOPE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the token from this file (surrounding white space ignored); it must be
    /// readable by its owner only (chmod 600).
    #[arg(long, value_name = "PATH", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// How long a viewer sign-in lasts, in hours.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_hours: u32,
    /// Behind a reverse proxy on this machine: take the client's origin from
    /// X-Forwarded-Host / X-Forwarded-Proto, and the Host header as the proxy sends it.
    /// Needs a token; only use it when a proxy sets (or strips) those headers.
    #[arg(long)]
    pub trust_forwarded: bool,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate for these host names or IP addresses,
    /// made once and kept in <data-dir>/tls/; its fingerprints are printed at start.
    #[arg(long, value_name = "NAME", num_args = 1.., conflicts_with = "tls_cert")]
    pub tls_self_signed: Vec<String>,
    /// Serve plain HTTP on a non-loopback address although browsers there get no WebGPU,
    /// no Cache API and no Secure cookie.
    #[arg(long)]
    pub insecure_http: bool,
    /// Seconds a TLS handshake may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub handshake_timeout: u64,
    /// Seconds a client may take to send a request's headers (and a new connection its
    /// first request).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub header_timeout: u64,
    /// Seconds a kept-alive connection may sit idle (or a client stop reading a response).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout: u64,
    /// Connections open at once; more wait until one closes.
    #[arg(long, value_name = "N", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=65536))]
    pub max_connections: u64,
    /// The viewer bundle (Trunk's output) served at `/` (default: `dist` if it exists);
    /// files in `static/` are served too.
    #[arg(long)]
    pub web_dir: Option<PathBuf>,
    /// A fine-tuned model folder (`samscope finetune --out`) to list next to --model, which
    /// must be its base; repeat for several.
    #[arg(long = "finetuned", value_name = "MODEL_DIR")]
    pub finetuned: Vec<PathBuf>,
    /// Memory that upload decodes may use together (bytes, or with K, M, G or T: powers
    /// of 1024; at least 1M): each upload is weighed by the size its header announces and
    /// waits for room; one that alone needs more is refused with 413.
    #[arg(long, value_name = "BYTES", default_value = "2G", value_parser = parse_decode_memory)]
    pub decode_memory: u64,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub clients: ClientLimitArgs,
}

/// Limits on slow clients, event streams and the disk (`samscope serve`).
#[derive(Debug, clap::Args)]
pub struct ClientLimitArgs {
    /// Seconds an upload body may take to arrive (the upload slot is taken only once it
    /// has); slower bodies get 408.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Teaching event streams (GET /api/v1/classroom/KEY/events) open at once.
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_event_streams: u64,
    /// Event streams open at once on one teaching session.
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_session_streams: u64,
    /// Disk budget of embeddings, images and volumes in the data directory (bytes, or
    /// with K, M, G or T: powers of 1024); the least recently used ones no deck uses are
    /// evicted beyond it. 0: unbounded.
    #[arg(long, value_name = "BYTES", default_value = "20G", value_parser = parse_size)]
    pub cache_max_bytes: u64,
    /// Memory that upload bodies being received and handled may hold together (bytes, or
    /// with K, M, G or T; never less than the 64 MiB upload limit); a body that would go
    /// beyond it stops being read until others finish.
    #[arg(long, value_name = "BYTES", default_value = "1G", value_parser = parse_size)]
    pub receive_memory: u64,
}

impl ClientLimitArgs {
    /// `limits` with these flags applied.
    pub fn apply(&self, limits: ServerLimits) -> ServerLimits {
        ServerLimits {
            body_timeout: std::time::Duration::from_secs(self.body_timeout),
            max_event_streams: self.max_event_streams as usize,
            max_session_streams: self.max_session_streams as usize,
            cache_max_bytes: self.cache_max_bytes,
            receive_memory: self.receive_memory,
            ..limits
        }
    }
}

/// A byte count: digits, optionally followed by K, M, G or T (powers of 1024; a trailing
/// `B` or `iB` is allowed).
fn parse_size(text: &str) -> Result<u64, String> {
    let upper = text.trim().to_ascii_uppercase();
    let unit_text = upper.trim_end_matches("IB").trim_end_matches('B');
    let (digits, shift) = match unit_text.char_indices().last() {
        Some((i, 'K')) => (&unit_text[..i], 10),
        Some((i, 'M')) => (&unit_text[..i], 20),
        Some((i, 'G')) => (&unit_text[..i], 30),
        Some((i, 'T')) => (&unit_text[..i], 40),
        _ => (unit_text, 0),
    };
    digits
        .trim()
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| format!("`{text}` is not a size: use bytes, or a number with K, M, G or T"))
}

/// `--decode-memory`: a size of at least 1 MiB.
fn parse_decode_memory(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if bytes < 1 << 20 {
        return Err(format!("`{text}` is below the smallest budget, 1M"));
    }
    Ok(bytes)
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
    let token = match &args.token_file {
        Some(path) => Some(server::read_token_file(path)?),
        None => args.token.clone(),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ if !args.tls_self_signed.is_empty() => {
            Some(TlsSource::SelfSigned(args.tls_self_signed.clone()))
        }
        _ => None,
    };
    let limits = ServerLimits {
        tls_handshake_timeout: Duration::from_secs(args.handshake_timeout),
        header_read_timeout: Duration::from_secs(args.header_timeout),
        idle_timeout: Duration::from_secs(args.idle_timeout),
        max_connections: args.max_connections as usize,
        ..ServerLimits::default()
    };
    let config = ServerConfig {
        token,
        web_dir,
        static_dir: existing_dir("static"),
        limits: ServerLimits {
            decode_memory: args.decode_memory,
            ..args.clients.apply(limits)
        },
        tls,
        insecure_http: args.insecure_http,
        session_ttl: Duration::from_secs(u64::from(args.session_hours) * 3600),
        trust_forwarded: args.trust_forwarded,
        ..ServerConfig::new(args.addr, args.data_dir.clone().unwrap_or_else(data_dir))
    };
    // Refuse an insecure address or unusable certificate before spending seconds on the
    // model.
    config.check()?;
    server::check_tls(&config)?;
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

#[cfg(test)]
mod tests {
    use super::{parse_decode_memory, parse_size};

    #[test]
    fn sizes_take_binary_units() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1234"), Ok(1234));
        assert_eq!(parse_size("20G"), Ok(20 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("2 kb"), Ok(2048));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        for bad in ["", "G", "-1", "1.5G", "12X", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_decode_memory_budget_is_at_least_a_mebibyte() {
        assert_eq!(parse_decode_memory("2G"), Ok(2 << 30));
        assert_eq!(parse_decode_memory("67108864"), Ok(64 << 20));
        assert_eq!(parse_decode_memory("1M"), Ok(1 << 20));
        for bad in ["0", "1023K", "lots"] {
            assert!(parse_decode_memory(bad).is_err(), "{bad}");
        }
    }
}
