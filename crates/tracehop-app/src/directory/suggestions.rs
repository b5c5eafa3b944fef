//! Suggested affiliations (PRV-3): pairs of providers the RMD import saw naming the same FRN.
//! Staff confirm one — the two become affiliates, one VSP entity unless either asked for separate
//! treatment — or dismiss it with a reason. An import never suggests a decided pair again and
//! never touches the affiliates staff set.

use tracehop_store::affiliations::{AffiliationSuggestion, SuggestionFilter, SuggestionStatus};

use crate::{App, AppError, AppResult, Principal};

impl App {
    /// Suggestions, oldest first.
    pub async fn affiliation_suggestions(
        &self,
        by: &Principal,
        filter: &SuggestionFilter,
    ) -> AppResult<Vec<AffiliationSuggestion>> {
        self.staff(by)?;
        Ok(self.store().affiliation_suggestions(filter).await?)
    }

    /// Staff decide an open suggestion: confirming declares the two providers affiliates and
    /// regroups VSP entities; dismissing needs a reason.
    pub async fn decide_affiliation(
        &self,
        by: &Principal,
        id: i64,
        decision: SuggestionStatus,
        reason: Option<String>,
    ) -> AppResult<AffiliationSuggestion> {
        self.staff(by)?;
        let Principal::Staff { user, .. } = by else {
            return Err(AppError::Forbidden("only consortium staff may do this".into()));
        };
        let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if decision == SuggestionStatus::Dismissed && reason.is_none() {
            return Err(AppError::invalid("reason", "say why the providers are not affiliated"));
        }
        if decision == SuggestionStatus::Open {
            return Err(AppError::invalid("decision", "confirm or dismiss"));
        }
        let now = self.now();
        let mut tx = self.store().begin().await?;
        let suggestion = tx
            .affiliation_suggestion(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("affiliation suggestion {id}")))?;
        if suggestion.status != SuggestionStatus::Open {
            return Err(AppError::Conflict(format!(
                "affiliation suggestion {id} is already {}",
                suggestion.status.name()
            )));
        }
        if decision == SuggestionStatus::Confirmed {
            for provider in [&suggestion.provider_a, &suggestion.provider_b] {
                match tx.provider(provider).await? {
                    None => return Err(AppError::NotFound(format!("provider {provider}"))),
                    Some(record) if record.merged_into.is_some() => {
                        return Err(AppError::invalid(
                            "id",
                            format!("provider {provider} was merged; link the provider it was merged into"),
                        ));
                    }
                    Some(_) => {}
                }
            }
            tx.add_affiliate(&suggestion.provider_a, &suggestion.provider_b).await?;
            tx.recompute_entities().await?;
        }
        tx.decide_affiliation_suggestion(id, decision, reason.as_deref(), user, now).await?;
        let decided = tx
            .affiliation_suggestion(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("affiliation suggestion {id}")))?;
        tx.commit().await?;
        Ok(decided)
    }
}
