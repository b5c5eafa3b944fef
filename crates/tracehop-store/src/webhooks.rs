//! Webhook subscriptions per provider, and the log of every notification delivery (email or
//! webhook) with its outcome.

use std::collections::BTreeMap;

use jiff::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use crate::write::{Arg, Statement};
use crate::{Result, Store, Tx, from_micros, micros, with_read, with_tx};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    pub id: String,
    pub provider_id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub secret: String,
    /// The secret before the last rotation, still signing until `previous_secret_until`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<Timestamp>,
    pub active: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl WebhookRecord {
    /// The secrets to sign with at `now`: the current one, and the previous one during the
    /// overlap after a rotation.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until)
            && now < until
        {
            secrets.push(previous);
        }
        secrets
    }

    pub fn wants(&self, event_type: &str) -> bool {
        self.active && self.event_types.iter().any(|t| t == event_type || t == "*")
    }
}

/// Where one provider's notifications go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotificationTargets {
    pub emails: Vec<String>,
    /// Active webhooks: id and the event types it wants (`*` for all).
    pub webhooks: Vec<(String, Vec<String>)>,
}

impl NotificationTargets {
    /// The webhooks that want `event_type`.
    pub fn webhooks_for(&self, event_type: &str) -> impl Iterator<Item = &str> {
        self.webhooks
            .iter()
            .filter(move |(_, types)| types.iter().any(|t| t == event_type || t == "*"))
            .map(|(id, _)| id.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    pub id: i64,
    /// `email` or `webhook`.
    pub channel: String,
    pub job_id: Option<i64>,
    pub webhook_id: Option<String>,
    pub provider_id: Option<String>,
    pub traceback_id: Option<String>,
    pub event_id: String,
    pub event_type: String,
    /// The URL or the recipients.
    pub target: String,
    pub attempt: i64,
    /// `delivered` or `failed`.
    pub outcome: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub at: Timestamp,
}

const WEBHOOK_COLUMNS: &str = "id, provider_id, url, event_types, secret, previous_secret, previous_secret_until_us, active, created_at_us, updated_at_us";

macro_rules! webhooks {
    ($rows:expr) => {
        $rows
            .into_iter()
            .map(|row| -> Result<WebhookRecord> {
                let types: String = row.try_get("event_types")?;
                Ok(WebhookRecord {
                    id: row.try_get("id")?,
                    provider_id: row.try_get("provider_id")?,
                    url: row.try_get("url")?,
                    event_types: types.split_whitespace().map(str::to_owned).collect(),
                    secret: row.try_get("secret")?,
                    previous_secret: row.try_get("previous_secret")?,
                    previous_secret_until: row
                        .try_get::<Option<i64>, _>("previous_secret_until_us")?
                        .map(from_micros)
                        .transpose()?,
                    active: row.try_get("active")?,
                    created_at: from_micros(row.try_get("created_at_us")?)?,
                    updated_at: from_micros(row.try_get("updated_at_us")?)?,
                })
            })
            .collect::<Result<Vec<_>>>()
    };
}

impl Tx {
    /// The active webhooks of a provider, read inside a command's transaction.
    pub async fn active_webhooks(&mut self, provider_id: &str) -> Result<Vec<WebhookRecord>> {
        let sql =
            format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE provider_id = $1 AND active = TRUE ORDER BY id");
        with_tx!(self, conn => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(provider_id).fetch_all(conn).await?;
            webhooks!(rows)
        })
    }

    pub async fn record_delivery(&mut self, delivery: &DeliveryRecord) -> Result<()> {
        self.record_deliveries(std::slice::from_ref(delivery)).await
    }

    /// Where each provider's notifications go: its contacts' emails (primary first) and its
    /// active webhooks with the event types each wants, for several providers in one read.
    pub async fn notification_targets(&mut self, providers: &[&str]) -> Result<BTreeMap<String, NotificationTargets>> {
        let mut targets: BTreeMap<String, NotificationTargets> =
            providers.iter().map(|p| ((*p).to_owned(), NotificationTargets::default())).collect();
        if providers.is_empty() {
            return Ok(targets);
        }
        let mut statement = Statement::default();
        let list: Vec<String> = providers.iter().map(|p| statement.text(*p)).collect();
        let list = list.join(", ");
        // A provider merged into another is reached through the other's contacts and webhooks.
        let sql = format!(
            "WITH asked (provider_id, reached) AS (
                 SELECT id, COALESCE(merged_into, id) FROM providers WHERE id IN ({list}))
             SELECT a.provider_id, 'email' AS kind, c.email AS target, NULL AS event_types,
                    CASE WHEN c.role = 'primary' THEN 0 ELSE 1 END AS rank
                 FROM asked a JOIN provider_contacts c ON c.provider_id = a.reached WHERE COALESCE(c.email, '') <> ''
             UNION ALL
             SELECT a.provider_id, 'webhook', w.id, w.event_types, w.created_at_us
                 FROM asked a JOIN webhooks w ON w.provider_id = a.reached WHERE w.active = TRUE
             ORDER BY 1, 2, 5, 3"
        );
        let rows: Vec<(String, String, String, Option<String>)> = with_tx!(self, conn => {
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for provider in providers {
                query = query.bind(*provider);
            }
            let rows = query.fetch_all(conn).await?;
            rows.into_iter()
                .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                .collect::<std::result::Result<Vec<_>, _>>()
        })?;
        for (provider, kind, target, types) in rows {
            let entry = targets.entry(provider).or_default();
            if kind == "email" {
                if !entry.emails.contains(&target) {
                    entry.emails.push(target);
                }
            } else {
                entry
                    .webhooks
                    .push((target, types.unwrap_or_default().split_whitespace().map(str::to_owned).collect()));
            }
        }
        Ok(targets)
    }

