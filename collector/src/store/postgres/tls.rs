//! TLS to PostgreSQL as libpq reads `sslmode` and `sslrootcert`, so a
//! connection string that works with `psql` works here.
//!
//! - `disable`: plain. `prefer` (the default) and `require`: encrypted,
//!   the server's certificate not checked, as libpq does (Debian's
//!   PostgreSQL starts with a self-signed one); `prefer` stays plain when
//!   the server offers no TLS.
//! - `verify-ca`: the certificate must chain to a trusted root;
//!   `verify-full`: and name the host connected to.
//! - `sslrootcert=<file>`: the roots to trust (PEM), such as a cloud
//!   provider's CA, or the server's own self-signed certificate; with it
//!   `require` checks the chain too, as libpq does when it has a root
//!   file. Without it (or `system`): the web's roots and the system's
//!   trust store (`crate::tls`), where an organisation's authority goes.
//!
//! tokio-postgres knows neither `verify-*` nor `sslrootcert`, so both are
//! taken out of the string before it reads the rest.

use std::str::FromStr;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{WebPkiServerVerifier, verify_server_name};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// What the server's certificate must prove.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Nothing,
    Chain,
    ChainAndName,
}

/// A connection string with its TLS options taken out.
#[derive(Debug, PartialEq, Eq)]
struct Split {
    rest: String,
    mode: Option<String>,
    root_cert: Option<String>,
}

/// Takes `sslmode` and `sslrootcert` out of `url`, a URI
/// (`postgres://…?sslmode=…`) or `key=value` pairs.
fn split(url: &str) -> Split {
    let mut mode = None;
    let mut root_cert = None;
    let mut take = |key: &str, value: String| match key {
        "sslmode" => {
            mode = Some(value);
            true
        }
        "sslrootcert" => {
            root_cert = Some(value);
            true
        }
        _ => false,
    };
    let rest = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        match url.split_once('?') {
            None => url.to_owned(),
            Some((base, query)) => {
                let kept: Vec<&str> = query
                    .split('&')
                    .filter(|pair| {
                        let decoded = url::form_urlencoded::parse(pair.as_bytes()).next();
                        !decoded.is_some_and(|(key, value)| take(&key, value.into_owned()))
                    })
                    .collect();
                if kept.is_empty() {
                    base.to_owned()
                } else {
                    format!("{base}?{}", kept.join("&"))
                }
            }
        }
    } else {
        let kept: Vec<&str> = url
            .split_whitespace()
            .filter(|pair| {
                !pair
                    .split_once('=')
                    .is_some_and(|(key, value)| take(key, value.trim_matches('\'').to_owned()))
            })
            .collect();
        kept.join(" ")
    };
    Split {
        rest,
        mode,
        root_cert,
    }
}

/// `url` without its TLS options, for tokio-postgres and for showing.
pub(super) fn without_tls_options(url: &str) -> String {
    split(url).rest
}

fn modes(split: &Split) -> Result<(SslMode, Check), StoreError> {
    let require = if split.root_cert.is_some() {
        Check::Chain
    } else {
        Check::Nothing
    };
    Ok(match split.mode.as_deref() {
        None | Some("prefer" | "allow") => (SslMode::Prefer, Check::Nothing),
        Some("disable") => (SslMode::Disable, Check::Nothing),
        Some("require") => (SslMode::Require, require),
        Some("verify-ca") => (SslMode::Require, Check::Chain),
        Some("verify-full") => (SslMode::Require, Check::ChainAndName),
        Some(other) => return Err(StoreError::BadSslMode(other.to_owned())),
    })
}

/// The roots `sslrootcert` names (a PEM file, or the web's and the
/// system's), and the certificates the file holds.
fn roots(
    root_cert: Option<&str>,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), StoreError> {
    let Some(path) = root_cert.filter(|p| *p != "system") else {
        return Ok((crate::tls::trusted_roots(), Vec::new()));
    };
    let bad = |reason: String| StoreError::BadRootCert {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("it holds no certificate".to_owned()));
    }
    let mut roots = RootCertStore::empty();
    for cert in &certs {
        roots.add(cert.clone()).map_err(|e| bad(e.to_string()))?;
    }
    Ok((roots, certs))
}

