//! `rrn dev seed`: synthetic cases for measuring listings and planning at scale.
//!
//! The cases are plausible (aware in the last 90 days, 2-6 agencies, most past milestones done,
//! some late) and deterministic for a given `--seed`. References are `SEED-<seed>-<n>`; nothing
//! else is stored, as for real cases.

use std::path::Path;

use chrono::{Days, Utc};
use tokio::runtime::Runtime;

use super::case::open_store;
use super::{CliError, load, print};
use crate::domain::case::{CaseRef, CompletionRecord};
use crate::domain::plan::Capacity;
use crate::domain::timeline::{CaseFacts, Role, evaluate};
use crate::store::{Batch, NewCase, NewEmail};

/// Cases written per transaction.
const BATCH: usize = 5_000;

/// splitmix64: enough randomness for test data, with no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub(super) fn seed(
    runtime: &Runtime,
    config_path: Option<&Path>,
    cases: usize,
    seed: u64,
    at: Option<crate::service::moment::At>,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let loaded = load(config_path, at)?;
    let (config, timeline, calendar) = (&loaded.config, &loaded.timeline, &loaded.calendar);
    let today = loaded.today();
    if config.agencies.len() < 2 {
        return Err(CliError::Failed(anyhow::anyhow!(
            "seeding needs at least 2 [[agency]] entries in the config"
        )));
    }
    let now = Utc::now();
    let mut random = Random(seed);
    runtime.block_on(async {
        let store = open_store(config).await?;
        let mut written = 0;
        while written < cases {
            let mut tx = store.begin().await?;
            for n in written..(written + BATCH).min(cases) {
                let reference = CaseRef::parse(&format!("SEED-{seed}-{n:07}")).expect("valid");
                let aware = today - Days::new(random.below(90));
                let day0 = calendar
                    .add_working_days(aware, random.below(6) as i32)
                    .ok()
                    .filter(|d| *d <= today);
                let mut agencies = config
                    .agencies
                    .iter()
                    .map(|a| a.id.clone())
                    .collect::<Vec<_>>();
                let keep = 2 + random.below(agencies.len().min(6) as u64 - 1) as usize;
                while agencies.len() > keep {
                    agencies.swap_remove(random.below(agencies.len() as u64) as usize);
                }
                agencies.sort();
                let id = tx
                    .insert_case(
                        &NewCase {
                            reference: &reference,
                            aware,
                            day0,
                            local_review_proposed: false,
                        },
                        now,
                    )
                    .await?;
                for agency in &agencies {
                    tx.add_agency(id, agency, now).await?;
                }
                let facts = CaseFacts {
                    aware: Some(aware),
                    day0,
                    agencies,
                    completions: Vec::new(),
                    local_review_proposed: false,
                };
                let states = evaluate(timeline, calendar, &facts, today)?;
                for state in states {
                    let done_on = if state.id == timeline.day0_milestone() {
                        day0
                    } else {
                        // Most milestones past due are done, some a day or two late.
                        state
                            .due
                            .filter(|due| *due < today && random.below(100) < 85)
                            .and_then(|due| {
                                calendar.add_working_days(due, random.below(3) as i32).ok()
                            })
                            .filter(|on| *on <= today)
                    };
                    if let Some(on) = done_on {
                        let record = CompletionRecord {
                            milestone: state.id.to_owned(),
                            agency: state.agency.cloned(),
                            completed_on: on,
                            recorded_by: "seed".to_owned(),
                            recorded_at: now,
                            note: None,
                        };
                        tx.insert_completion(id, &record).await?;
                    }
                }
                tx.audit(Some(id), now, "seed", "open", "seeded for measurement")
                    .await?;
            }
            tx.commit().await?;
            written = (written + BATCH).min(cases);
        }
        print(
            out,
            &format!("seeded {cases} open cases ({})\n", store.backend()),
        )
    })
}

/// Queues `emails` copies of the sample digest, addressed to the business team, in one
/// transaction.
pub(super) fn enqueue(
    runtime: &Runtime,
    config_path: Option<&Path>,
    emails: usize,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let loaded = load(config_path, None)?;
    let Some(team) = loaded.config.contacts.business_team.clone() else {
        return Err(CliError::Failed(anyhow::anyhow!(
            "queueing needs [contacts] business_team in the config"
        )));
    };
    let mut email = crate::mail::sample_email();
    email.recipient.email = team.email.clone();
    email.recipient.name = team.name.to_string();
    email.recipient.role = Capacity::Role(Role::BusinessTeam);
    let json = serde_json::to_string(&email).expect("serialises");
    let now = Utc::now();
    runtime.block_on(async {
        let store = open_store(&loaded.config).await?;
        let queued = vec![
            NewEmail {
                case_id: None,
                kind: crate::store::OutboxKind::Digest,
                recipient: team.email.as_str().to_owned(),
                json,
            };
            emails
        ];
        let mut tx = store.begin().await?;
        tx.queue(&Batch::new(queued, &[]), "rrn dev enqueue", now)
            .await?;
        tx.commit().await?;
        print(
            out,
            &format!("queued {emails} emails ({})\n", store.backend()),
        )
    })
}
