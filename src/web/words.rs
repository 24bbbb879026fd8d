//! The casework's refusals in the words of the workspace: they name the CLI's flags and
//! commands (`--on`, `rrn case reopen RR-1`), which a person in a browser has no use for. Each
//! flag becomes its field's label and each command the part of the page that does the same.

/// A refusal's message with the CLI's flags and commands put as the pages put them.
pub(super) fn for_the_browser(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    // `rrn …` commands in backticks.
    while let Some(start) = rest.find("`rrn ") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('`') else {
            out.push_str(&rest[start..]);
            rest = "";
            break;
        };
        out.push_str(command_words(&after[..end]));
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    const FLAGS: [(&str, &str); 9] = [
        ("add --agency ID", "choose the agency"),
        ("drop --agency", "choose it without an agency"),
        ("--on ", "the date "),
        ("--note", "the note"),
        ("--reason", "the reason"),
        ("--agency", "the agency"),
        ("--add", "the agency to add"),
        ("--remove", "the agency to remove"),
        ("--aware", "the date you became aware"),
    ];
    for (flag, words) in FLAGS {
        out = out.replace(flag, words);
    }
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => out,
    }
}

/// A message with the timeline's milestone ids and the config's agency ids put as their
/// titles and names (`agency_summary for police` as `Individual Agency Summary for Example
/// Constabulary`), and `day0` as `day 0`.
pub(super) fn with_names(workspace: &super::Workspace, message: &str) -> String {
    let name_of = |word: &str| -> Option<String> {
        if word == "day0" {
            return Some("day 0".to_owned());
        }
        if let Some(m) = workspace.timeline.milestone(word) {
            return Some(m.title.clone());
        }
        workspace
            .config
            .agencies
            .iter()
            .find(|a| a.id.as_str() == word)
            .map(|a| a.name.to_string())
    };
    let mut out = String::with_capacity(message.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match name_of(word) {
            Some(name) => out.push_str(&name),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// An audit entry's action as the case page names it; an action it does not know is shown as
/// it is stored.
pub(super) fn audit_action(action: &str) -> &str {
    match action {
        "open" => "Case opened",
        "import" => "Case imported",
        "seed" => "Sample case made",
        "complete" => "Recorded as done",
        "uncomplete" => "Record of done taken back",
        "agencies" => "Agencies changed",
        "local-review" => "Local review decision recorded",
        "close" => "Case closed",
        "reopen" => "Case reopened",
        "skip" => "A notification was not sent",
        "left-out" => "Left out of an email before it was sent",
        "withdrawn" => "Email withdrawn before it was sent",
        "readdressed" => "Email sent to the new holder of the role",
        "outbox-retry" => "Failed email queued again",
        "cancel-email" => "Email cancelled",
        other => other,
    }
}

/// What a page offers for a CLI command.
fn command_words(command: &str) -> &'static str {
    let words: Vec<&str> = command.split_whitespace().collect();
    match words.get(1..3) {
        Some(["case", "reopen"]) => "\"Reopen the case\" on its page",
        Some(["case", "local-review"]) => "the local review question on this page",
        Some(["case", "agencies"]) => "\"Add an agency\" on this page",
        Some(["case", "uncomplete"]) => "\"Undo\" under \"Recorded as done\"",
        Some(["case", "show"]) => "the case's page",
        Some(["case", "list"]) => "the list of cases",
        Some(["user", _]) => "the Users page",
        _ => "the page for it",
    }
}

#[cfg(test)]
mod tests {
    use super::{audit_action, for_the_browser};

    #[test]
    fn audit_actions_read_as_words_and_unknown_ones_stay_as_stored() {
        assert_eq!(audit_action("uncomplete"), "Record of done taken back");
        assert_eq!(
            audit_action("readdressed"),
            "Email sent to the new holder of the role"
        );
        assert_eq!(audit_action("something-new"), "something-new");
    }

    #[test]
    fn flags_and_commands_become_the_pages_words() {
        assert_eq!(
            for_the_browser(
                "--on 2020-01-01 is before agency_summary counts from (day0 on 2026-11-26)"
            ),
            "The date 2020-01-01 is before agency_summary counts from (day0 on 2026-11-26)"
        );
        assert_eq!(
            for_the_browser(
                "case RR-1 is closed (done): reopen it with `rrn case reopen RR-1` first"
            ),
            "Case RR-1 is closed (done): reopen it with \"Reopen the case\" on its page first"
        );
        assert_eq!(
            for_the_browser("--reason is empty: say why"),
            "The reason is empty: say why"
        );
    }
}
