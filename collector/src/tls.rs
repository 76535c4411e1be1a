//! TLS when the collector connects out: which authorities it trusts, and
//! why a handshake was refused.
//!
//! One answer for every connection that checks certificates (the SMTP
//! relay, PostgreSQL with `sslrootcert=system`, webhook receivers, whose
//! client loads the same two sources itself): the web's roots, built in so
//! that a container without a trust store still reaches public services,
//! and this machine's store, where an organisation's own authority goes
//! (`update-ca-certificates`, or `SSL_CERT_FILE` / `SSL_CERT_DIR`).

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;

/// The certificates in this machine's trust store that rustls can use.
/// Read on each call: a store is read once per relay or database, at start.
pub fn system_roots() -> Vec<CertificateDer<'static>> {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        // Paths and parse errors only: nothing secret is in a trust store.
        tracing::warn!(%error, "a certificate of the system's trust store could not be read");
    }
    let mut usable = RootCertStore::empty();
    found
        .certs
        .into_iter()
        .filter(|cert| usable.add(cert.clone()).is_ok())
        .collect()
}

/// The web's roots and the system's, as one store.
pub fn trusted_roots() -> RootCertStore {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    roots.add_parsable_certificates(system_roots());
    roots
}

/// rustls's reason for refusing a connection, wherever `error` carries it.
/// It is rustls's own words (`invalid peer certificate: UnknownIssuer`),
/// never the other side's, so it may be logged and shown.
pub fn refusal<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    let mut source = Some(error);
    while let Some(s) = source {
        // tokio-rustls hands rustls's error on inside an `io::Error` (that
        // hyper or lettre may wrap again), whose `source()` skips it.
        let mut inner = s;
        while let Some(wrapped) = inner
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            inner = wrapped;
        }
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        source = s.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_found_inside_the_io_errors_that_carry_it() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let outer = std::io::Error::other(io);
        assert_eq!(
            refusal(&outer).map(ToString::to_string).as_deref(),
            Some("invalid peer certificate: UnknownIssuer")
        );
        assert!(refusal(&std::io::Error::other("reset")).is_none());
    }

    #[test]
    fn the_web_roots_are_trusted_even_where_the_system_has_none() {
        assert!(trusted_roots().len() >= webpki_roots::TLS_SERVER_ROOTS.len());
    }
}
