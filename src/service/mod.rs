//! One evaluation-and-delivery step, shared by `rrn run --once`, `rrn demo` and the daemon, so
//! the three cannot drift apart.
//!
//! A [`Service`] is everything loaded from the config (timeline, calendar, schedule, templates,
//! transport); the daemon builds a new one on SIGHUP and keeps the old one if that fails.

pub mod daemon;
pub mod delivery;
pub mod evaluation;
pub mod moment;
pub mod observe;
pub mod report;
pub mod retry;

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use lettre::message::Mailbox;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::config::Schedule;
use crate::domain::calendar::Calendar;
use crate::domain::plan::Planner;
use crate::domain::timeline::Timeline;
use crate::mail::{MailError, Mailer, Renderer};
use crate::service::delivery::{
    Claimer, Delivery, DeliveryError, DeliveryReport, SendingWindow, deliver,
};
use crate::service::evaluation::{RunReport, run_once};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Timeline(#[from] crate::domain::timeline::TimelineError),
    #[error(transparent)]
    Calendar(#[from] crate::domain::calendar::FeedError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("the run failed: {0}")]
    Run(#[from] StoreError),
    #[error("delivery failed: {0}")]
    Delivery(#[from] DeliveryError),
    #[error("{0}")]
    Admin(String),
}

impl ServiceError {
    /// Whether what the service is built from was refused (the timeline, the bank holidays,
    /// a template, the admin's address): a config to fix, not a failure.
    pub fn refused(&self) -> bool {
        match self {
            ServiceError::Timeline(e) => e.refused(),
            ServiceError::Calendar(e) => e.refused(),
            ServiceError::Mail(e) => e.refused(),
            ServiceError::Admin(_) => true,
            ServiceError::Run(_) | ServiceError::Delivery(_) => false,
        }
    }
}

/// The loaded configuration and what is built from it.
pub struct Service {
    pub config: Config,
    pub timeline: Timeline,
    pub calendar: Calendar,
    pub schedule: Schedule,
    pub renderer: Renderer,
    pub mailer: Mailer,
    pub window: SendingWindow,
    pub admin: Option<Mailbox>,
    /// The texts the timeline and calendar were parsed from, for the record of rules used.
    rules_texts: RulesTexts,
}

/// The timeline and bank-holiday texts as the service read them.
#[derive(Debug, Clone)]
struct RulesTexts {
    timeline: String,
    bank_holidays: String,
}

/// What one step did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StepReport {
    pub run: RunReport,
    pub delivery: DeliveryReport,
}

impl Service {
    /// Builds everything from `config`; `default_maildir` is used when `[mail] maildir` is unset.
    pub fn load(config: Config, default_maildir: &Path) -> Result<Self, ServiceError> {
        // Read once: what is parsed is what the runs record they planned with.
        let (timeline_text, timeline_origin) = config.timeline_text()?;
        let timeline = Timeline::parse(&timeline_text, &timeline_origin)?;
        let (feed_text, feed_origin) = config.holiday_feed_text()?;
        let feed = crate::domain::calendar::HolidayFeed::parse(&feed_text, &feed_origin)?;
        let calendar = config.calendar(&feed, None);
        let rules_texts = RulesTexts {
            timeline: timeline_text,
            bank_holidays: feed_text,
        };
        let (start, end) = config.sending_window();
        let window = SendingWindow {
            start,
            end,
            timezone: config.partnership.timezone,
        };
        let renderer = Renderer::load(&config)?;
        let mailer = Mailer::from_config(&config, default_maildir)?;
        // A bad address is refused here, never dropped: failures would go unreported.
        let admin = match config.contacts.admin.as_ref() {
            None => None,
            Some(c) => Some(Mailbox::new(
                Some(c.name.to_string()),
                c.email.as_str().parse().map_err(|e| {
                    ServiceError::Admin(format!(
                        "[contacts] admin email `{}` cannot be sent to ({e}): give a plain \
                         address such as it-team@council.example",
                        c.email
                    ))
                })?,
            )),
        };
        Ok(Self {
            schedule: config.schedule().clone(),
            config,
            timeline,
            calendar,
            rules_texts,
            renderer,
            mailer,
            window,
            admin,
        })
    }

    pub fn planner(&self) -> Planner<'_> {
        Planner {
            timeline: &self.timeline,
            calendar: &self.calendar,
            contacts: &self.config.contacts,
            agencies: &self.config.agencies,
        }
    }

    /// The civil date at `now` in the partnership's timezone.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.config.partnership.timezone)
            .date_naive()
    }

    /// Why `now` must be confirmed by a person before a run acts on it (see
    /// [`moment::unconfirmed_gap`]): far past the run the schedule wanted after the latest one.
    pub async fn unconfirmed_gap(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, crate::store::StoreError> {
        let latest = store.latest_run_at().await?;
        let due = latest.and_then(|at| self.schedule.next_after(at));
        Ok(moment::unconfirmed_gap(latest, due, now))
    }

    /// Evaluates every open case and queues what is due, then delivers.
    pub async fn step(
        &self,
        store: &Store,
        claimer: &Claimer,
        now: DateTime<Utc>,
        stop: Option<&CancellationToken>,
    ) -> Result<StepReport, ServiceError> {
        self.remember_rules(store, now).await?;
        let run = run_once(
            store,
            &self.planner(),
            self.today(now),
            now,
            self.config.mail.heartbeat,
            None,
        )
        .await?;
        let delivery = self.deliver(store, claimer, now, stop, None).await?;
        Ok(StepReport { run, delivery })
    }

    /// Keeps the rules this service plans with, once per fingerprint, for `check-config
    /// --impact` to compare a change on disk with.
    pub async fn remember_rules(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<(), ServiceError> {
        let rules = crate::store::RulesUsed {
            fingerprint: self.planner().fingerprint(),
            timeline: self.rules_texts.timeline.clone(),
            bank_holidays: self.rules_texts.bank_holidays.clone(),
            division: self.config.partnership.division,
            closure_days: self.config.closure_dates(),
        };
        Ok(store.remember_rules(&rules, now).await?)
    }

    /// Sends what is queued and due, if `now` is inside the sending window.
    pub async fn deliver(
        &self,
        store: &Store,
        claimer: &Claimer,
        now: DateTime<Utc>,
        stop: Option<&CancellationToken>,
        progress: Option<&(dyn Fn() + Send + Sync)>,
    ) -> Result<DeliveryReport, ServiceError> {
        let delivery = Delivery {
            store,
            config: &self.config,
            renderer: &self.renderer,
            mailer: &self.mailer,
            admin: self.admin.as_ref(),
            claimer,
            progress,
        };
        let in_window = self.window.contains(now, &self.calendar);
        Ok(deliver(&delivery, in_window, now, stop).await?)
    }
}
