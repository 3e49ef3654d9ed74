//! The HTTPS client every SDK client of the process shares: the SDK's own (hyper, rustls, its
//! cipher suites, timeouts and connection pool), trusting root certificates compiled into the
//! binary instead of the system's, and building its connector once. Its crypto is ring, not the
//! SDK's default aws-lc: aws-lc is a C library (cmake-free but still minutes of C compilation on
//! every clean build) and most of a megabyte of the Lambda package, for TLS to AWS endpoints
//! that ring serves just as well (the SDK offers both; this is the only HTTPS client the
//! process builds, so no SDK crate enables `default-https-client`).
//!
//! Why: the SDK's default client reads the system store (rustls-native-certs: the bundle and, on
//! Debian-like systems, every file of `/etc/ssl/certs`), and builds a throw-away connector to
//! validate each service client as it is created, parsing every root again each time. That was
//! about 8 ms of a 13 ms cold start here, spent before the Lambda could take its first event.
//! Mozilla's roots (`webpki-root-certs`, the set rustls' webpki-roots is made from) cost no I/O,
//! and are the same everywhere the binary runs, so a Lambda image's store cannot change what it
//! trusts. They are encoded and parsed once, when the first request needs a connection.
//!
//! `SSL_CERT_FILE` (a PEM bundle, as OpenSSL and rustls-native-certs read it) adds roots, for a
//! TLS-inspecting proxy's CA: each certificate is validated as a trust anchor first, and any the
//! file holds that are not (or a file that cannot be read) are reported, never fatal.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use base64::Engine as _;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// Why an extra bundle (`SSL_CERT_FILE`) added fewer roots than it holds.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot read the certificate bundle `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the certificate bundle `{path}` is not PEM from its certificate {index} on: {reason}"
    )]
    Pem {
        path: PathBuf,
        index: usize,
        reason: String,
    },
    #[error("certificate {index} of `{path}` is not a usable root: {reason}")]
    NotAnchor {
        path: PathBuf,
        index: usize,
        reason: String,
    },
}

/// Root certificates for the SDK's trust store, as the PEM it takes.
#[derive(Debug, Default)]
pub struct Roots {
    pem: String,
    count: usize,
}

impl Roots {
    /// Mozilla's roots, compiled in. Each is checked as a trust anchor like any other, so the
    /// SDK, which panics on a certificate it cannot parse, is never handed one.
    pub fn compiled_in() -> Self {
        let mut roots = Roots::default();
        for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            // Every certificate of the crate parses (a test says so); one that did not would
            // only be left out.
            let _ = roots.add(der);
        }
        roots
    }

    /// Adds the certificates of a PEM bundle, returning what was wrong with the others.
    pub fn add_bundle(&mut self, path: &Path) -> Vec<BundleError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(source) => {
                return vec![BundleError::Read {
                    path: path.to_owned(),
                    source,
                }]
            }
        };
        let mut errors = Vec::new();
        for (index, cert) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
            let result = match cert {
                Ok(der) => self.add(&der).map_err(|reason| BundleError::NotAnchor {
                    path: path.to_owned(),
                    index: index + 1,
                    reason,
                }),
                Err(e) => {
                    // The reader cannot resynchronise after a malformed section.
                    errors.push(BundleError::Pem {
                        path: path.to_owned(),
                        index: index + 1,
                        reason: e.to_string(),
                    });
                    break;
                }
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
        errors
    }

    /// Number of roots.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The roots as PEM, each re-encoded from a validated certificate.
    pub fn pem(&self) -> &str {
        &self.pem
    }

    fn add(&mut self, der: &CertificateDer<'_>) -> Result<(), String> {
        webpki::anchor_from_trusted_cert(der).map_err(|e| e.to_string())?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        self.pem.push_str("-----BEGIN CERTIFICATE-----\n");
        for (i, c) in encoded.chars().enumerate() {
            if i > 0 && i % 64 == 0 {
                self.pem.push('\n');
            }
            self.pem.push(c);
        }
        self.pem.push_str("\n-----END CERTIFICATE-----\n");
        self.count += 1;
        Ok(())
    }
}

