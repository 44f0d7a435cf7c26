//! HTTPS: a certificate and key from PEM files (`--tls-cert`, `--tls-key`), or a
//! self-signed certificate the server makes once and keeps in `<data-dir>/tls/`
//! (`--tls-self-signed NAME...`). Browsers give WebGPU, the Cache API and Secure cookies
//! only to secure contexts, so anything but loopback needs HTTPS (here or at a proxy).
//!
//! The certificate's identity is printed at start: its SHA-256 fingerprint (what a browser
//! shows) and the base64 SHA-256 of its public key (SubjectPublicKeyInfo; what Chromium's
//! `--ignore-certificate-errors-spki-list` takes, also written to `tls/cert.spki-sha256`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

use crate::error::ServerError;

/// Where the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    /// A certificate chain and its private key, PEM files.
    Files {
        /// The certificate chain (leaf first).
        cert: PathBuf,
        /// The private key (PKCS#8, PKCS#1 or SEC1).
        key: PathBuf,
    },
    /// A self-signed certificate for these DNS names or IP addresses, made once and kept
    /// in `<data-dir>/tls/` (made again when the names change or it nears its end).
    SelfSigned(Vec<String>),
}

/// What identifies the served certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsIdentity {
    /// The certificate file.
    pub cert_path: PathBuf,
    /// SHA-256 of the leaf certificate, upper-case hex pairs joined by `:`.
    pub sha256: String,
    /// Base64 SHA-256 of the leaf's SubjectPublicKeyInfo.
    pub spki_sha256: String,
}

/// The TLS side of the listener.
#[derive(Clone)]
pub(crate) struct Tls {
    pub acceptor: TlsAcceptor,
    pub identity: TlsIdentity,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

/// A self-signed certificate is valid this long (browsers refuse longer ones)…
const SELF_SIGNED_DAYS: i64 = 397;
/// …and made again when less than this is left.
const RENEW_DAYS: i64 = 30;

fn problem(path: &Path, problem: impl std::fmt::Display) -> ServerError {
    ServerError::Tls {
        path: path.to_path_buf(),
        problem: problem.to_string(),
    }
}

/// Reads or makes the certificate of `source` and prepares the TLS acceptor.
pub(crate) fn load(source: &TlsSource, data_dir: &Path) -> Result<Tls, ServerError> {
    let (cert_path, key_path) = match source {
        TlsSource::Files { cert, key } => (cert.clone(), key.clone()),
        TlsSource::SelfSigned(names) => self_signed(names, &data_dir.join("tls"))?,
    };
    let certs = CertificateDer::pem_file_iter(&cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| problem(&cert_path, format!("reading PEM certificates: {e}")))?;
    let leaf = certs
        .first()
        .ok_or_else(|| problem(&cert_path, "no certificate in the file"))?
        .clone();
    let key = PrivateKeyDer::from_pem_file(&key_path)
        .map_err(|e| problem(&key_path, format!("reading a PEM private key: {e}")))?;
    let spki = rustls::crypto::ring::sign::any_supported_type(&key)
        .ok()
        .and_then(|signer| signer.public_key().map(|spki| spki.as_ref().to_vec()))
        .ok_or_else(|| problem(&key_path, "not an RSA, ECDSA or Ed25519 key rustls can use"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| problem(&cert_path, e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| problem(&cert_path, format!("certificate and key do not work: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let identity = TlsIdentity {
        sha256: Sha256::digest(leaf.as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
        spki_sha256: base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&spki)),
        cert_path,
    };
    if matches!(source, TlsSource::SelfSigned(_)) {
        let path = identity.cert_path.with_file_name("cert.spki-sha256");
        std::fs::write(&path, format!("{}\n", identity.spki_sha256))
            .map_err(|e| problem(&path, e))?;
    }
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        identity,
    })
}

/// The certificate and key files of a self-signed certificate for `names` in `dir`: the
/// kept ones when they were made for the same names and are not near their end, else new
/// ones (an ECDSA P-256 key, readable by the owner only).
fn self_signed(names: &[String], dir: &Path) -> Result<(PathBuf, PathBuf), ServerError> {
    let mut names = names.to_vec();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Err(problem(dir, "--tls-self-signed needs at least one name"));
    }
    if let Some(bad) = names.iter().find(|n| !is_host_name(n)) {
        return Err(problem(
            dir,
            format!("`{bad}` is neither a DNS name nor an IP address"),
        ));
    }
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let about_path = dir.join("self-signed.txt");
    let now = time::OffsetDateTime::now_utc();
    let kept = std::fs::read_to_string(&about_path)
        .ok()
        .is_some_and(|about| {
            let mut lines = about.lines();
            let same_names = lines.next() == Some(format!("names {}", names.join(" ")).as_str());
            let not_after = lines
                .next()
                .and_then(|l| l.strip_prefix("not_after "))
                .and_then(|t| t.parse::<i64>().ok());
            same_names
                && not_after.is_some_and(|end| end - now.unix_timestamp() > RENEW_DAYS * 86_400)
                && cert_path.is_file()
                && key_path.is_file()
        });
    if kept {
        return Ok((cert_path, key_path));
    }
    create_private_dir(dir)?;
    let mut params = rcgen::CertificateParams::new(names.clone())
        .map_err(|e| problem(dir, format!("names {}: {e}", names.join(" "))))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, names[0].clone());
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(SELF_SIGNED_DAYS);
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let not_after = params.not_after.unix_timestamp();
    let key = rcgen::KeyPair::generate().map_err(|e| problem(dir, e))?;
    let cert = params.self_signed(&key).map_err(|e| problem(dir, e))?;
    write_private(&key_path, key.serialize_pem().as_bytes())?;
    write_replacing(&cert_path, cert.pem().as_bytes())?;
    let about = format!("names {}\nnot_after {}\n", names.join(" "), not_after);
    write_replacing(&about_path, about.as_bytes())?;
    tracing::info!(names = %names.join(" "), dir = %dir.display(), "self-signed certificate made");
    Ok((cert_path, key_path))
}

