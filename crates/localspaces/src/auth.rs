//! Who is calling: SigV4 is parsed on every request; the account comes from the access key
//! and the region from the credential scope. In strict mode signatures are verified.
//!
//! Account rule (documented in the README): an access key that is exactly 12 digits *is* the
//! account id (so `AWS_ACCESS_KEY_ID=111111111111` acts as account 111111111111); a key
//! listed in the credentials with an account uses that account; any other key maps to the
//! default account (`123456789012` unless configured).

use crate::config::{AuthMode, ServeConfig};
use localspaces_protocol::sigv4::{self, AuthError, AuthErrorCode, Authorization};
use std::collections::HashMap;
use std::path::Path;

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub region: String,
}

/// A configured credential (strict mode).
#[derive(Debug, Clone)]
struct Credential {
    secret: String,
    account: Option<String>,
}

/// Authenticates requests according to the configured mode.
#[derive(Debug, Clone)]
pub struct Authenticator {
    mode: AuthMode,
    default_account: String,
    credentials: HashMap<String, Credential>,
}

/// The parts of a request SigV4 covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    /// The `Authorization` header, if it is ASCII.
    pub authorization: Option<&'a str>,
    pub headers: &'a hyper::HeaderMap,
    pub body: &'a [u8],
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl Authenticator {
    /// Builds the authenticator from the server options (reads the credentials file).
    pub fn from_config(cfg: &ServeConfig) -> anyhow::Result<Self> {
        let mut credentials = HashMap::new();
        let mut add = |line: &str, sep: &dyn Fn(char) -> bool| -> anyhow::Result<()> {
            let parts: Vec<&str> = line.split(sep).filter(|p| !p.is_empty()).collect();
            match parts.as_slice() {
                [key, secret] => {
                    credentials.insert(
                        key.to_string(),
                        Credential {
                            secret: secret.to_string(),
                            account: None,
                        },
                    );
                }
                [key, secret, account] if is_account_id(account) => {
                    credentials.insert(
                        key.to_string(),
                        Credential {
                            secret: secret.to_string(),
                            account: Some(account.to_string()),
                        },
                    );
                }
                _ => anyhow::bail!("bad credential entry (want ACCESS_KEY SECRET_KEY [ACCOUNT_ID])"),
            }
            Ok(())
        };
        if let Some(path) = &cfg.credentials_file {
            for line in read_lines(path)? {
                add(&line, &|c: char| c.is_whitespace())?;
            }
        }
        for entry in &cfg.credentials {
            add(entry, &|c: char| c == ':')?;
        }
        if cfg.auth == AuthMode::Strict && credentials.is_empty() {
            anyhow::bail!("--auth strict needs credentials (--credentials-file or --credentials)");
        }
        anyhow::ensure!(
            is_account_id(&cfg.default_account),
            "--default-account must be 12 digits"
        );
        Ok(Authenticator {
            mode: cfg.auth,
            default_account: cfg.default_account.clone(),
            credentials,
        })
    }

    /// An open-mode authenticator with the default account (tests).
    /// The account of access keys that are not account ids.
    pub fn default_account(&self) -> &str {
        &self.default_account
    }

    pub fn open(default_account: &str) -> Self {
        Authenticator {
            mode: AuthMode::Open,
            default_account: default_account.to_string(),
            credentials: HashMap::new(),
        }
    }

    /// True in `--auth strict`.
    pub fn is_strict(&self) -> bool {
        self.mode == AuthMode::Strict
    }

    /// The account of a configured access key whose secret is `secret` (the console's
    /// strict-mode login); `None` for an unknown key or a wrong secret.
    pub fn check_secret(&self, access_key: &str, secret: &str) -> Option<String> {
        let c = self.credentials.get(access_key)?;
        let same: bool = subtle::ConstantTimeEq::ct_eq(c.secret.as_bytes(), secret.as_bytes()).into();
        same.then(|| self.account_of(access_key))
    }

    /// The account an access key belongs to.
    pub fn account_of(&self, access_key: &str) -> String {
        if let Some(acct) = self.credentials.get(access_key).and_then(|c| c.account.clone()) {
            return acct;
        }
        if is_account_id(access_key) {
            return access_key.to_string();
        }
        self.default_account.clone()
    }

    /// Authenticates one request for a service with SigV4 signing name `service`.
    pub fn authenticate(
        &self,
        req: &SignedRequest<'_>,
        service: &str,
        now: i64,
    ) -> Result<Identity, AuthError> {
        let Some(header) = req.authorization else {
            return Err(AuthError {
                code: AuthErrorCode::MissingAuthenticationToken,
                message: "Missing Authentication Token".to_string(),
            });
        };
        let auth: Authorization = sigv4::parse_authorization(header)?;
        if self.mode == AuthMode::Strict {
            sigv4::check_scope(&auth, service)?;
            let Some(cred) = self.credentials.get(auth.access_key) else {
                return Err(AuthError {
                    code: AuthErrorCode::UnrecognizedClient,
                    message: "The security token included in the request is invalid.".to_string(),
                });
            };
            // A header value that is not visible ASCII takes part as an empty string; if it
            // was signed, the signature check fails, as it must.
            let headers: Vec<(&str, &str)> = req
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("")))
                .collect();
            let parts = sigv4::RequestParts {
                method: req.method,
                path: req.path,
                query: req.query,
                headers: &headers,
                body: req.body,
            };
            sigv4::verify(&parts, &auth, &cred.secret, now)?;
        }
        Ok(Identity {
            account: self.account_of(auth.access_key),
            region: auth.region.to_string(),
        })
    }
}

fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read credentials file {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}
