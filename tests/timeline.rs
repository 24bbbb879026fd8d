//! The timeline as data: the shipped file matches the flowchart, bad files are refused with their
//! location, and evaluation is right to the day across Christmas.

use rrn::domain::agency::AgencyId;
use rrn::domain::calendar::{Calendar, Division, HolidayFeed};
use rrn::domain::timeline::{
    Anchor, CaseFacts, Completion, MilestoneState, Offset, Role, Status, Timeline, evaluate,
    explain,
};

use crate::common::date;

trials!(
    shipped_timeline_encodes_the_flowchart_table,
    christmas_2026_case_is_right_to_the_day,
    each_due_date_explains_itself,
    without_day0_the_day0_milestones_have_no_due_date,
    a_review_counts_calendar_months_from_the_submission_and_clamps_to_the_months_end,
    a_case_level_milestone_anchored_on_a_per_agency_one_waits_for_every_agency,
    invalid_timelines_are_refused_with_their_location,
    a_duplicate_id_is_reported_once_and_cycles_where_they_are,
    an_absurd_offset_is_refused_rather_than_wrapped,
    every_problem_in_a_timeline_is_reported_at_once,
    long_dates_read_as_chronos_long_format,
    absurd_policy_numbers_are_refused_with_their_location,
);

static BUILTIN: std::sync::LazyLock<Timeline> = std::sync::LazyLock::new(Timeline::builtin);

fn england() -> Calendar {
    Calendar::new(&HolidayFeed::builtin(), Division::EnglandAndWales, &[])
}

fn agency(id: &str) -> AgencyId {
    AgencyId::parse(id).unwrap()
}

fn done(milestone: &str, agency_id: Option<&str>, on: &str) -> Completion {
    Completion {
        milestone: milestone.to_owned(),
        agency: agency_id.map(agency),
        on: date(on),
    }
}

fn find<'a, 't>(
    states: &'a [MilestoneState<'t>],
    id: &str,
    agency_id: Option<&str>,
) -> &'a MilestoneState<'t> {
    states
        .iter()
        .find(|s| s.id == id && s.agency.map(AgencyId::as_str) == agency_id)
        .unwrap_or_else(|| panic!("no row for {id} {agency_id:?}"))
}

