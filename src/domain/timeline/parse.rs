//! Reading `timeline.toml` into a [`Timeline`]: every problem is reported at once, each with its
//! file, line and column, and a timeline that parses has unique ids, known anchors and owners, no
//! anchor cycles and no window that opens after it is due.

use std::collections::HashMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::policy::{self, MilestonePolicy, Policy};
use super::{
    ANCHOR_AWARE, ANCHOR_DAY0, Anchor, Condition, Milestone, Offset, Role, Timeline, TimelineError,
};
use crate::domain::diagnostic::{Diagnostic, Diagnostics};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeline {
    day0_milestone: Spanned<String>,
    #[serde(default)]
    policy: Policy,
    #[serde(default, rename = "milestone")]
    milestones: Vec<RawMilestone>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMilestone {
    id: Spanned<String>,
    step: u32,
    title: String,
    anchor: Spanned<String>,
    #[serde(default)]
    opens: Option<Spanned<Offset>>,
    due: Spanned<Offset>,
    owner: Spanned<String>,
    #[serde(default)]
    per_agency: bool,
    #[serde(default)]
    only_if: Option<Spanned<String>>,
    #[serde(default)]
    policy: MilestonePolicy,
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The problems found so far, located in the text they were found in.
struct Problems<'t> {
    file: &'t str,
    text: &'t str,
    found: Vec<Diagnostic>,
}

impl Problems<'_> {
    fn at(&mut self, span: Range<usize>, message: String) {
        self.found
            .push(Diagnostic::at(self.file, self.text, span, message));
    }
}

/// Milestone ids to their position in the file; the first of duplicates keeps the id.
type Index<'r> = HashMap<&'r str, usize>;

fn known_ids(index: &Index) -> String {
    let mut ids: Vec<&str> = index.keys().copied().collect();
    ids.sort_unstable();
    ids.join(", ")
}

impl Timeline {
    /// Parses and validates; reports every problem found, each with its file, line and column.
    pub fn parse(text: &str, file: &str) -> Result<Self, TimelineError> {
        let raw: RawTimeline = toml::from_str(text).map_err(|e| {
            TimelineError::Invalid(Diagnostics(vec![Diagnostic::from_toml(file, text, &e)]))
        })?;
        let mut problems = Problems {
            file,
            text,
            found: Vec::new(),
        };
        let index = index_ids(&raw.milestones, &mut problems);
        check_day0(&raw, &index, &mut problems);
        let milestones: Vec<Milestone> = raw
            .milestones
            .iter()
            .filter_map(|m| milestone(m, &index, &mut problems))
            .collect();
        let depth = anchor_depths(&raw, &index, &mut problems);
        let policy = resolve_policy(&raw, &index, &mut problems);
        if !problems.found.is_empty() {
            return Err(TimelineError::Invalid(Diagnostics(problems.found)));
        }
        let mut evaluation_order: Vec<usize> = (0..milestones.len()).collect();
        evaluation_order.sort_by_key(|&i| depth[i]);
        let anchor_index = milestones
            .iter()
            .map(|m| match &m.anchor {
                Anchor::Milestone(id) => index.get(id.as_str()).copied(),
                _ => None,
            })
            .collect();
        Ok(Self {
            day0_milestone: raw.day0_milestone.get_ref().clone(),
            policy,
            milestones,
            evaluation_order,
            anchor_index,
        })
    }
}

/// Each milestone's id checked (well formed, not reserved, unique) and indexed.
fn index_ids<'r>(milestones: &'r [RawMilestone], problems: &mut Problems) -> Index<'r> {
    let mut index = Index::new();
    for (i, m) in milestones.iter().enumerate() {
        let id = m.id.get_ref().as_str();
        if !is_identifier(id) {
            problems.at(
                m.id.span(),
                format!("invalid milestone id `{id}`: use lowercase letters, digits and `_`"),
            );
        } else if id == ANCHOR_AWARE || id == ANCHOR_DAY0 {
            problems.at(
                m.id.span(),
                format!("`{id}` is a reserved anchor name: choose another milestone id"),
            );
        } else if index.contains_key(id) {
            // The first milestone keeps the id, so anchors resolve to it.
            problems.at(
                m.id.span(),
                format!("duplicate milestone id `{id}`: each id must be unique"),
            );
        } else {
            index.insert(id, i);
        }
    }
    index
}

/// `day0_milestone` names a milestone that has one date per case.
fn check_day0(raw: &RawTimeline, index: &Index, problems: &mut Problems) {
    let day0 = raw.day0_milestone.get_ref();
    match index.get(day0.as_str()) {
        None => problems.at(
            raw.day0_milestone.span(),
            format!(
                "unknown day0_milestone `{day0}`: expected a milestone id ({})",
                known_ids(index)
            ),
        ),
        Some(&i) if raw.milestones[i].per_agency => problems.at(
            raw.day0_milestone.span(),
            format!("day0_milestone `{day0}` is per agency: day 0 must be one date per case"),
        ),
        Some(_) => {}
    }
}