    /// Logs several delivery attempts in one statement.
    pub async fn record_deliveries(&mut self, deliveries: &[DeliveryRecord]) -> Result<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let mut statement = Statement::default();
        let rows: Vec<String> = deliveries
            .iter()
            .map(|d| {
                statement.row(vec![
                    Arg::Text(Some(d.channel.clone())),
                    Arg::Int(d.job_id),
                    Arg::Text(d.webhook_id.clone()),
                    Arg::Text(d.provider_id.clone()),
                    Arg::Text(d.traceback_id.clone()),
                    Arg::Text(Some(d.event_id.clone())),
                    Arg::Text(Some(d.event_type.clone())),
                    Arg::Text(Some(d.target.clone())),
                    Arg::Int(Some(d.attempt)),
                    Arg::Text(Some(d.outcome.clone())),
                    Arg::Int(d.status_code),
                    Arg::Text(d.error.clone()),
                    Arg::Int(Some(d.duration_ms)),
                    Arg::Int(Some(micros(d.at))),
                ])
            })
            .collect();
        statement.sql = format!(
            "INSERT INTO deliveries (channel, job_id, webhook_id, provider_id, traceback_id, event_id, event_type, target,
                 attempt, outcome, status_code, error, duration_ms, at_us) VALUES {}",
            rows.join(", ")
        );
        self.run(&statement).await?;
        Ok(())
    }

    pub async fn save_webhook(&mut self, webhook: &WebhookRecord) -> Result<()> {
        with_tx!(self, conn => {
            sqlx::query(
                "INSERT INTO webhooks (id, provider_id, url, event_types, secret, previous_secret, previous_secret_until_us,
                     active, created_at_us, updated_at_us)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (id) DO UPDATE SET url = excluded.url, event_types = excluded.event_types,
                     secret = excluded.secret, previous_secret = excluded.previous_secret,
                     previous_secret_until_us = excluded.previous_secret_until_us, active = excluded.active,
                     updated_at_us = excluded.updated_at_us",
            )
            .bind(&webhook.id).bind(&webhook.provider_id).bind(&webhook.url).bind(webhook.event_types.join(" "))
            .bind(&webhook.secret).bind(&webhook.previous_secret).bind(webhook.previous_secret_until.map(micros))
            .bind(webhook.active).bind(micros(webhook.created_at)).bind(micros(webhook.updated_at))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }
}

