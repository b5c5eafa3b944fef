//! Voicemails and recordings of incidents (INC-3): blobs in an object store — a local directory
//! by default, an S3-compatible bucket when configured — with a size limit, a content type from an
//! allowed list, and the SHA-256 and size kept on the incident. The object's key is
//! `incidents/<incident id>/<sha256>`, so an upload is in place before the incident names it and a
//! replaced recording's object can be deleted afterwards.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracehop_store::StoreError;
use tracehop_store::incidents::{IncidentRecord, RecordingRecord};

use crate::access::principal::Principal;
use crate::{App, AppError, AppResult};

/// 20 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// Where recordings are kept and what is accepted (the `recordings` configuration section).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordingsConfig {
    /// `local` (files under `directory`) or `s3` (an S3-compatible bucket).
    pub backend: String,
    /// The directory of the `local` backend; created by the first upload.
    pub directory: PathBuf,
    /// The largest recording accepted, in bytes.
    pub max_bytes: u64,
    /// Accepted media types; `audio/*` accepts every audio type.
    pub content_types: Vec<String>,
    /// `s3`: the bucket.
    pub bucket: Option<String>,
    /// `s3`: the region (default `us-east-1`).
    pub region: Option<String>,
    /// `s3`: the endpoint of an S3-compatible service, e.g. `https://minio.internal:9000`
    /// (default: AWS).
    pub endpoint: Option<String>,
    pub access_key_id: Option<String>,
    /// A secret: set it through `TRACEHOP_RECORDINGS__SECRET_ACCESS_KEY_FILE`.
    pub secret_access_key: Option<String>,
    /// `s3`: allow an `http://` endpoint (a service on a private network).
    pub allow_http: bool,
}

impl Default for RecordingsConfig {
    fn default() -> Self {
        Self {
            backend: "local".to_owned(),
            directory: PathBuf::from("./tracehop-recordings"),
            max_bytes: DEFAULT_MAX_BYTES,
            content_types: vec!["audio/*".to_owned()],
            bucket: None,
            region: None,
            endpoint: None,
            access_key_id: None,
            secret_access_key: None,
            allow_http: false,
        }
    }
}

impl fmt::Debug for RecordingsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingsConfig")
            .field("backend", &self.backend)
            .field("directory", &self.directory)
            .field("max_bytes", &self.max_bytes)
            .field("content_types", &self.content_types)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "***"))
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// The recording store in use and its limits. Cheap to clone.
#[derive(Clone)]
pub struct Recordings {
    objects: Arc<dyn ObjectStore>,
    max_bytes: u64,
    content_types: Vec<String>,
}

impl fmt::Debug for Recordings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recordings")
            .field("objects", &self.objects.to_string())
            .field("max_bytes", &self.max_bytes)
            .field("content_types", &self.content_types)
            .finish()
    }
}

impl Recordings {
    /// Recordings kept in memory, with the default limits: for tests and embedded use, where
    /// nothing outlives the process. A server configures a directory or a bucket.
    pub fn in_memory() -> Self {
        Self::new(Arc::new(object_store::memory::InMemory::new()))
    }

    /// Any object store, with the default limits.
    pub fn new(objects: Arc<dyn ObjectStore>) -> Self {
        Self { objects, max_bytes: DEFAULT_MAX_BYTES, content_types: vec!["audio/*".to_owned()] }
    }

    /// A different size limit and list of accepted types.
    #[must_use]
    pub fn with_limits(mut self, max_bytes: u64, content_types: Vec<String>) -> Self {
        self.max_bytes = max_bytes;
        self.content_types = content_types.into_iter().map(|t| t.trim().to_ascii_lowercase()).collect();
        self
    }