fn shipped_timeline_encodes_the_flowchart_table() {
    use Role::*;
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/config/timeline.toml");
    let timeline = Timeline::parse(&std::fs::read_to_string(file).unwrap(), file).unwrap();
    type Row = (&'static str, u32, Anchor, Option<u32>, u32, Role, bool);
    let expected: [Row; 12] = [
        (
            "ofsted_notification",
            2,
            Anchor::Aware,
            None,
            5,
            CscManager,
            false,
        ),
        (
            "business_team_copy",
            3,
            Anchor::Day0,
            None,
            1,
            CscManager,
            false,
        ),
        (
            "agency_letters",
            3,
            Anchor::Day0,
            None,
            1,
            BusinessTeam,
            false,
        ),
        (
            "agency_summary",
            4,
            Anchor::Day0,
            Some(2),
            10,
            AgencyLead,
            true,
        ),
        (
            "executive_chair_informed",
            4,
            Anchor::Day0,
            Some(2),
            10,
            BusinessTeam,
            false,
        ),
        (
            "progress_meeting",
            5,
            Anchor::Day0,
            Some(2),
            10,
            BusinessTeam,
            false,
        ),
        ("panel_review", 6, Anchor::Day0, Some(10), 12, Panel, false),
        (
            "summary_and_outcome",
            6,
            Anchor::Day0,
            Some(10),
            12,
            BusinessTeam,
            false,
        ),
        (
            "partner_signoff",
            7,
            Anchor::Day0,
            Some(12),
            15,
            SafeguardingPartners,
            false,
        ),
        (
            "final_version",
            7,
            Anchor::Day0,
            Some(12),
            15,
            BusinessTeam,
            false,
        ),
        (
            "pdg_chair_shared",
            7,
            Anchor::Day0,
            Some(12),
            15,
            BusinessTeam,
            false,
        ),
        (
            "national_panel_submission",
            8,
            Anchor::Day0,
            None,
            16,
            BusinessTeam,
            false,
        ),
    ];
    assert_eq!(timeline.milestones().len(), expected.len());
    for (m, (id, step, anchor, opens, due, owner, per_agency)) in
        timeline.milestones().iter().zip(expected)
    {
        assert_eq!(m.id, id);
        assert_eq!(m.step, step, "{id}");
        assert_eq!(m.anchor, anchor, "{id}");
        assert_eq!(m.opens, opens.map(Offset::WorkingDays), "{id}");
        assert_eq!(m.due, Offset::WorkingDays(due), "{id}");
        assert_eq!(m.owner, owner, "{id}");
        assert_eq!(m.per_agency, per_agency, "{id}");
    }
    assert_eq!(timeline.day0_milestone(), "ofsted_notification");
}

/// Day 0 on Monday 21 December 2026. Worked out by hand from the 2026-27 England and Wales
/// calendar: 25 December (Friday), 28 December (Boxing Day substitute, Monday) and 1 January
/// (Friday) do not count. Working days after day 0: 1 = Tue 22 Dec, 2 = Wed 23, 3 = Thu 24,
/// 4 = Tue 29, 5 = Wed 30, 6 = Thu 31, 7 = Mon 4 Jan, 8 = Tue 5, 9 = Wed 6, 10 = Thu 7,
/// 11 = Fri 8, 12 = Mon 11, 13 = Tue 12, 14 = Wed 13, 15 = Thu 14, 16 = Fri 15.
/// Aware on Wednesday 16 December: 1 = Thu 17, 2 = Fri 18, 3 = Mon 21, 4 = Tue 22, 5 = Wed 23.
fn christmas_2026_case_is_right_to_the_day() {
    let expected = [
        // (id, opens, due)
        ("ofsted_notification", None, "2026-12-23"),
        ("business_team_copy", None, "2026-12-22"),
        ("agency_letters", None, "2026-12-22"),
        ("agency_summary", Some("2026-12-23"), "2027-01-07"),
        ("agency_summary", Some("2026-12-23"), "2027-01-07"),
        ("executive_chair_informed", Some("2026-12-23"), "2027-01-07"),
        ("progress_meeting", Some("2026-12-23"), "2027-01-07"),
        ("panel_review", Some("2027-01-07"), "2027-01-11"),
        ("summary_and_outcome", Some("2027-01-07"), "2027-01-11"),
        ("partner_signoff", Some("2027-01-11"), "2027-01-14"),
        ("final_version", Some("2027-01-11"), "2027-01-14"),
        ("pdg_chair_shared", Some("2027-01-11"), "2027-01-14"),
        ("national_panel_submission", None, "2027-01-15"),
    ];
    let facts = CaseFacts {
        aware: Some(date("2026-12-16")),
        day0: Some(date("2026-12-21")),
        agencies: vec![agency("police"), agency("health")],
        completions: vec![
            done("business_team_copy", None, "2026-12-22"),
            done("agency_letters", None, "2026-12-29"),
            done("agency_summary", Some("police"), "2026-12-30"),
        ],
        local_review_proposed: false,
    };
    let timeline = Timeline::builtin();
    let calendar = england();
    let on = |today: &str| evaluate(&timeline, &calendar, &facts, date(today)).unwrap();

    let states = on("2027-01-04");
    assert_eq!(states.len(), expected.len());
    for (state, (id, opens, due)) in states.iter().zip(expected) {
        assert_eq!(state.id, id);
        assert_eq!(state.opens, opens.map(date), "{id} opens");
        assert_eq!(state.due, Some(date(due)), "{id} due");
    }
    assert_eq!(states[3].agency, Some(&agency("police")));
    assert_eq!(states[4].agency, Some(&agency("health")));

    // Monday 4 January 2027.
    assert_eq!(
        find(&states, "ofsted_notification", None).status,
        Status::DoneOnTime
    );
    assert_eq!(
        find(&states, "ofsted_notification", None).completed_on,
        Some(date("2026-12-21"))
    );
    assert_eq!(
        find(&states, "business_team_copy", None).status,
        Status::DoneOnTime
    );
    // Done Tuesday 29 December, due 22nd: 23, 24 and 29 December late.
    assert_eq!(
        find(&states, "agency_letters", None).status,
        Status::DoneLate { working_days: 3 }
    );
    assert_eq!(
        find(&states, "agency_summary", Some("police")).status,
        Status::DoneOnTime
    );
    assert_eq!(
        find(&states, "agency_summary", Some("health")).status,
        Status::Open
    );
    assert_eq!(
        find(&states, "panel_review", None).status,
        Status::NotYetOpen
    );
    assert_eq!(
        find(&states, "national_panel_submission", None).status,
        Status::Open
    );

    // Before the window opens on day 2; what is recorded later has not happened yet.
    let states = on("2026-12-22");
    assert_eq!(
        find(&states, "agency_summary", Some("police")).status,
        Status::NotYetOpen
    );
    assert_eq!(
        find(&states, "agency_summary", Some("health")).status,
        Status::NotYetOpen
    );
    assert_eq!(
        find(&states, "agency_letters", None).status,
        Status::DueToday
    );

    // Thursday 7 January: day 10.
    let states = on("2027-01-07");
    assert_eq!(
        find(&states, "agency_summary", Some("health")).status,
        Status::DueToday
    );
    assert_eq!(find(&states, "panel_review", None).status, Status::Open);

    // Friday 8, the weekend, Monday 11 and Tuesday 12 January.
    let health = |today: &str| find(&on(today), "agency_summary", Some("health")).status;
    assert_eq!(health("2027-01-08"), Status::Overdue { working_days: 1 });
    assert_eq!(health("2027-01-09"), Status::Overdue { working_days: 1 });
    assert_eq!(health("2027-01-10"), Status::Overdue { working_days: 1 });
    assert_eq!(health("2027-01-11"), Status::Overdue { working_days: 2 });
    assert_eq!(health("2027-01-12"), Status::Overdue { working_days: 3 });
    // Day 16 is Friday 15 January; on Monday 18th the submission is 1 working day overdue.
    assert_eq!(
        find(&on("2027-01-18"), "national_panel_submission", None).status,
        Status::Overdue { working_days: 1 }
    );
}

fn each_due_date_explains_itself() {
    let facts = CaseFacts {
        aware: Some(date("2026-12-16")),
        day0: Some(date("2026-12-21")),
        agencies: vec![agency("police")],
        ..CaseFacts::default()
    };
    let calendar = england();
    let mut states = evaluate(&BUILTIN, &calendar, &facts, date("2026-12-21")).unwrap();
    assert!(
        states.iter().all(|s| s.derivation.is_none()),
        "only on request"
    );
    explain(&mut states, &calendar);
    assert_eq!(
        find(&states, "agency_summary", Some("police"))
            .derivation
            .as_deref(),
        Some(
            "The due date is working day 10 after day 0 (Monday 21 December 2026), not counting \
             25 and 28 December and 1 January (bank holidays) or weekends."
        )
    );
    assert_eq!(
        find(&states, "agency_letters", None).derivation.as_deref(),
        Some(
            "The due date is working day 1 after day 0 (Monday 21 December 2026), not counting \
             weekends."
        )
    );
}

fn without_day0_the_day0_milestones_have_no_due_date() {
    let facts = CaseFacts {
        aware: Some(date("2026-12-16")),
        agencies: vec![agency("police")],
        ..CaseFacts::default()
    };
    let states = evaluate(&BUILTIN, &england(), &facts, date("2026-12-18")).unwrap();
    let ofsted = find(&states, "ofsted_notification", None);
    assert_eq!(
        (ofsted.due, ofsted.status),
        (Some(date("2026-12-23")), Status::Open)
    );
    for state in states.iter().filter(|s| s.id != "ofsted_notification") {
        assert_eq!(
            (state.due, state.status),
            (None, Status::AwaitingAnchor),
            "{}",
            state.id
        );
    }

    // Recording the notification on Friday 18 December makes that day 0.
    let facts = CaseFacts {
        completions: vec![done("ofsted_notification", None, "2026-12-18")],
        ..facts
    };
    let states = evaluate(&BUILTIN, &england(), &facts, date("2026-12-18")).unwrap();
    assert_eq!(
        find(&states, "agency_letters", None).due,
        Some(date("2026-12-21"))
    );
    assert_eq!(
        find(&states, "agency_summary", Some("police")).due,
        Some(date("2027-01-06"))
    );
}

const REVIEW_TIMELINE: &str = r#"
day0_milestone = "notify"

[[milestone]]
id = "notify"
step = 2
title = "Notification"
anchor = "aware"
due = 5
owner = "csc_manager"

[[milestone]]
id = "summary"
step = 4
title = "Agency summary"
anchor = "day0"
due = 10
owner = "agency_lead"
per_agency = true

[[milestone]]
id = "panel"
step = 6
title = "Panel after every summary"
anchor = "summary"
due = { working_days = 2 }
owner = "panel"

[[milestone]]
id = "submission"
step = 8
title = "Submission"
anchor = "day0"
due = 16
owner = "business_team"

[[milestone]]
id = "publication"
step = 9
title = "Review published"
anchor = "submission"
opens = { months = 5 }
due = { months = 6 }
owner = "business_team"
only_if = "local_review"
"#;

fn a_review_counts_calendar_months_from_the_submission_and_clamps_to_the_months_end() {
    let timeline = Timeline::parse(REVIEW_TIMELINE, "review.toml").unwrap();
    let mut facts = CaseFacts {
        aware: Some(date("2027-08-02")),
        day0: Some(date("2027-08-05")),
        agencies: vec![agency("police")],
        completions: vec![done("submission", None, "2027-08-31")],
        local_review_proposed: true,
    };
    let mut states = evaluate(&timeline, &england(), &facts, date("2027-09-01")).unwrap();
    explain(&mut states, &england());
    let publication = find(&states, "publication", None);
    assert_eq!(publication.opens, Some(date("2028-01-31")));
    assert_eq!(publication.due, Some(date("2028-02-29")));
    assert_eq!(publication.status, Status::NotYetOpen);
    assert_eq!(
        publication.derivation.as_deref(),
        Some(
            "The due date is 6 calendar months after submission was completed (Tuesday 31 \
             August 2027)."
        )
    );

    facts.local_review_proposed = false;
    let states = evaluate(&timeline, &england(), &facts, date("2027-09-01")).unwrap();
    assert!(states.iter().all(|s| s.id != "publication"));
}

fn a_case_level_milestone_anchored_on_a_per_agency_one_waits_for_every_agency() {
    let timeline = Timeline::parse(REVIEW_TIMELINE, "review.toml").unwrap();
    let mut facts = CaseFacts {
        aware: Some(date("2027-03-01")),
        day0: Some(date("2027-03-01")),
        agencies: vec![agency("police"), agency("health")],
        completions: vec![done("summary", Some("police"), "2027-03-08")],
        local_review_proposed: false,
    };
    let panel = |facts: &CaseFacts| {
        let states = evaluate(&timeline, &england(), facts, date("2027-03-10")).unwrap();
        let panel = find(&states, "panel", None);
        (panel.status, panel.anchor_on, panel.due)
    };
    assert_eq!(panel(&facts).0, Status::AwaitingAnchor);
    facts
        .completions
        .push(done("summary", Some("health"), "2027-03-10"));
    // The last summary came on Wednesday 10 March; two working days on is Friday 12 March.
    assert_eq!(panel(&facts).1, Some(date("2027-03-10")));
    assert_eq!(panel(&facts).2, Some(date("2027-03-12")));
}

/// Each broken timeline is refused with the file, line and column of the problem.
fn invalid_timelines_are_refused_with_their_location() {
    let milestone = |id: &str, anchor: &str, extra: &str| {
        format!(
            "[[milestone]]\nid = \"{id}\"\nstep = 1\ntitle = \"t\"\nanchor = \"{anchor}\"\n\
             due = 5\nowner = \"business_team\"\n{extra}\n"
        )
    };
    let head = "day0_milestone = \"a\"\n";
    let cases = [
        (
            format!("{head}{}", milestone("a", "nowhere", "")),
            "t.toml:6:10",
            "unknown anchor `nowhere`",
        ),
        (
            format!(
                "{head}{}{}",
                milestone("a", "aware", ""),
                milestone("a", "aware", "")
            ),
            "t.toml:11:6",
            "duplicate milestone id `a`",
        ),
        (
            format!(
                "{head}{}{}",
                milestone("a", "b", ""),
                milestone("b", "a", "")
            ),
            "t.toml:6:10",
            "anchors form a cycle (a -> b -> a)",
        ),
        (
            format!("{head}{}", milestone("a", "aware", "opens = 7")),
            "t.toml:9:9",
            "opens (7) is after due (5)",
        ),
        (
            format!(
                "{head}{}",
                milestone("a", "aware", "").replace("business_team", "boss")
            ),
            "t.toml:8:9",
            "unknown owner role `boss`",
        ),
        (
            format!("{head}{}", milestone("a", "aware", "colour = \"red\"")),
            "t.toml:9:1",
            "unknown field `colour`",
        ),
        (
            format!(
                "{head}{}",
                milestone("a", "aware", "opens = { months = 1 }")
            ),
            "t.toml:9:9",
            "different units",
        ),
        (
            format!("day0_milestone = \"zz\"\n{}", milestone("a", "aware", "")),
            "t.toml:1:18",
            "unknown day0_milestone `zz`",
        ),
        (
            format!("{head}{}", milestone("a", "day0", "")),
            "t.toml:6:10",
            "anchors form a cycle (a -> a)",
        ),
    ];
    for (text, location, message) in cases {
        let error = Timeline::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(
            error.contains(location),
            "want {location} in:\n{error}\n---\n{text}"
        );
        assert!(error.contains(message), "want `{message}` in:\n{error}");
    }
}

fn a_duplicate_id_is_reported_once_and_cycles_where_they_are() {
    let milestone = |id: &str, anchor: &str| {
        format!(
            "[[milestone]]\nid = \"{id}\"\nstep = 1\ntitle = \"t\"\nanchor = \"{anchor}\"\n\
             due = 5\nowner = \"business_team\"\n"
        )
    };
    // A copy of the day-0 milestone anchored on day 0: only the duplicate is wrong.
    let text = format!(
        "day0_milestone = \"n\"\n{}{}",
        milestone("n", "aware"),
        milestone("n", "day0")
    );
    let error = Timeline::parse(&text, "t.toml").unwrap_err().to_string();
    assert!(
        error.contains("t.toml:10:6: duplicate milestone id `n`"),
        "{error}"
    );
    assert!(!error.contains("cycle"), "{error}");

    // z counts from a, which is in a cycle with b; and c and d form a second cycle.
    let text = format!(
        "day0_milestone = \"z\"\n{}{}{}{}{}",
        milestone("z", "a"),
        milestone("a", "b"),
        milestone("b", "a"),
        milestone("c", "d"),
        milestone("d", "c")
    );
    let error = Timeline::parse(&text, "t.toml").unwrap_err().to_string();
    assert!(
        error.contains("t.toml:13:10: anchors form a cycle (a -> b -> a)"),
        "{error}"
    );
    assert!(
        error.contains("t.toml:27:10: anchors form a cycle (c -> d -> c)"),
        "{error}"
    );
    assert_eq!(error.matches("cycle").count(), 2, "{error}");
}

fn an_absurd_offset_is_refused_rather_than_wrapped() {
    let text = "day0_milestone = \"a\"\n[[milestone]]\nid = \"a\"\nstep = 1\ntitle = \"t\"\n\
                anchor = \"aware\"\ndue = 4294967286\nowner = \"business_team\"\n";
    let error = Timeline::parse(text, "t.toml").unwrap_err().to_string();
    assert!(
        error.contains("t.toml:7:7") && error.contains("out of range"),
        "{error}"
    );
}

fn every_problem_in_a_timeline_is_reported_at_once() {
    let text = "day0_milestone = \"a\"\n[[milestone]]\nid = \"a\"\nstep = 1\ntitle = \"t\"\n\
                anchor = \"nowhere\"\ndue = 5\nowner = \"boss\"\n";
    let error = Timeline::parse(text, "t.toml").unwrap_err().to_string();
    assert!(error.contains("t.toml:6:10: unknown anchor"), "{error}");
    assert!(error.contains("t.toml:8:9: unknown owner role"), "{error}");
}

/// Dates are spelled out by hand (for speed); they must read as chrono's long format does,
/// for every day of the century.
fn long_dates_read_as_chronos_long_format() {
    let mut day = date("2000-01-01");
    while day < date("2100-01-01") {
        assert_eq!(
            rrn::domain::timeline::long_date(day),
            day.format("%A %-d %B %Y").to_string()
        );
        day = day.succ_opt().unwrap();
    }
}

/// Policy numbers far out of range used to pass, then fail every case at each run (or wrap to
/// a reminder after the due day): refused at load, with their place in the file.
fn absurd_policy_numbers_are_refused_with_their_location() {
    let base = "day0_milestone = \"a\"\n[[milestone]]\nid = \"a\"\nstep = 1\ntitle = \"t\"\n\
                anchor = \"aware\"\ndue = 5\nowner = \"business_team\"\n";
    for (policy, line_col, unit) in [
        (
            "agency_letter_day = 2147483647",
            "t.toml:10:21",
            "working days",
        ),
        (
            "reminder_days_before = [1000000000]",
            "t.toml:10:24",
            "working days",
        ),
        (
            "reminder_days_before = [4294967295]",
            "t.toml:10:24",
            "working days",
        ),
        ("reminder_days_before = [0]", "t.toml:10:24", "working days"),
        (
            "escalation_repeat_every = 0",
            "t.toml:10:27",
            "working days",
        ),
        ("escalation_max_sends = 100000", "t.toml:10:24", "sends"),
        (
            "escalation = [{ after = 99999, to = \"manager\" }]",
            "t.toml:10:25",
            "working days",
        ),
    ] {
        let text = format!("{base}[policy]\n{policy}\n");
        let error = Timeline::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(
            error.contains(line_col) && error.contains("out of range") && error.contains(unit),
            "{policy}: {error}"
        );
    }
    let fine = format!("{base}[policy]\nreminder_days_before = [5, 1]\nagency_letter_day = 1\n");
    assert!(Timeline::parse(&fine, "t.toml").is_ok());
}