/// The compiled-in roots, plus those of `SSL_CERT_FILE` when it is set (problems logged).
pub fn roots_from_env() -> Roots {
    let mut roots = Roots::compiled_in();
    if let Some(path) = std::env::var_os("SSL_CERT_FILE").filter(|p| !p.is_empty()) {
        for e in roots.add_bundle(Path::new(&path)) {
            tracing::warn!("{e}");
        }
    }
    roots
}

/// The HTTPS client for [`aws_config::ConfigLoader::http_client`]: nothing is read or parsed
/// until the first request, so a process (a Lambda cold start, a CLI run on local files) that
/// makes none pays nothing.
pub fn client() -> SharedHttpClient {
    BuiltOnFirstUse::default().into_shared()
}

/// The SDK's HTTPS client trusting `roots`.
pub fn client_trusting(roots: &Roots) -> SharedHttpClient {
    let store = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(roots.pem().as_bytes());
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    match TlsContext::builder().with_trust_store(store).build() {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(e) => {
            // Not reachable with this SDK version (the builder cannot fail); if it ever is,
            // the SDK's own roots still make a working client.
            tracing::warn!("compiled-in root certificates not used: {e}");
            builder.build_https()
        }
    }
}

/// The SDK's client, built at the first request rather than at start-up. The SDK's default
/// also builds (and drops) a connector, parsing every root certificate, each time a service
/// client is created, so that reading the system store is paid before the first request; with
/// nothing to read, the client's own connector cache builds it once, for all clients.
#[derive(Debug, Default)]
struct BuiltOnFirstUse(OnceLock<SharedHttpClient>);

impl HttpClient for BuiltOnFirstUse {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0
            .get_or_init(|| client_trusting(&roots_from_env()))
            .http_connector(settings, components)
    }

    /// What the SDK's client says of itself (the user agent's metadata), without building it.
    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        Some(ConnectorMetadata::new("hyper", Some(Cow::Borrowed("1.x"))))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

    use super::*;

    #[test]
    fn every_compiled_in_root_is_a_valid_anchor_and_amazon_s_are_there() {
        let roots = Roots::compiled_in();
        assert_eq!(roots.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        assert!(roots.len() > 100, "{}", roots.len());
        // The PEM handed to the SDK reads back as the same certificates.
        let back: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(roots.pem().as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back.as_slice(), webpki_root_certs::TLS_SERVER_ROOT_CERTS);
        // AWS endpoints chain to Amazon Root CA 1-4 (and Starfield's, which cross-signs them).
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 4",
            "Starfield Services Root",
        ] {
            assert!(
                back.iter()
                    .any(|c| c.as_ref().windows(name.len()).any(|w| w == name.as_bytes())),
                "{name}"
            );
        }
    }

    #[test]
    fn a_bundle_adds_its_valid_roots_and_reports_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.pem");
        let amazon = Roots::compiled_in();
        let first = amazon
            .pem()
            .split_inclusive("-----END CERTIFICATE-----\n")
            .next()
            .unwrap();
        // A valid root, then a certificate section that is valid base64 but not a certificate.
        let not_a_cert = "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n";
        std::fs::write(&path, format!("{first}{not_a_cert}")).unwrap();
        let mut roots = Roots::default();
        let errors = roots.add_bundle(&path);
        assert_eq!(roots.len(), 1);
        assert_eq!(roots.pem(), first);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let message = errors[0].to_string();
        assert!(
            message.starts_with("certificate 2 of `") && message.contains("bundle.pem"),
            "{message}"
        );

        let missing = dir.path().join("missing.pem");
        let errors = roots.add_bundle(&missing);
        assert!(
            matches!(errors.as_slice(), [BundleError::Read { .. }]),
            "{errors:?}"
        );
        assert_eq!(roots.len(), 1);
    }
}
