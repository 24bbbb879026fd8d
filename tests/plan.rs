//! Notification planning, day by day on a simulated calendar: who hears what, once, and what a
//! run after downtime does.

use std::collections::HashSet;

use chrono::NaiveDate;
use rrn::config::Config;
use rrn::domain::agency::AgencyId;
use rrn::domain::calendar::{Calendar, Division, HolidayFeed};
use rrn::domain::case::{CaseOverview, CaseRef, CaseState};
use rrn::domain::plan::{
    Decision, EmailKind, NotificationKey, Planner, Rule, decide, group, preview,
};
use rrn::domain::timeline::{CaseFacts, Completion, Timeline};

use crate::common::{CONFIG, christmas, date};

trials!(
    the_christmas_case_emails_the_right_people_on_the_right_days,
    running_twice_on_one_day_queues_nothing_new,
    after_three_days_down_the_current_state_is_sent_once_and_stale_reminders_skipped,
    closed_cases_and_done_milestones_produce_nothing,
    a_digest_per_recipient_most_urgent_first_and_letters_on_their_own,
    a_chair_notice_logged_when_notices_went_out_on_the_opening_day_is_not_sent_again,
    the_owner_of_an_overdue_task_is_told_once_on_its_first_overdue_working_day,
);

struct World {
    config: Config,
    timeline: Timeline,
    calendar: Calendar,
}

impl World {
    fn new() -> Self {
        let config = Config::load_from(Some(CONFIG.as_ref()), &[]).unwrap();
        Self {
            timeline: config.load_timeline().unwrap(),
            calendar: Calendar::new(&HolidayFeed::builtin(), Division::EnglandAndWales, &[]),
            config,
        }
    }

    fn planner(&self) -> Planner<'_> {
        Planner {
            timeline: &self.timeline,
            calendar: &self.calendar,
            contacts: &self.config.contacts,
            agencies: &self.config.agencies,
        }
    }
}

fn done(milestone: &str, agency: Option<&str>, on: &str) -> Completion {
    Completion {
        milestone: milestone.to_owned(),
        agency: agency.map(|a| AgencyId::parse(a).unwrap()),
        on: date(on),
    }
}

/// The Christmas 2026 case (`common::christmas`), everything done: day 0 known from its
/// milestone's completion, education's summary four working days late.
fn christmas_case() -> CaseOverview {
    CaseOverview {
        reference: CaseRef::parse(christmas::CASE).unwrap(),
        state: CaseState::Open,
        opened_on: date("2026-12-16"),
        revision: 1,
        facts: CaseFacts {
            aware: Some(date("2026-12-16")),
            day0: None,
            agencies: ["education", "health", "police"]
                .map(|a| AgencyId::parse(a).unwrap())
                .to_vec(),
            completions: christmas::COMPLETED
                .iter()
                .map(|&(on, milestone, agency)| done(milestone, agency, on))
                .collect(),
            local_review_proposed: false,
        },
    }
}

/// (day, recipient role, rule, milestone[/agency], rung, repeat) of what is sent.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    u32,
    u32,
);

