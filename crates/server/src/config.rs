//! Server configuration, filled from command-line flags and `CAREPACT_*` environment variables by the binary.

use std::net::SocketAddr;

#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The address people use to reach CarePact, for links in emails (e.g. `https://carepact.example.org`).
    pub public_url: String,
    /// SMTP server for outgoing email, e.g. `smtp://127.0.0.1:2525` or `smtps://user:pass@mail.example.org`.
    /// Without one, emails wait in the outbox.
    pub smtp_url: Option<String>,
    /// The From address of outgoing email.
    pub mail_from: String,
    /// Trust `X-Forwarded-For` from the load balancer for the client address (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Run the email outbox worker in this process.
    pub run_worker: bool,
}

impl Config {
    /// Cookies are marked `Secure` (and use the `__Host-` prefix) when CarePact is reached over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn for_tests() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            public_url: "http://127.0.0.1:8080".into(),
            smtp_url: None,
            mail_from: "CarePact <no-reply@carepact.example>".into(),
            trust_forwarded_for: false,
            run_worker: false,
        }
    }
}