/// What connecting to `url` needs: its configuration and TLS as it asks.
pub(super) fn connection(
    url: &str,
) -> Result<(tokio_postgres::Config, MakeRustlsConnect), StoreError> {
    let split = split(url);
    let mut config =
        tokio_postgres::Config::from_str(&split.rest).map_err(|_| StoreError::BadUrl)?;
    let (mode, check) = modes(&split)?;
    config.ssl_mode(mode);
    // ring, as lettre (SMTP) and reqwest (webhooks) use it. rustls 0.23.48
    // deprecates it for having no post-quantum key exchange; moving all
    // three to aws-lc-rs together is its own change.
    #[expect(deprecated, reason = "ring lacks only post-quantum key exchange")]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::Nothing => Arc::new(Unchecked(Arc::clone(&provider))),
        Check::Chain | Check::ChainAndName => {
            let (roots, pinned) = roots(split.root_cert.as_deref())?;
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                    .build()
                    .map_err(|e| StoreError::BadRootCert {
                        path: split.root_cert.clone().unwrap_or_default(),
                        reason: e.to_string(),
                    })?;
            Arc::new(Checked {
                webpki,
                pinned,
                name: check == Check::ChainAndName,
            })
        }
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| StoreError::Unavailable)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok((config, MakeRustlsConnect::new(tls)))
}

/// `prefer` and `require`: any certificate, though the handshake must
/// still be signed by its key.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `verify-ca` and `verify-full`: the chain checked, and with `name` the
/// host's name too.
#[derive(Debug)]
struct Checked {
    webpki: Arc<WebPkiServerVerifier>,
    /// The certificates in `sslrootcert`: a server presenting one of them
    /// itself (a self-signed certificate, as Debian's PostgreSQL starts
    /// with) is trusted, as libpq trusts it.
    pinned: Vec<CertificateDer<'static>>,
    name: bool,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            if self.name {
                verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
            }
            return Ok(ServerCertVerified::assertion());
        }
        // The chain is checked before the name: an error about the name
        // means the chain was good.
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.name => Ok(ServerCertVerified::assertion()),
            checked => checked,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(rest: &str, mode: Option<&str>, root_cert: Option<&str>) -> Split {
        Split {
            rest: rest.to_owned(),
            mode: mode.map(str::to_owned),
            root_cert: root_cert.map(str::to_owned),
        }
    }

    #[test]
    fn tls_options_are_taken_out_of_a_uri_and_the_rest_is_kept_as_written() {
        assert_eq!(
            split(
                "postgres://u:p%40ss@db:5432/e?sslmode=verify-full&application_name=a%20b&sslrootcert=%2Fetc%2Fca.pem"
            ),
            parts(
                "postgres://u:p%40ss@db:5432/e?application_name=a%20b",
                Some("verify-full"),
                Some("/etc/ca.pem")
            )
        );
        assert_eq!(
            split("postgresql://db/e?sslmode=require"),
            parts("postgresql://db/e", Some("require"), None)
        );
        assert_eq!(
            split("postgres://db/e"),
            parts("postgres://db/e", None, None)
        );
    }

    #[test]
    fn a_url_with_tls_options_is_shown_without_them_or_its_password() {
        assert_eq!(
            crate::store::postgres::describe(
                "postgres://earshot:secret@db.internal:5432/earshot?sslmode=verify-full&sslrootcert=/etc/ca.pem"
            ),
            "postgres://earshot@db.internal:5432/earshot"
        );
    }

    #[test]
    fn tls_options_are_taken_out_of_key_value_pairs() {
        assert_eq!(
            split("host=db user=u sslmode=verify-ca sslrootcert='/etc/ca.pem' dbname=e"),
            parts(
                "host=db user=u dbname=e",
                Some("verify-ca"),
                Some("/etc/ca.pem")
            )
        );
    }

    #[test]
    fn sslmode_reads_as_libpq_reads_it() {
        let mode = |url: &str| modes(&split(url)).map_err(|e| e.to_string());
        assert_eq!(
            mode("postgres://db/e"),
            Ok((SslMode::Prefer, Check::Nothing))
        );
        assert_eq!(
            mode("postgres://db/e?sslmode=disable"),
            Ok((SslMode::Disable, Check::Nothing))
        );
        assert_eq!(
            mode("postgres://db/e?sslmode=require"),
            Ok((SslMode::Require, Check::Nothing))
        );
        assert_eq!(
            mode("postgres://db/e?sslmode=require&sslrootcert=/ca.pem"),
            Ok((SslMode::Require, Check::Chain))
        );
        assert_eq!(
            mode("postgres://db/e?sslmode=verify-ca"),
            Ok((SslMode::Require, Check::Chain))
        );
        assert_eq!(
            mode("postgres://db/e?sslmode=verify-full"),
            Ok((SslMode::Require, Check::ChainAndName))
        );
        let refused = mode("postgres://db/e?sslmode=verify_full").unwrap_err();
        assert!(refused.contains("verify_full"), "{refused}");
        assert!(refused.contains("verify-full"), "{refused}");
    }

    #[test]
    fn a_root_file_that_is_missing_or_holds_no_certificate_is_named() {
        let missing = roots(Some("/nonexistent/ca.pem")).unwrap_err().to_string();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let empty = empty.to_str().unwrap();
        let refused = roots(Some(empty)).unwrap_err().to_string();
        assert!(refused.contains("holds no certificate"), "{refused}");
        assert!(!roots(Some("system")).unwrap().0.is_empty());
    }
}