impl Tx {
    /// Switches off every active webhook of a provider (one merged into another: its URLs were
    /// never approved by the provider it became); returns the ids switched off.
    pub async fn disable_webhooks_of(&mut self, provider_id: &str, now: Timestamp) -> Result<Vec<String>> {
        Ok(with_tx!(self, conn => {
            sqlx::query_scalar::<_, String>(
                "UPDATE webhooks SET active = FALSE, updated_at_us = $2 WHERE provider_id = $1 AND active = TRUE RETURNING id",
            )
            .bind(provider_id)
            .bind(micros(now))
            .fetch_all(conn)
            .await
        })?)
    }
}

impl Store {
    pub async fn webhook(&self, id: &str) -> Result<Option<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        let mut found = with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_all(pool).await?;
            webhooks!(rows)
        })?;
        Ok(found.pop())
    }

    pub async fn webhooks_of(&self, provider_id: &str) -> Result<Vec<WebhookRecord>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE provider_id = $1 ORDER BY created_at_us, id");
        with_read!(self, pool => {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(provider_id).fetch_all(pool).await?;
            webhooks!(rows)
        })
    }

    pub async fn save_webhook(&self, webhook: &WebhookRecord) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.save_webhook(webhook).await?;
        tx.commit().await
    }

    pub async fn record_delivery(&self, delivery: &DeliveryRecord) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.record_delivery(delivery).await?;
        tx.commit().await
    }

    /// Deliveries to a provider, newest first, optionally of one webhook; `before` is a cursor.
    pub async fn deliveries(
        &self,
        provider_id: &str,
        webhook_id: Option<&str>,
        channel: Option<&str>,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<DeliveryRecord>> {
        with_read!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, channel, job_id, webhook_id, provider_id, traceback_id, event_id, event_type, target, attempt,
                     outcome, status_code, error, duration_ms, at_us
                 FROM deliveries
                 WHERE provider_id = $1 AND ($2 IS NULL OR webhook_id = $2) AND ($3 IS NULL OR channel = $3)
                   AND ($4 IS NULL OR id < $4)
                 ORDER BY id DESC LIMIT $5",
            )
            .bind(provider_id).bind(webhook_id).bind(channel).bind(before).bind(limit.clamp(1, 500))
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|row| -> Result<DeliveryRecord> {
                    Ok(DeliveryRecord {
                        id: row.try_get("id")?,
                        channel: row.try_get("channel")?,
                        job_id: row.try_get("job_id")?,
                        webhook_id: row.try_get("webhook_id")?,
                        provider_id: row.try_get("provider_id")?,
                        traceback_id: row.try_get("traceback_id")?,
                        event_id: row.try_get("event_id")?,
                        event_type: row.try_get("event_type")?,
                        target: row.try_get("target")?,
                        attempt: row.try_get("attempt")?,
                        outcome: row.try_get("outcome")?,
                        status_code: row.try_get("status_code")?,
                        error: row.try_get("error")?,
                        duration_ms: row.try_get("duration_ms")?,
                        at: from_micros(row.try_get("at_us")?)?,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })
    }
}

impl Store {
    pub async fn delete_webhook(&self, id: &str) -> Result<bool> {
        let mut tx = self.begin().await?;
        let removed = with_tx!(tx, conn => {
            sqlx::query("DELETE FROM webhooks WHERE id = $1").bind(id).execute(conn).await.map(|r| r.rows_affected())
        })?;
        tx.commit().await?;
        Ok(removed == 1)
    }
}
