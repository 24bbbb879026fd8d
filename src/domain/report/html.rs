//! The compliance report as one self-contained HTML page: inline CSS, two bar charts as
//! inline SVG, no script, no font or image from elsewhere, fit to open in a browser and paste
//! into the partnership's yearly report. Every figure a chart shows is also in a table, each
//! table has a caption and header cells with their scope, each chart a title and `role="img"`.
//!
//! Pure: a [`Report`] in, the page out.

use std::fmt::Write as _;

use chrono::NaiveDate;

use super::{MilestoneFigures, Report};

/// The page, its stylesheet inside it: one file to keep or send.
pub fn page(report: &Report) -> String {
    page_styled(report, &format!("<style>{STYLE}</style>"))
}

/// The page with its stylesheet at `href` (the workspace serves [`STYLE`] as a file, since its
/// Content-Security-Policy allows no style inside a page).
pub fn page_linking(report: &Report, href: &str) -> String {
    page_styled(
        report,
        &format!("<link rel=\"stylesheet\" href=\"{href}\">"),
    )
}

fn page_styled(report: &Report, style: &str) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let period = format!("{} to {}", day(report.period.from), day(report.period.to));
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Rapid Review compliance report, {period}</title>\n{style}\n\
         </head>\n<body>\n<main>\n\
         <p class=\"caption\">Rapid Review compliance report</p>\n\
         <h1>{period}</h1>\n\
         <p class=\"lead\">Worked out on {as_of} from {cases}. Working days leave out weekends \
         and bank holidays. What was done after {as_of} is not counted.</p>\n",
        as_of = day(report.as_of),
        cases = plural(report.cases, "case", "cases"),
    );
    rapid_reviews(&mut out, report);
    milestones(&mut out, report);
    agencies(&mut out, report);
    notes(&mut out, report);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