/// Worked out by hand from the timeline (due dates: notification 23 December; copy and letters
/// 22 December; summaries, chair informed, progress meeting 7 January; panel and summary 11
/// January; sign-off, final version, PDG chair 14 January; submission 15 January) and the
/// policy: reminders 3 and 1 working days before and on the due day, the day-1 letters, and the
/// ladder (the owner on the first working day overdue, the manager from 1 working day overdue,
/// Executive Chair from 3, every 2 working days); the Executive Chair's notice on day 0.
const EXPECTED: [Row; 29] = [
    (
        "2026-12-18",
        "csc_manager",
        "reminder",
        "ofsted_notification",
        3,
        0,
    ),
    // Day 0 is known from Monday 21st: tomorrow's copy and letters are reminded today.
    (
        "2026-12-21",
        "business_team",
        "reminder",
        "agency_letters",
        1,
        0,
    ),
    (
        "2026-12-21",
        "csc_manager",
        "reminder",
        "business_team_copy",
        1,
        0,
    ),
    // The Rapid Review started on day 0: the Executive Chair hears of it then, with its dates
    // (not on the 16th, when the case was opened and day 0 was not yet known).
    ("2026-12-21", "executive_chair", "chair_notice", "-", 0, 0),
    // Day 1: one letter to each agency's safeguarding lead.
    (
        "2026-12-22",
        "agency_lead:education",
        "agency_letter",
        "agency_summary/education",
        0,
        0,
    ),
    (
        "2026-12-22",
        "agency_lead:health",
        "agency_letter",
        "agency_summary/health",
        0,
        0,
    ),
    (
        "2026-12-22",
        "agency_lead:police",
        "agency_letter",
        "agency_summary/police",
        0,
        0,
    ),
    // Monday 4 January is day 7, three working days before day 10.
    (
        "2027-01-04",
        "agency_lead:education",
        "reminder",
        "agency_summary/education",
        3,
        0,
    ),
    (
        "2027-01-04",
        "agency_lead:health",
        "reminder",
        "agency_summary/health",
        3,
        0,
    ),
    (
        "2027-01-04",
        "agency_lead:police",
        "reminder",
        "agency_summary/police",
        3,
        0,
    ),
    (
        "2027-01-04",
        "business_team",
        "reminder",
        "progress_meeting",
        3,
        0,
    ),
    // Police sent theirs on the 6th: no reminder for them.
    (
        "2027-01-06",
        "agency_lead:education",
        "reminder",
        "agency_summary/education",
        1,
        0,
    ),
    (
        "2027-01-06",
        "agency_lead:health",
        "reminder",
        "agency_summary/health",
        1,
        0,
    ),
    (
        "2027-01-06",
        "business_team",
        "reminder",
        "summary_and_outcome",
        3,
        0,
    ),
    ("2027-01-06", "panel", "reminder", "panel_review", 3, 0),
    (
        "2027-01-07",
        "agency_lead:education",
        "due_today",
        "agency_summary/education",
        0,
        0,
    ),
    // Education is 1 working day overdue: its lead is told, and its manager asked to chase.
    (
        "2027-01-08",
        "agency_lead:education",
        "overdue",
        "agency_summary/education",
        0,
        0,
    ),
    (
        "2027-01-08",
        "agency_manager:education",
        "escalation",
        "agency_summary/education",
        1,
        0,
    ),
    (
        "2027-01-08",
        "business_team",
        "reminder",
        "summary_and_outcome",
        1,
        0,
    ),
    ("2027-01-08", "panel", "reminder", "panel_review", 1, 0),
    (
        "2027-01-11",
        "business_team",
        "reminder",
        "final_version",
        3,
        0,
    ),
    (
        "2027-01-11",
        "business_team",
        "reminder",
        "pdg_chair_shared",
        3,
        0,
    ),
    (
        "2027-01-11",
        "safeguarding_partners",
        "reminder",
        "partner_signoff",
        3,
        0,
    ),
    // 3 working days overdue: the manager again (repeat 1) and the Executive Chair.
    (
        "2027-01-12",
        "agency_manager:education",
        "escalation",
        "agency_summary/education",
        1,
        1,
    ),
    (
        "2027-01-12",
        "business_team",
        "reminder",
        "national_panel_submission",
        3,
        0,
    ),
    (
        "2027-01-12",
        "executive_chair",
        "escalation",
        "agency_summary/education",
        2,
        0,
    ),
    // Education's summary arrived on the 13th: the ladder stops.
    (
        "2027-01-13",
        "business_team",
        "reminder",
        "final_version",
        1,
        0,
    ),
    (
        "2027-01-13",
        "business_team",
        "reminder",
        "pdg_chair_shared",
        1,
        0,
    ),
    (
        "2027-01-13",
        "safeguarding_partners",
        "reminder",
        "partner_signoff",
        1,
        0,
    ),
];