    /// The store the configuration describes.
    pub fn from_config(config: &RecordingsConfig) -> Result<Self, String> {
        if config.max_bytes == 0 {
            return Err("recordings.max_bytes must be at least 1".to_owned());
        }
        if config.content_types.is_empty() {
            return Err("recordings.content_types must name at least one type".to_owned());
        }
        let objects: Arc<dyn ObjectStore> = match config.backend.as_str() {
            "local" => {
                // Files under the directory, which is made on the first upload: opening the
                // application touches nothing.
                let directory = std::path::absolute(&config.directory)
                    .map_err(|e| format!("recordings.directory {}: {e}", config.directory.display()))?;
                let prefix = ObjectPath::from_absolute_path(&directory)
                    .map_err(|e| format!("recordings.directory {}: {e}", directory.display()))?;
                Arc::new(PrefixStore::new(LocalFileSystem::new(), prefix))
            }
            "s3" => {
                // The S3 client is a reqwest client: it needs the process's TLS provider.
                crate::install_tls_provider();
                let bucket =
                    config.bucket.as_deref().filter(|b| !b.is_empty()).ok_or("recordings.bucket is required for s3")?;
                let mut builder = object_store::aws::AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(config.region.as_deref().unwrap_or("us-east-1"))
                    .with_allow_http(config.allow_http);
                if let Some(endpoint) = &config.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                match (&config.access_key_id, &config.secret_access_key) {
                    (Some(key), Some(secret)) => {
                        builder = builder.with_access_key_id(key).with_secret_access_key(secret);
                    }
                    (None, None) => {}
                    _ => return Err("recordings: give both access_key_id and secret_access_key, or neither".into()),
                }
                Arc::new(builder.build().map_err(|e| format!("recordings (s3): {e}"))?)
            }
            other => return Err(format!("recordings.backend: `{other}` is neither `local` nor `s3`")),
        };
        Ok(Self::new(objects).with_limits(config.max_bytes, config.content_types.clone()))
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    pub fn content_types(&self) -> &[String] {
        &self.content_types
    }

    /// Whether a media type (parameters ignored) is accepted.
    pub fn accepts(&self, content_type: &str) -> bool {
        let essence = essence(content_type);
        let Some((kind, subtype)) = essence.split_once('/') else { return false };
        if kind.is_empty() || subtype.is_empty() || subtype.contains('/') {
            return false;
        }
        self.content_types.iter().any(|allowed| match allowed.strip_suffix("/*") {
            Some(prefix) => prefix == kind,
            None => *allowed == essence,
        })
    }

    pub fn objects(&self) -> &Arc<dyn ObjectStore> {
        &self.objects
    }
}

/// A media type without its parameters, lower case.
fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

/// Why a recording was not stored.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    #[error("the recording is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("recordings must be one of {}", allowed.join(", "))]
    UnsupportedType { allowed: Vec<String> },
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<StoreError> for RecordingError {
    fn from(error: StoreError) -> Self {
        Self::App(error.into())
    }
}

fn object_error(error: &object_store::Error) -> AppError {
    AppError::Store(StoreError::Database(format!("recording store: {error}")))
}

impl App {
    pub fn recordings(&self) -> &Recordings {
        &self.inner.recordings
    }