/// One milestone checked (anchor, owner, window, condition); `None` when it cannot be built.
fn milestone(m: &RawMilestone, index: &Index, problems: &mut Problems) -> Option<Milestone> {
    let anchor = match m.anchor.get_ref().as_str() {
        ANCHOR_AWARE => Some(Anchor::Aware),
        ANCHOR_DAY0 => Some(Anchor::Day0),
        other if index.contains_key(other) => Some(Anchor::Milestone(other.to_owned())),
        other => {
            problems.at(
                m.anchor.span(),
                format!(
                    "unknown anchor `{other}`: expected `aware`, `day0` or a milestone id ({})",
                    known_ids(index)
                ),
            );
            None
        }
    };
    let owner = Role::parse(m.owner.get_ref());
    if owner.is_none() {
        let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        problems.at(
            m.owner.span(),
            format!(
                "unknown owner role `{}`: expected one of {}",
                m.owner.get_ref(),
                roles.join(", ")
            ),
        );
    }
    if owner == Some(Role::AgencyLead) && !m.per_agency {
        problems.at(
            m.owner.span(),
            "owner `agency_lead` needs `per_agency = true`: each agency's lead owns its own copy"
                .to_owned(),
        );
    }
    if let Some(opens) = &m.opens {
        check_window(opens, *m.due.get_ref(), problems);
    }
    let only_if = match m.only_if.as_ref().map(|c| (c, c.get_ref().as_str())) {
        None => None,
        Some((_, "local_review")) => Some(Condition::LocalReview),
        Some((c, other)) => {
            problems.at(
                c.span(),
                format!("unknown condition `{other}`: the only condition is `local_review`"),
            );
            None
        }
    };
    Some(Milestone {
        id: m.id.get_ref().clone(),
        step: m.step,
        title: m.title.clone(),
        anchor: anchor?,
        opens: m.opens.as_ref().map(|o| *o.get_ref()),
        due: *m.due.get_ref(),
        owner: owner?,
        per_agency: m.per_agency,
        only_if,
        policy: m.policy.clone(),
    })
}

/// A window opens on or before its due day, counted in the same unit.
fn check_window(opens: &Spanned<Offset>, due: Offset, problems: &mut Problems) {
    match (*opens.get_ref(), due) {
        (Offset::WorkingDays(o), Offset::WorkingDays(d))
        | (Offset::Months(o), Offset::Months(d))
            if o > d =>
        {
            problems.at(
                opens.span(),
                format!(
                    "opens ({o}) is after due ({d}): a window must open on or before its due day"
                ),
            );
        }
        (Offset::WorkingDays(_), Offset::Months(_))
        | (Offset::Months(_), Offset::WorkingDays(_)) => problems.at(
            opens.span(),
            "opens and due use different units: give both in working days or both in months"
                .to_owned(),
        ),
        _ => {}
    }
}

/// Each milestone's distance from `aware` along its anchors, which orders evaluation; a cycle
/// is reported once, at the anchor of its first milestone in the file. Each milestone has one
/// anchor, so following anchors from any milestone either reaches `aware` or loops.
fn anchor_depths(raw: &RawTimeline, index: &Index, problems: &mut Problems) -> Vec<usize> {
    let day0 = raw.day0_milestone.get_ref();
    let mut depth = vec![0usize; raw.milestones.len()];
    for (start, m) in raw.milestones.iter().enumerate() {
        let mut chain = vec![start];
        let mut current = start;
        loop {
            let next = match raw.milestones[current].anchor.get_ref().as_str() {
                ANCHOR_AWARE => None,
                ANCHOR_DAY0 => index.get(day0.as_str()).copied(),
                other => index.get(other).copied(),
            };
            let Some(next) = next else { break };
            if chain.contains(&next) {
                let cycle: Vec<usize> = chain.iter().copied().skip_while(|&i| i != next).collect();
                if next == start && cycle.iter().min() == Some(&start) {
                    let mut names: Vec<&str> = cycle
                        .iter()
                        .map(|&i| raw.milestones[i].id.get_ref().as_str())
                        .collect();
                    names.push(m.id.get_ref());
                    problems.at(
                        m.anchor.span(),
                        format!(
                            "anchors form a cycle ({}): each milestone must count from `aware` in the end",
                            names.join(" -> ")
                        ),
                    );
                }
                break;
            }
            chain.push(next);
            current = next;
        }
        depth[start] = chain.len();
    }
    depth
}

/// The `[policy]` with the milestones it names resolved: unset means the conventional
/// milestone where the timeline has it, `""` means off; a named milestone must exist.
fn resolve_policy(raw: &RawTimeline, index: &Index, problems: &mut Problems) -> Policy {
    let mut policy = raw.policy.clone();
    let resolve = |named: &mut Option<String>, conventional: &str| match named.as_deref() {
        Some("") => *named = None,
        Some(_) => {}
        None => {
            *named = index
                .contains_key(conventional)
                .then(|| conventional.to_owned())
        }
    };
    resolve(
        &mut policy.agency_letter_milestone,
        policy::DEFAULT_AGENCY_LETTER_MILESTONE,
    );
    resolve(
        &mut policy.national_panel_milestone,
        policy::DEFAULT_NATIONAL_PANEL_MILESTONE,
    );
    let named = |key: &str, id: &Option<String>, per_agency: bool| match id {
        None => None,
        Some(id) => match index.get(id.as_str()).map(|&i| &raw.milestones[i]) {
            None => Some(format!(
                "[policy] {key} names unknown milestone `{id}`: expected one of {}",
                known_ids(index)
            )),
            Some(m) if per_agency && !m.per_agency => Some(format!(
                "[policy] {key} `{id}` is not per agency: letters go to each agency's lead"
            )),
            Some(_) => None,
        },
    };
    let policy_problems = [
        named(
            "agency_letter_milestone",
            &policy.agency_letter_milestone,
            true,
        ),
        named(
            "national_panel_milestone",
            &policy.national_panel_milestone,
            false,
        ),
        (raw.policy.escalation_repeat_every == 0).then(|| {
            "[policy] escalation_repeat_every is 0: use 1 or more working days".to_owned()
        }),
    ];
    for message in policy_problems.into_iter().flatten() {
        let at = problems.text.find("[policy]").unwrap_or(0);
        problems.at(at..at, message);
    }
    policy
}