/// The two rows not in the array above (arrays need one length): Thursday 14th and Friday 15th.
const EXPECTED_TAIL: [Row; 2] = [
    (
        "2027-01-14",
        "business_team",
        "reminder",
        "national_panel_submission",
        1,
        0,
    ),
    (
        "2027-01-15",
        "national_panel",
        "national_panel_submitted",
        "national_panel_submission",
        0,
        0,
    ),
];

fn row_of(day: NaiveDate, decision: &Decision) -> (String, String, String, String, u32, u32) {
    let n = decision.notification();
    let milestone = match (&n.milestone, &n.agency) {
        (Some(m), Some(a)) => format!("{m}/{a}"),
        (Some(m), None) => m.clone(),
        (None, _) => "-".to_owned(),
    };
    (
        day.to_string(),
        n.recipient.role.to_string(),
        n.rule.as_str().to_owned(),
        milestone,
        n.rung,
        n.repeat,
    )
}

fn the_christmas_case_emails_the_right_people_on_the_right_days() {
    let world = World::new();
    // From the aware date to day 20 (Thursday 21 January).
    let days = preview(
        &world.planner(),
        &christmas_case(),
        date("2026-12-16"),
        date("2027-01-21"),
    )
    .unwrap();
    let mut sent: Vec<_> = days
        .iter()
        .flat_map(|(day, decisions)| decisions.iter().map(move |d| (day, d)))
        .filter(|(_, d)| matches!(d, Decision::Send { .. }))
        .map(|(day, d)| row_of(*day, d))
        .collect();
    sent.sort();
    let mut expected: Vec<_> = EXPECTED
        .iter()
        .chain(&EXPECTED_TAIL)
        .map(|&(d, r, rule, m, rung, repeat)| {
            (
                d.to_owned(),
                r.to_owned(),
                rule.to_owned(),
                m.to_owned(),
                rung,
                repeat,
            )
        })
        .collect();
    expected.sort();
    assert_eq!(sent, expected);
    // Nothing was skipped: a run every working day misses nothing.
    let skipped: Vec<_> = days
        .iter()
        .flat_map(|(day, ds)| {
            ds.iter()
                .filter(|d| matches!(d, Decision::Skip { .. }))
                .map(move |d| row_of(*day, d))
        })
        .collect();
    assert_eq!(skipped, Vec::new());
    // Weekends and bank holidays are not sending days.
    assert!(
        days.iter()
            .all(|(day, _)| world.calendar.is_working_day(*day).unwrap())
    );
    assert!(!days.iter().any(|(day, _)| *day == date("2026-12-28")));
}

fn running_twice_on_one_day_queues_nothing_new() {
    let world = World::new();
    let planner = world.planner();
    let case = christmas_case();
    let today = date("2027-01-12");
    let first = decide(
        planner.plan_case(&case, today, None).unwrap(),
        world.timeline.policy(),
        today,
        &|_| false,
    );
    assert!(!first.is_empty());
    let log: HashSet<NotificationKey> =
        first.iter().map(|d| d.notification().key.clone()).collect();
    let second = decide(
        planner.plan_case(&case, today, None).unwrap(),
        world.timeline.policy(),
        today,
        &|k| log.contains(k),
    );
    assert_eq!(second, Vec::new());
}