/// Whether `text` is an IP address or a DNS name (letters, digits and `-` in labels of at
/// most 63 characters).
fn is_host_name(text: &str) -> bool {
    text.parse::<std::net::IpAddr>().is_ok()
        || (text.len() <= 253
            && text.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }))
}

/// Creates `dir` (owner-only on Unix).
fn create_private_dir(dir: &Path) -> Result<(), ServerError> {
    std::fs::create_dir_all(dir).map_err(|e| problem(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| problem(dir, e))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file created owner-only (mode 0600).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|e| problem(&tmp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| problem(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| problem(path, e))
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_replacing(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| problem(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| problem(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("samscope-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_self_signed_certificate_is_kept_for_the_same_names_only() {
        let dir = scratch("kept");
        let names =
            |list: &[&str]| TlsSource::SelfSigned(list.iter().map(|s| s.to_string()).collect());
        let first = load(&names(&["samscope.test", "127.0.0.1"]), &dir).unwrap();
        let again = load(&names(&["127.0.0.1", "samscope.test"]), &dir).unwrap();
        assert_eq!(
            first.identity, again.identity,
            "same names: same certificate"
        );
        let other = load(&names(&["other.test"]), &dir).unwrap();
        assert_ne!(first.identity.sha256, other.identity.sha256);
        assert_ne!(first.identity.spki_sha256, other.identity.spki_sha256);
        assert_eq!(first.identity.sha256.len(), 32 * 3 - 1);
        let written = std::fs::read_to_string(dir.join("tls/cert.spki-sha256")).unwrap();
        assert_eq!(written.trim(), other.identity.spki_sha256);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("tls/key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Files given by the operator are served as they are.
        let files = TlsSource::Files {
            cert: dir.join("tls/cert.pem"),
            key: dir.join("tls/key.pem"),
        };
        assert_eq!(load(&files, &dir).unwrap().identity, other.identity);
        let swapped = TlsSource::Files {
            cert: dir.join("tls/key.pem"),
            key: dir.join("tls/cert.pem"),
        };
        assert!(matches!(load(&swapped, &dir), Err(ServerError::Tls { .. })));
        assert!(load(&names(&["not a name!"]), &dir).is_err());
        let _ = std::fs::remove_dir_all(dir);
    }
}