    /// Stores a recording of an incident the caller may submit for (its own, or any for staff),
    /// replacing any earlier one; once a traceback uses the incident, the earlier one is kept as
    /// a version (see `recording_versions`), since the traceback refers to it. `declared_length` (a Content-Length) lets an oversized upload
    /// be refused before it is read; the limit holds whatever it says.
    pub async fn upload_recording<S, E>(
        &self,
        by: &Principal,
        incident: &str,
        content_type: &str,
        declared_length: Option<u64>,
        body: S,
    ) -> Result<IncidentRecord, RecordingError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: fmt::Display,
    {
        // Staff may act on any incident, a submitter on its own; anyone else finds nothing.
        let record = self.incident(by, incident).await?;
        let recordings = self.recordings();
        if !recordings.accepts(content_type) {
            return Err(RecordingError::UnsupportedType { allowed: recordings.content_types.clone() });
        }
        let limit = recordings.max_bytes;
        if declared_length.is_some_and(|length| length > limit) {
            return Err(RecordingError::TooLarge { limit });
        }
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut chunks: Vec<Bytes> = Vec::new();
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| AppError::invalid("body", format!("the upload broke off: {e}")))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(RecordingError::TooLarge { limit });
            }
            hasher.update(&chunk);
            chunks.push(chunk);
        }
        if size == 0 {
            return Err(AppError::invalid("body", "the recording is empty").into());
        }
        let sha256 = hex::encode(hasher.finalize());
        let key = format!("incidents/{}/{sha256}", record.row.id);
        let path = ObjectPath::from(key.as_str());
        recordings
            .objects
            .put(&path, PutPayload::from_iter(chunks))
            .await
            .map_err(|e| RecordingError::App(object_error(&e)))?;
        let stored = RecordingRecord {
            key: key.clone(),
            content_type: essence(content_type),
            sha256,
            size: i64::try_from(size).unwrap_or(i64::MAX),
            purged_at: None,
        };
        let (previous, kept) = match self.save_recording(&record.row.id, &stored).await {
            Ok(saved) => saved,
            Err(error) => {
                if let Err(cleanup) = recordings.objects.delete(&path).await {
                    tracing::warn!(%cleanup, key, "could not delete the object of a recording that was not saved");
                }
                return Err(error.into());
            }
        };
        if let Some(previous) = previous.filter(|p| !kept && p.key != key && p.purged_at.is_none() && !p.key.is_empty())
        {
            let old = ObjectPath::from(previous.key.as_str());
            if let Err(error) = recordings.objects.delete(&old).await {
                tracing::warn!(%error, key = previous.key, "could not delete a replaced recording");
            }
        }
        Ok(IncidentRecord { recording: Some(stored), ..record })
    }

    /// Makes `stored` the incident's recording; returns the one it replaced and whether that one
    /// was kept as an earlier version (the incident is used by a traceback, whose evidence it
    /// is: a correction never deletes it).
    async fn save_recording(
        &self,
        incident: &str,
        stored: &RecordingRecord,
    ) -> Result<(Option<RecordingRecord>, bool), StoreError> {
        let mut tx = self.store().begin().await?;
        let previous = tx.set_incident_recording(incident, Some(stored)).await?;
        let used = tx.incident_used_by(incident).await?.is_some();
        let keep = previous.as_ref().filter(|p| used && p.key != stored.key && !p.key.is_empty());
        if let Some(previous) = keep {
            tx.keep_recording_version(incident, previous, self.now()).await?;
        }
        tx.commit().await?;
        let kept = keep.is_some();
        Ok((previous, kept))
    }

    /// An incident's recording, for staff, checked against its SHA-256.
    pub async fn download_recording(&self, by: &Principal, incident: &str) -> AppResult<(RecordingRecord, Bytes)> {
        self.staff(by)?;
        let record =
            self.store().incident(incident).await?.ok_or_else(|| AppError::NotFound(format!("incident {incident}")))?;
        let recording = record
            .recording
            .filter(|r| r.purged_at.is_none())
            .ok_or_else(|| AppError::NotFound(format!("recording of incident {incident}")))?;
        let path = ObjectPath::from(recording.key.as_str());
        let bytes = match self.recordings().objects.get(&path).await {
            Ok(result) => result.bytes().await.map_err(|e| object_error(&e))?,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(AppError::Store(StoreError::Corrupt(format!(
                    "the recording of incident {incident} is missing from the recording store"
                ))));
            }
            Err(error) => return Err(object_error(&error)),
        };
        if hex::encode(Sha256::digest(&bytes)) != recording.sha256 {
            return Err(AppError::Store(StoreError::Corrupt(format!(
                "the recording of incident {incident} does not match its SHA-256"
            ))));
        }
        Ok((recording, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_match_by_essence_and_wildcard() {
        let recordings = Recordings::in_memory();
        assert!(recordings.accepts("audio/wav"));
        assert!(recordings.accepts("Audio/MPEG; codecs=mp3"));
        assert!(!recordings.accepts("audio/"));
        assert!(!recordings.accepts("audio"));
        assert!(!recordings.accepts("text/plain"));
        assert!(!recordings.accepts("audiox/wav"));
        let narrow = Recordings::in_memory().with_limits(10, vec!["audio/wav".into()]);
        assert!(narrow.accepts("audio/wav"));
        assert!(!narrow.accepts("audio/mpeg"));
    }

    #[tokio::test]
    async fn a_local_directory_is_made_by_the_first_upload_and_holds_the_objects() {
        let dir = std::env::temp_dir().join(format!("tracehop-recordings-test-{}", std::process::id()));
        let directory = dir.join("nested").join("recordings");
        let config = RecordingsConfig { directory: directory.clone(), ..RecordingsConfig::default() };
        let recordings = Recordings::from_config(&config).unwrap();
        assert!(!dir.exists(), "nothing is made before an upload");
        let key = ObjectPath::from("incidents/0190/abcd");
        recordings.objects().put(&key, PutPayload::from(b"RIFF....WAVE".to_vec())).await.unwrap();
        assert_eq!(std::fs::read(directory.join("incidents/0190/abcd")).unwrap(), b"RIFF....WAVE");
        let read = recordings.objects().get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(read.as_ref(), b"RIFF....WAVE");
        recordings.objects().delete(&key).await.unwrap();
        assert!(!directory.join("incidents/0190/abcd").exists());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn configuration_is_checked_and_secrets_stay_out_of_debug() {
        let config = RecordingsConfig {
            backend: "s3".into(),
            bucket: Some("recordings".into()),
            endpoint: Some("http://127.0.0.1:9".into()),
            allow_http: true,
            access_key_id: Some("AKIDEXAMPLE".into()),
            secret_access_key: Some("wJalrXUtnFEMI".into()),
            ..RecordingsConfig::default()
        };
        assert!(Recordings::from_config(&config).is_ok());
        assert!(!format!("{config:?}").contains("wJalrXUtnFEMI"));
        assert!(Recordings::from_config(&RecordingsConfig { bucket: None, ..config.clone() }).is_err());
        assert!(Recordings::from_config(&RecordingsConfig { secret_access_key: None, ..config.clone() }).is_err());
        assert!(Recordings::from_config(&RecordingsConfig { backend: "ftp".into(), ..config.clone() }).is_err());
        assert!(Recordings::from_config(&RecordingsConfig { max_bytes: 0, ..RecordingsConfig::default() }).is_err());
    }
}