/// The page's stylesheet.
pub const STYLE: &str = "
*{box-sizing:border-box}
body{margin:0;background:#fff;color:#0b0c0c;font-family:\"Helvetica Neue\",Helvetica,Arial,sans-serif;font-size:16px;line-height:1.4}
main{max-width:960px;margin:0 auto;padding:24px 20px 40px}
.caption{color:#505a5f;font-size:19px;margin:0 0 4px}
h1{font-size:36px;line-height:1.1;margin:0 0 16px}
h2{font-size:27px;margin:40px 0 12px;padding-top:8px;border-top:2px solid #1d70b8}
.lead{font-size:19px;margin:0 0 24px}
table{border-collapse:collapse;width:100%;margin:0 0 24px;font-size:15px}
caption{text-align:left;font-weight:700;font-size:19px;padding-bottom:8px}
th,td{text-align:left;padding:6px 8px 6px 0;border-bottom:1px solid #b1b4b6;vertical-align:top}
thead th{font-weight:700}
th[scope=row]{font-weight:400}
.num{text-align:right;font-variant-numeric:tabular-nums;padding-left:8px;padding-right:0}
.id{display:block;color:#505a5f;font-size:13px}
figure{margin:0 0 24px}
figcaption{font-weight:700;font-size:19px;margin-bottom:8px}
svg{display:block;max-width:100%;height:auto}
.notes{color:#505a5f;font-size:15px}
.notes li{margin-bottom:6px}
@media print{h2{break-after:avoid}figure,table{break-inside:avoid}}
";

/// `1 April 2025`.
fn day(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// `100,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Text for HTML: `&`, `<`, `>` and quotes escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A figure that may not be counted: the number, or a dash.
fn maybe(n: Option<u64>) -> String {
    n.map_or("–".to_owned(), thousands)
}

/// `a / b` as a whole percentage, or a dash when `b` is 0.
fn percent(a: Option<u64>, b: Option<u64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0 => format!("{}%", (a as f64 * 100.0 / b as f64).round()),
        _ => "–".to_owned(),
    }
}

fn rapid_reviews(out: &mut String, report: &Report) {
    let reviews = &report.rapid_reviews;
    let lcsprs = &report.lcsprs;
    out.push_str(
        "<h2>Rapid Reviews</h2>\n<table>\n<caption>Rapid Reviews and local child safeguarding \
         practice reviews (LCSPRs)</caption>\n<thead><tr><th scope=\"col\">Figure</th>\
         <th scope=\"col\" class=\"num\">Number</th><th scope=\"col\" class=\"num\">Of those \
         submitted or published</th></tr></thead>\n<tbody>\n",
    );
    let submitted = reviews.submitted;
    let rows: [(String, String, String); 7] = [
        (
            "Cases notified to Ofsted (day 0 in the period)".to_owned(),
            thousands(reviews.notified),
            String::new(),
        ),
        (
            "Rapid Reviews submitted to the national panel".to_owned(),
            maybe(submitted),
            String::new(),
        ),
        (
            format!(
                "Submitted within {} working days of day 0 (the national panel's expectation)",
                report.statutory_limit_working_days
            ),
            maybe(reviews.submitted_within_statutory_limit),
            percent(reviews.submitted_within_statutory_limit, submitted),
        ),
        (
            "Submitted by the timeline's own due day".to_owned(),
            maybe(reviews.submitted_within_timeline),
            percent(reviews.submitted_within_timeline, submitted),
        ),
        (
            "LCSPRs proposed (of the cases notified)".to_owned(),
            thousands(lcsprs.proposed),
            String::new(),
        ),
        (
            "LCSPRs published".to_owned(),
            maybe(lcsprs.published),
            String::new(),
        ),
        (
            format!(
                "Published within {} months of the review's start",
                super::LCSPR_PUBLICATION_MONTHS
            ),
            maybe(lcsprs.published_within_6_months),
            percent(lcsprs.published_within_6_months, lcsprs.published),
        ),
    ];
    for (label, number, share) in rows {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{number}</td>\
             <td class=\"num\">{share}</td></tr>",
            escape(&label)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn milestones(out: &mut String, report: &Report) {
    out.push_str("<h2>Milestones</h2>\n");
    let due: Vec<&MilestoneFigures> = report.milestones.iter().filter(|m| m.due > 0).collect();
    if due.is_empty() {
        out.push_str("<p>No milestone fell due in the period.</p>\n");
    } else {
        on_time_chart(out, &due);
    }
    figures_table(
        out,
        "Milestones that fell due in the period",
        &report.milestones,
        false,
    );
}

fn agencies(out: &mut String, report: &Report) {
    out.push_str("<h2>Agencies</h2>\n");
    if report.agencies.is_empty() {
        out.push_str("<p>No agency milestone fell due in the period.</p>\n");
        return;
    }
    lateness_chart(out, &report.agencies);
    figures_table(
        out,
        "Agency milestones that fell due in the period, by agency",
        &report.agencies,
        true,
    );
}

fn figures_table(out: &mut String, caption: &str, rows: &[MilestoneFigures], by_agency: bool) {
    let _ = write!(
        out,
        "<table>\n<caption>{}</caption>\n<thead><tr>",
        escape(caption)
    );
    let mut headers = vec!["Milestone"];
    if by_agency {
        headers.push("Agency");
    }
    headers.extend([
        "Fell due",
        "On time",
        "Late",
        "Open, overdue",
        "Open, not yet due",
        "Not done, case closed",
        "On-time rate",
        "Median late (working days)",
        "Longest late (working days)",
        "Delayed",
    ]);
    for (i, header) in headers.iter().enumerate() {
        let class = if i >= if by_agency { 2 } else { 1 } {
            " class=\"num\""
        } else {
            ""
        };
        let _ = write!(out, "<th scope=\"col\"{class}>{header}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for m in rows {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}<span class=\"id\">{}</span></th>",
            escape(&m.title),
            escape(&m.milestone)
        );
        if let Some(agency) = &m.agency {
            let _ = write!(out, "<td>{}</td>", escape(agency.as_str()));
        }
        let rate = m
            .on_time_rate()
            .map_or("–".to_owned(), |r| format!("{}%", (r * 100.0).round()));
        let median = m
            .median_late_working_days
            .map_or("–".to_owned(), |v| v.to_string());
        let longest = m
            .max_late_working_days
            .map_or("–".to_owned(), |v| v.to_string());
        let delayed = if m.delayed_by_reason.is_empty() {
            thousands(m.delayed)
        } else {
            let reasons: Vec<String> = m
                .delayed_by_reason
                .iter()
                .map(|(reason, n)| format!("{}: {n}", escape(reason)))
                .collect();
            format!(
                "{}<span class=\"id\">{}</span>",
                m.delayed,
                reasons.join("; ")
            )
        };
        for cell in [
            thousands(m.due),
            thousands(m.on_time),
            thousands(m.late),
            thousands(m.open_overdue),
            thousands(m.open_not_yet_due),
            thousands(m.closed_not_done),
            rate,
            median,
            longest,
            delayed,
        ] {
            let _ = write!(out, "<td class=\"num\">{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

/// The SVG's geometry: labels on the left, bars to the right.
const WIDTH: u32 = 920;
const LABEL: u32 = 330;
const BAR: u32 = 400;
const ROW: u32 = 40;
const TOP: u32 = 34;

/// Horizontal bars: the share done on time of each milestone that fell due (done or overdue).
fn on_time_chart(out: &mut String, rows: &[&MilestoneFigures]) {
    let height = TOP + ROW * rows.len() as u32 + 10;
    let _ = write!(
        out,
        "<figure>\n<figcaption id=\"chart-on-time\">On-time rate per milestone</figcaption>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"chart-on-time-title\" \
         viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"Helvetica Neue, Helvetica, Arial, sans-serif\" font-size=\"14\">\n\
         <title id=\"chart-on-time-title\">On-time rate per milestone: the share of those that fell \
         due in the period (done, or open and overdue) that were done by their due day</title>\n"
    );
    axis(out, height, &["0%", "25%", "50%", "75%", "100%"]);
    for (i, m) in rows.iter().enumerate() {
        let y = TOP + ROW * i as u32;
        label(out, y, &m.title);
        let _ = writeln!(
            out,
            "<rect x=\"{LABEL}\" y=\"{}\" width=\"{BAR}\" height=\"18\" fill=\"#f3f2f1\"/>",
            y + 11
        );
        let words = match m.on_time_rate() {
            Some(rate) => {
                let w = (rate * f64::from(BAR)).round();
                let _ = writeln!(
                    out,
                    "<rect x=\"{LABEL}\" y=\"{}\" width=\"{w}\" height=\"18\" fill=\"#00703c\"/>",
                    y + 11
                );
                format!(
                    "{}% ({} of {})",
                    (rate * 100.0).round(),
                    thousands(m.on_time),
                    thousands(m.on_time + m.late + m.open_overdue)
                )
            }
            None => "not yet due".to_owned(),
        };
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" fill=\"#0b0c0c\">{}</text>",
            LABEL + BAR + 8,
            y + 25,
            escape(&words)
        );
    }
    out.push_str("</svg>\n</figure>\n");
}

/// Two bars per agency milestone and agency: the median and the longest working days late.
fn lateness_chart(out: &mut String, rows: &[MilestoneFigures]) {
    // The scale: the longest lateness rounded up to a multiple of 4, so the 4 steps are whole
    // working days.
    let longest = rows
        .iter()
        .filter_map(|m| m.max_late_working_days)
        .max()
        .unwrap_or(0)
        .max(1)
        .div_ceil(4)
        * 4;
    let height = TOP + ROW * rows.len() as u32 + 36;
    let _ = write!(
        out,
        "<figure>\n<figcaption>Lateness per agency</figcaption>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"chart-lateness-title\" \
         viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"Helvetica Neue, Helvetica, Arial, sans-serif\" font-size=\"14\">\n\
         <title id=\"chart-lateness-title\">Lateness per agency: the median and the longest \
         working days late of each agency's milestones done late in the period</title>\n"
    );
    let ticks: Vec<String> = (0..=4).map(|i| (longest / 4 * i).to_string()).collect();
    let ticks: Vec<&str> = ticks.iter().map(String::as_str).collect();
    axis(out, height - 26, &ticks);
    let scale = |v: f64| (v / f64::from(longest) * f64::from(BAR)).round();
    for (i, m) in rows.iter().enumerate() {
        let y = TOP + ROW * i as u32;
        let name = format!(
            "{}: {}",
            m.agency.as_ref().map_or("", |a| a.as_str()),
            m.title
        );
        label(out, y, &name);
        let words = match (m.median_late_working_days, m.max_late_working_days) {
            (Some(median), Some(max)) => {
                let _ = writeln!(
                    out,
                    "<rect x=\"{LABEL}\" y=\"{}\" width=\"{}\" height=\"18\" fill=\"#f4a79a\"/>\n\
                     <rect x=\"{LABEL}\" y=\"{}\" width=\"{}\" height=\"18\" fill=\"#d4351c\"/>",
                    y + 11,
                    scale(f64::from(max)),
                    y + 11,
                    scale(median),
                );
                format!(
                    "median {median}, longest {max} ({} late)",
                    thousands(m.late)
                )
            }
            _ if m.open_overdue > 0 => {
                format!("none done late; {} overdue", thousands(m.open_overdue))
            }
            _ => "none late".to_owned(),
        };
        let x = LABEL
            + match m.max_late_working_days {
                Some(max) => scale(f64::from(max)) as u32 + 8,
                None => 8,
            };
        let _ = writeln!(
            out,
            "<text x=\"{x}\" y=\"{}\" fill=\"#0b0c0c\">{}</text>",
            y + 25,
            escape(&words)
        );
    }
    // The legend, under the bars.
    let y = height - 18;
    let _ = writeln!(
        out,
        "<rect x=\"{LABEL}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"#d4351c\"/>\
         <text x=\"{}\" y=\"{y}\">median working days late</text>\
         <rect x=\"{}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"#f4a79a\"/>\
         <text x=\"{}\" y=\"{y}\">longest</text>",
        y - 12,
        LABEL + 20,
        LABEL + 220,
        y - 12,
        LABEL + 240,
    );
    out.push_str("</svg>\n</figure>\n");
}

/// Gridlines and their values along the top of a chart's bars.
fn axis(out: &mut String, bottom: u32, ticks: &[&str]) {
    let steps = (ticks.len() - 1) as u32;
    for (i, tick) in ticks.iter().enumerate() {
        let x = LABEL + BAR * i as u32 / steps;
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"#b1b4b6\" stroke-width=\"1\"/>\
             <text x=\"{x}\" y=\"18\" text-anchor=\"middle\" fill=\"#505a5f\">{}</text>",
            TOP - 6,
            bottom,
            escape(tick)
        );
    }
}

/// A row's label, right-aligned against the bars: on one line, or two broken between words,
/// the second cut to fit.
fn label(out: &mut String, y: u32, text: &str) {
    const LINE: usize = 44;
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let current = lines.last().expect("a line");
        let fits = current.is_empty() || current.chars().count() + 1 + word.chars().count() <= LINE;
        if fits || lines.len() == 2 {
            let current = lines.last_mut().expect("a line");
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        } else {
            lines.push(word.to_owned());
        }
    }
    if let Some(last) = lines.last_mut().filter(|l| l.chars().count() > LINE) {
        let cut: String = last.chars().take(LINE - 1).collect();
        *last = format!("{}…", cut.trim_end());
    }
    let x = LABEL - 10;
    let _ = write!(
        out,
        "<text x=\"{x}\" y=\"{}\" text-anchor=\"end\" fill=\"#0b0c0c\"><title>{}</title>",
        if lines.len() == 1 { y + 25 } else { y + 17 },
        escape(text)
    );
    for (i, line) in lines.iter().enumerate() {
        let dy = if i == 0 { "0" } else { "16" };
        let _ = write!(out, "<tspan x=\"{x}\" dy=\"{dy}\">{}</tspan>", escape(line));
    }
    out.push_str("</text>\n");
}

fn notes(out: &mut String, report: &Report) {
    let lcspr = match &report.lcsprs.milestone {
        Some(id) => format!(
            "An LCSPR is published when its milestone <code>{}</code> is recorded as done.",
            escape(id)
        ),
        None => "The timeline has no LCSPR publication milestone (one with only_if = \
                 \"local_review\"), so publications are not counted (–)."
            .to_owned(),
    };
    let _ = write!(
        out,
        "<h2>How the figures are counted</h2>\n<ul class=\"notes\">\n\
         <li>A milestone fell due in the period when its due day is within it. It was done on \
         time when recorded as done on or before its due day, late when after it; lateness is \
         counted in working days after the due day.</li>\n\
         <li>The on-time rate is on time out of those done or open and overdue; milestones not \
         yet due, or not done on a closed case, are left out of it.</li>\n\
         <li>A Rapid Review is submitted when its national panel submission is recorded as done \
         in the period; within the limit when no later than working day {limit} after day 0.</li>\n\
         <li>{lcspr}</li>\n\
         <li>Delayed counts the milestones with a recorded delay. Delays cannot be recorded yet, \
         so it is 0 until they can.</li>\n",
        limit = report.statutory_limit_working_days,
    );
    if !report.not_evaluated.is_empty() {
        let refs: Vec<String> = report
            .not_evaluated
            .iter()
            .map(|r| escape(r.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "<li>Left out, their dates beyond the calendar: {}.</li>",
            refs.join(", ")
        );
    }
    out.push_str("</ul>\n");
}