fn after_three_days_down_the_current_state_is_sent_once_and_stale_reminders_skipped() {
    let world = World::new();
    let planner = world.planner();
    let mut case = christmas_case();
    // Education never sends its summary in this story.
    case.facts
        .completions
        .retain(|c| c.agency.as_ref().map(AgencyId::as_str) != Some("education"));
    // Everything up to Tuesday 5 January went out; the service was then down until Monday 11th.
    let mut log = HashSet::new();
    for (_, decisions) in preview(&planner, &case, date("2026-12-16"), date("2027-01-05")).unwrap()
    {
        log.extend(decisions.iter().map(|d| d.notification().key.clone()));
    }
    let today = date("2027-01-11");
    let decisions = decide(
        planner.plan_case(&case, today, None).unwrap(),
        world.timeline.policy(),
        today,
        &|k| log.contains(k),
    );
    let rows: Vec<_> = decisions
        .iter()
        .map(|d| {
            let r = row_of(today, d);
            (matches!(d, Decision::Send { .. }), r.1, r.2, r.3, r.4, r.5)
        })
        .collect();
    let education = "agency_summary/education".to_owned();
    let has = |send: bool, role: &str, rule: &str, milestone: &str, rung: u32, repeat: u32| {
        rows.contains(&(
            send,
            role.to_owned(),
            rule.to_owned(),
            milestone.to_owned(),
            rung,
            repeat,
        ))
    };
    // Overdue by 2 working days on the 11th: one escalation to the manager, the first repeat.
    assert!(
        has(
            true,
            "agency_manager:education",
            "escalation",
            &education,
            1,
            0
        ),
        "{rows:#?}"
    );
    // The missed "1 day before" and "due today" reminders went stale: skipped, not sent.
    assert!(
        has(false, "agency_lead:education", "reminder", &education, 1, 0),
        "{rows:#?}"
    );
    assert!(
        has(
            false,
            "agency_lead:education",
            "due_today",
            &education,
            0,
            0
        ),
        "{rows:#?}"
    );
    // The lead never heard that the summary is overdue (the 8th fell in the downtime): that is
    // still true and still theirs to act on, so it goes late, as an escalation does.
    assert!(
        has(true, "agency_lead:education", "overdue", &education, 0, 0),
        "{rows:#?}"
    );
    // And nothing is sent twice or for days gone by.
    assert_eq!(
        rows.iter().filter(|r| r.0 && r.3 == education).count(),
        2,
        "{rows:#?}"
    );

    // Two days later, down again: only the newest repeat of each rung goes out.
    let log: HashSet<NotificationKey> = log
        .into_iter()
        .chain(decisions.iter().map(|d| d.notification().key.clone()))
        .collect();
    let today = date("2027-01-15"); // overdue by 6
    let decisions = decide(
        planner.plan_case(&case, today, None).unwrap(),
        world.timeline.policy(),
        today,
        &|k| log.contains(k),
    );
    let escalations: Vec<_> = decisions
        .iter()
        .filter(|d| d.notification().rule == Rule::Escalation)
        .map(|d| {
            (
                matches!(d, Decision::Send { .. }),
                d.notification().rung,
                d.notification().repeat,
            )
        })
        .collect();
    // Manager: repeats at 1, 3, 5 overdue (0 sent on the 11th; 1 superseded by 2); chair at 3, 5.
    assert_eq!(
        {
            let mut e = escalations.clone();
            e.sort();
            e
        },
        vec![(false, 1, 1), (false, 2, 0), (true, 1, 2), (true, 2, 1)]
    );
}

fn closed_cases_and_done_milestones_produce_nothing() {
    let world = World::new();
    let mut case = christmas_case();
    case.state = CaseState::Closed("threshold not met".to_owned());
    assert!(
        world
            .planner()
            .plan_case(&case, date("2027-01-08"), None)
            .unwrap()
            .is_empty()
    );
}

