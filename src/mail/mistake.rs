//! A template's mistake in words: where it is (the file and its line) and what it is. A typo in
//! a variable names the variable and what the template could have used instead, from the
//! context it was given; minijinja's own words only for what these do not recognise.

use minijinja::{ErrorKind, Value};

use super::error::MailError;

/// `error` in `place` (the template's file, or "the built-in digest.txt"), whose text is
/// `source`; `context` is what it was rendered with (`None` while it is parsed).
pub(super) fn in_words(
    place: &str,
    source: &str,
    error: &minijinja::Error,
    context: Option<&Value>,
) -> MailError {
    let place = match error.line() {
        Some(line) => format!("{place}:{line}"),
        None => place.to_owned(),
    };
    let detail = error.detail().unwrap_or("").trim();
    let expression = error
        .range()
        .and_then(|range| source.get(range))
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let message = match (error.kind(), context) {
        (ErrorKind::UndefinedError, Some(context)) => match expression {
            Some(expression) => undefined(expression, source, context),
            None => "something it uses is not defined: check the spelling of the variables on \
                     this line against those at the top of the built-in template"
                .to_owned(),
        },
        (ErrorKind::SyntaxError, _) => {
            format!(
                "the template cannot be read: {detail}; check the {{{{ }}}} and {{% %}} on this line"
            )
        }
        (ErrorKind::UnknownFilter, _) => {
            format!("{detail}: the filters are minijinja's built-in ones (upper, length, join, …)")
        }
        (ErrorKind::UnknownFunction, _) => {
            format!("{detail}: templates have no functions of rrn's")
        }
        (_, _) if detail.is_empty() => error.kind().to_string(),
        (_, _) => format!("{}: {detail}", error.kind()),
    };
    MailError::Template { place, message }
}

/// One step of a variable's path: `items`, `[0]`, `title`.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `items[0].title` as steps; `None` for anything else (a filter, arithmetic, a call).
fn path(expression: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for part in expression.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        steps.push(Step::Key(key));
        while !rest.is_empty() {
            let (index, after) = rest.split_once(']')?;
            steps.push(Step::Index(index.trim().parse().ok()?));
            rest = after.strip_prefix('[').unwrap_or(after);
            if !after.is_empty() && !after.starts_with('[') {
                return None;
            }
        }
    }
    Some(steps)
}

/// The names a value has, in words: "case, title, step and due".
fn names(value: &Value) -> Option<String> {
    if value.kind() != minijinja::value::ValueKind::Map {
        return None;
    }
    let keys: Vec<String> = value.try_iter().ok()?.map(|k| k.to_string()).collect();
    match keys.split_last() {
        None => None,
        Some((last, [])) => Some(last.clone()),
        Some((last, rest)) => Some(format!("{} and {last}", rest.join(", "))),
    }
}

/// What the loop variable `name` of a `{% for name in list %}` in `source` stands for: the
/// first item of `list`.
fn loop_item(name: &str, source: &str, context: &Value) -> Option<Value> {
    source.split("{%").skip(1).find_map(|tag| {
        let tag = tag.trim_start_matches(['-', '+']).trim_start();
        let mut words = tag.strip_prefix("for ")?.split_whitespace();
        if words.next()? != name || words.next()? != "in" {
            return None;
        }
        let list = words.next()?.trim_end_matches(['-', '%', '}']);
        let list = resolve(&path(list)?, context)?;
        list.get_item_by_index(0).ok().filter(|v| !v.is_undefined())
    })
}

fn resolve(steps: &[Step], context: &Value) -> Option<Value> {
    let mut value = context.clone();
    for step in steps {
        value = match step {
            Step::Key(key) => value.get_attr(key).ok()?,
            Step::Index(i) => value.get_item_by_index(*i).ok()?,
        };
        if value.is_undefined() {
            return None;
        }
    }
    Some(value)
}

/// "`item.titel` is not defined: an item has case, title, … (check the spelling)".
fn undefined(expression: &str, source: &str, context: &Value) -> String {
    let Some(steps) = path(expression) else {
        return format!(
            "`{expression}` uses something that is not defined: check the spelling of its \
             variables against those at the top of the built-in template"
        );
    };
    // A path starts with a name.
    let Some(Step::Key(root)) = steps.first() else {
        return format!("`{expression}` is not defined: check its spelling");
    };
    let mut value = match context.get_attr(root).ok().filter(|v| !v.is_undefined()) {
        Some(value) => value,
        None => match loop_item(root, source, context) {
            Some(item) => item,
            None => {
                let known = names(context).unwrap_or_default();
                return format!(
                    "`{root}` is not defined: a template can use {known} (check the spelling)"
                );
            }
        },
    };
    let mut written = (*root).to_owned();
    for step in &steps[1..] {
        let next = match step {
            Step::Key(key) => value.get_attr(key).ok(),
            Step::Index(i) => value.get_item_by_index(*i).ok(),
        }
        .filter(|v| !v.is_undefined());
        let shown = match step {
            Step::Key(key) => format!("`{key}`"),
            Step::Index(i) => format!("an item [{i}]"),
        };
        match next {
            Some(next) => value = next,
            None => {
                let has = names(&value)
                    .map(|n| format!(": it has {n}"))
                    .unwrap_or_default();
                return format!(
                    "`{expression}` is not defined: `{written}` has no {shown}{has} (check the \
                     spelling)"
                );
            }
        }
        written = match step {
            Step::Key(key) => format!("{written}.{key}"),
            Step::Index(i) => format!("{written}[{i}]"),
        };
    }
    format!(
        "`{expression}` is not defined here: check the spelling of its variables against those \
         at the top of the built-in template"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(template: &str) -> String {
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_debug(true);
        env.add_template("digest.txt", template).unwrap();
        let context = Value::from(minijinja::value::Serde(serde_json::json!({
            "partnership": "P",
            "recipient": {"name": "N", "role": "R"},
            "items": [{"case": "RR-1", "title": "T"}],
        })));
        let error = env
            .get_template("digest.txt")
            .unwrap()
            .render(&context)
            .unwrap_err();
        in_words("templates/digest.txt", template, &error, Some(&context)).to_string()
    }

    #[test]
    fn a_misspelt_variable_is_named_with_its_line_and_what_there_is() {
        assert_eq!(
            said("Hello\n{{ partnrship }}\n"),
            "templates/digest.txt:2: `partnrship` is not defined: a template can use \
             items, partnership and recipient (check the spelling)"
        );
        assert_eq!(
            said("{{ recipient.nmae }}"),
            "templates/digest.txt:1: `recipient.nmae` is not defined: `recipient` has no \
             `nmae`: it has name and role (check the spelling)"
        );
        assert_eq!(
            said("{% for item in items %}\n{{ item.titel }}\n{% endfor %}"),
            "templates/digest.txt:2: `item.titel` is not defined: `item` has no `titel`: it \
             has case and title (check the spelling)"
        );
        assert!(said("{{ items[0].tile }}").contains("`items[0]` has no `tile`"));
    }
}
