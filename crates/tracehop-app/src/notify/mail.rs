//! Outgoing email: SMTP (with TLS as configured), `.eml` files in a folder (the demo), or a
//! capture for tests.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

/// How mail leaves the platform: `transport` is `smtp`, `files` or `disabled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// The sender, e.g. `tracehop <traceback@consortium.example>`.
    pub from: String,
    /// `smtp` (to `host`), `files` (`.eml` files in `dir`) or `disabled`.
    pub transport: String,
    pub host: Option<String>,
    pub port: u16,
    /// `none`, `starttls` (required; the default) or `tls` (implicit, usually port 465).
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<String>,
    pub dir: Option<PathBuf>,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "tracehop <traceback@tracehop.example>".to_owned(),
            transport: "disabled".to_owned(),
            host: None,
            port: 587,
            tls: TlsMode::Starttls,
            username: None,
            password: None,
            dir: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    None,
    #[default]
    Starttls,
    Tls,
}

/// A message as a capture holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedMail {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub message_id: String,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
    Capture(Arc<Mutex<Vec<CapturedMail>>>),
    Disabled,
}

/// Sends notification emails.
#[derive(Clone)]
pub struct Mailer {
    /// The sender; absent only where nothing leaves the process.
    from: Option<Mailbox>,
    transport: Transport,
}

impl Mailer {
    pub fn from_config(config: &MailConfig) -> Result<Self, String> {
        let from: Mailbox = config.from.parse().map_err(|e| format!("mail.from {:?}: {e}", config.from))?;
        let transport = match config.transport.as_str() {
            "smtp" => {
                let host = config.host.as_deref().ok_or("mail.host is required for smtp")?;
                let (port, tls, username, password) = (&config.port, &config.tls, &config.username, &config.password);
                let parameters =
                    || TlsParameters::new(host.to_owned()).map_err(|e| format!("mail TLS for {host}: {e}"));
                let tls = match tls {
                    TlsMode::None => Tls::None,
                    TlsMode::Starttls => Tls::Required(parameters()?),
                    TlsMode::Tls => Tls::Wrapper(parameters()?),
                };
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(*port).tls(tls);
                if let (Some(user), Some(password)) = (username, password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Transport::Smtp(builder.build())
            }
            "files" => {
                let dir = config.dir.as_ref().ok_or("mail.dir is required for files")?;
                std::fs::create_dir_all(dir).map_err(|e| format!("mail folder {}: {e}", dir.display()))?;
                Transport::Files(AsyncFileTransport::<Tokio1Executor>::new(dir))
            }
            "disabled" => Transport::Disabled,
            other => return Err(format!("mail.transport {other:?}: expected smtp, files or disabled")),
        };
        Ok(Self { from: Some(from), transport })
    }

    pub fn disabled() -> Self {
        Self { from: None, transport: Transport::Disabled }
    }

    /// A mailer that keeps what it sends, for tests.
    pub fn capture() -> (Self, Arc<Mutex<Vec<CapturedMail>>>) {
        let sent = Arc::new(Mutex::new(Vec::new()));
        (Self { from: None, transport: Transport::Capture(sent.clone()) }, sent)
    }

    pub fn is_disabled(&self) -> bool {
        matches!(self.transport, Transport::Disabled)
    }

    /// Sends one plain-text message. `message_id` makes a resend recognisable as the same mail.
    pub async fn send(&self, to: &[String], subject: &str, body: &str, message_id: &str) -> Result<(), String> {
        let Some(from) = self.from.clone() else {
            self.keep(to, subject, body, message_id);
            return Ok(());
        };
        let mut builder = Message::builder()
            .from(from)
            .subject(subject)
            .message_id(Some(format!("<{message_id}@tracehop>")))
            .header(ContentType::TEXT_PLAIN);
        for address in to {
            let mailbox: Mailbox = address.parse().map_err(|e| format!("recipient {address:?}: {e}"))?;
            builder = builder.to(mailbox);
        }
        let message = builder.body(body.to_owned()).map_err(|e| e.to_string())?;
        match &self.transport {
            Transport::Smtp(transport) => transport.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Files(transport) => transport.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Capture(_) | Transport::Disabled => {
                self.keep(to, subject, body, message_id);
                Ok(())
            }
        }
    }

    /// Where nothing leaves the process: a capture keeps the message, disabled mail drops it.
    fn keep(&self, to: &[String], subject: &str, body: &str, message_id: &str) {
        if let Transport::Capture(sent) = &self.transport {
            sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(CapturedMail {
                to: to.to_vec(),
                subject: subject.to_owned(),
                body: body.to_owned(),
                message_id: message_id.to_owned(),
            });
        }
    }
}