fn a_digest_per_recipient_most_urgent_first_and_letters_on_their_own() {
    let world = World::new();
    let planner = world.planner();
    let mut case = christmas_case();
    case.facts.completions.clear();
    case.facts.day0 = Some(date("2026-12-21"));
    let today = date("2026-12-22");
    let decisions = decide(
        planner.plan_case(&case, today, None).unwrap(),
        world.timeline.policy(),
        today,
        &|_| false,
    );
    let emails = group(&decisions);
    let letters: Vec<_> = emails
        .iter()
        .filter(|e| e.kind == EmailKind::AgencyLetter)
        .collect();
    assert_eq!(letters.len(), 3);
    for letter in &letters {
        assert_eq!(letter.items.len(), 1);
        assert_eq!(
            letter.items[0].item.status,
            "requested by Thursday 7 January 2027"
        );
        assert!(
            letter.items[0]
                .item
                .derivation
                .as_deref()
                .unwrap()
                .contains("not counting 25 and 28 December")
        );
    }
    let business_team: Vec<_> = emails
        .iter()
        .filter(|e| e.kind == EmailKind::Digest && e.recipient.role.to_string() == "business_team")
        .collect();
    assert_eq!(business_team.len(), 1, "one digest per recipient");
    let statuses: Vec<&str> = business_team[0]
        .items
        .iter()
        .map(|n| n.item.status.as_str())
        .collect();
    assert_eq!(statuses[0], "due today", "{statuses:?}");
    // Each item names the case and only the case: no other personal detail exists to leak.
    for email in &emails {
        for item in &email.items {
            assert_eq!(item.case.as_ref().map(CaseRef::as_str), Some("RR-2026-014"));
        }
    }
}

/// Issue 12: the Chair's notice moved from the opening day to day 0. Its key names the case,
/// the rule and the Chair, not a day, so one an earlier version logged on the opening day is
/// the same notice: a database upgraded mid-case does not tell the Chair twice.
fn a_chair_notice_logged_when_notices_went_out_on_the_opening_day_is_not_sent_again() {
    let world = World::new();
    let planner = world.planner();
    let case = christmas_case();
    let day0 = date("2026-12-21");
    let old_key = "RR-2026-014/-/-/chair_notice/0/0/executive-chair@partnership.example";
    let notices = |logged: &dyn Fn(&NotificationKey) -> bool| -> Vec<String> {
        decide(
            planner.plan_case(&case, day0, None).unwrap(),
            world.timeline.policy(),
            day0,
            logged,
        )
        .iter()
        .map(|d| d.notification())
        .filter(|n| n.rule == Rule::ChairNotice)
        .map(|n| n.key.as_str().to_owned())
        .collect()
    };
    assert_eq!(notices(&|_| false), [old_key]);
    assert!(notices(&|k| k.as_str() == old_key).is_empty());
    // Before day 0 was recorded there was nothing to tell.
    assert!(
        planner
            .plan_case(&case, date("2026-12-18"), None)
            .unwrap()
            .iter()
            .all(|p| p.notification.rule != Rule::ChairNotice)
    );
}

/// Issue 12: the owner hears that their task is overdue on its first overdue working day (Friday
/// 8 January for a summary due Thursday 7th), with whose task it is left to the ladder, and the
/// calendar date it became overdue; a run on a later day proposes that same notice for the 8th,
/// so the log keeps it from going twice.
fn the_owner_of_an_overdue_task_is_told_once_on_its_first_overdue_working_day() {
    let world = World::new();
    let planner = world.planner();
    let case = christmas_case();
    let overdue = |today: &str| -> Vec<(NaiveDate, String, Option<NaiveDate>)> {
        planner
            .plan_case(&case, date(today), None)
            .unwrap()
            .into_iter()
            .map(|p| p.notification)
            .filter(|n| n.rule == Rule::Overdue)
            .map(|n| (n.scheduled, n.key.as_str().to_owned(), n.item.overdue_since))
            .collect()
    };
    let key = "RR-2026-014/agency_summary/education/overdue/0/0/safeguarding@education.example";
    let expected = vec![(date("2027-01-08"), key.to_owned(), Some(date("2027-01-08")))];
    assert!(overdue("2027-01-07").is_empty());
    assert_eq!(overdue("2027-01-08"), expected);
    assert_eq!(overdue("2027-01-12"), expected);
}
