//! Teaching sessions and decks as the viewer sees them (`docs/api.md`, "Teaching"): the
//! capability link in the fragment, the cases, the live class state, the class's results,
//! and notes rendered from Markdown. No browser APIs: tested natively.

use pulldown_cmark::{Event, Options, Parser, html};

/// What a teaching link in the fragment asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassLink {
    /// `#teach=KEY`: the instructor drives a session.
    Teach(String),
    /// `#join=KEY`: a student follows one.
    Join(String),
    /// `#deck=ID`: open a deck to browse or extend.
    Deck(String),
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ClassLink {
    /// Parses a fragment (with or without `#`); `None` when it is not a teaching link,
    /// `Some(Err)` when it is one with a malformed key.
    pub fn parse(fragment: &str) -> Option<Result<Self, String>> {
        let text = fragment.strip_prefix('#').unwrap_or(fragment);
        let (name, value) = text.split_once('=')?;
        let (link, ok) = match name {
            "teach" => (ClassLink::Teach(value.into()), is_hex(value, 48)),
            "join" => (ClassLink::Join(value.into()), is_hex(value, 48)),
            "deck" => (ClassLink::Deck(value.into()), is_hex(value, 32)),
            _ => return None,
        };
        Some(if ok {
            Ok(link)
        } else {
            Err(format!(
                "this {name} link is damaged (the key must be {} hex characters); ask for it again",
                if name == "deck" { 32 } else { 48 }
            ))
        })
    }

    /// The fragment of this link.
    pub fn fragment(&self) -> String {
        match self {
            ClassLink::Teach(key) => format!("#teach={key}"),
            ClassLink::Join(key) => format!("#join={key}"),
            ClassLink::Deck(id) => format!("#deck={id}"),
        }
    }
}

pub use api::VolumeView as CaseVolume;
pub use api::{Case, CaseResults, ClassState, Classroom, ResultPost, Results, Role};

/// What a student's viewer posts after a decode: nothing for the instructor, without a
/// score, without prompts, or once the case's answer is revealed (the class's result is
/// what they did before seeing it).
pub fn result_to_post(
    role: Role,
    student: &str,
    state: &ClassState,
    score: Option<(f64, f64)>,
    clicks: usize,
) -> Option<ResultPost> {
    let (dice, iou) = score?;
    if role != Role::Student || clicks == 0 || state.revealed.contains(&state.current) {
        return None;
    }
    Some(ResultPost {
        student: student.to_string(),
        case: state.current,
        dice: dice.clamp(0.0, 1.0),
        iou: iou.clamp(0.0, 1.0),
        clicks: clicks.min(10_000) as u32,
    })
}

/// A student id from 16 random bytes: `s-` and 32 hex characters.
pub fn student_id(random: &[u8; 16]) -> String {
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    format!("s-{hex}")
}

/// Notes as HTML: CommonMark with tables and strikethrough; raw HTML in the Markdown is
/// shown as text, never interpreted, and links keep only http(s) and relative targets.
pub fn notes_html(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        Event::Start(pulldown_cmark::Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(pulldown_cmark::Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(pulldown_cmark::Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(pulldown_cmark::Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// `url` when it is http(s) or relative, else `#` (no `javascript:` or `data:` targets).
fn safe_url(url: pulldown_cmark::CowStr<'_>) -> pulldown_cmark::CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    let allowed = match lower.split_once(':') {
        Some((scheme, _)) if !scheme.contains('/') => scheme == "http" || scheme == "https",
        _ => true,
    };
    if allowed { url } else { "#".into() }
}

/// One line per bin, for the instructor's view: `0.9–1.0 ████ 4`.
pub fn histogram_lines(histogram: &[usize; 10]) -> Vec<String> {
    let most = histogram.iter().copied().max().unwrap_or(0).max(1);
    (0..10)
        .rev()
        .map(|bin| {
            let count = histogram[bin];
            let bar = "█".repeat((count * 20).div_ceil(most).min(20) * usize::from(count > 0));
            format!(
                "{:.1}–{:.1} {bar} {count}",
                bin as f64 / 10.0,
                (bin + 1) as f64 / 10.0
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parse_and_refuse_damaged_keys() {
        let key = "ab".repeat(24);
        assert_eq!(
            ClassLink::parse(&format!("#join={key}")),
            Some(Ok(ClassLink::Join(key.clone())))
        );
        assert_eq!(
            ClassLink::parse(&format!("teach={key}")),
            Some(Ok(ClassLink::Teach(key.clone())))
        );
        assert_eq!(
            ClassLink::parse(&ClassLink::Deck("c".repeat(32)).fragment()),
            Some(Ok(ClassLink::Deck("c".repeat(32))))
        );
        let damaged = ClassLink::parse(&format!("#join={}", &key[1..])).unwrap();
        assert!(damaged.unwrap_err().contains("damaged"));
        assert_eq!(ClassLink::parse("#v=1&image=abc"), None);
        assert_eq!(ClassLink::parse(""), None);
    }

    #[test]
    fn students_post_until_the_answer_is_revealed() {
        let state = ClassState {
            current: 2,
            revealed: vec![],
        };
        let post = result_to_post(Role::Student, "s-1", &state, Some((0.8, 0.66)), 3).unwrap();
        assert_eq!((post.case, post.clicks), (2, 3));
        assert_eq!(
            result_to_post(Role::Instructor, "s-1", &state, Some((0.8, 0.66)), 3),
            None
        );
        assert_eq!(result_to_post(Role::Student, "s-1", &state, None, 3), None);
        assert_eq!(
            result_to_post(Role::Student, "s-1", &state, Some((0.8, 0.6)), 0),
            None
        );
        let revealed = ClassState {
            current: 2,
            revealed: vec![2],
        };
        assert_eq!(
            result_to_post(Role::Student, "s-1", &revealed, Some((0.8, 0.66)), 3),
            None
        );
        assert_eq!(student_id(&[0xab; 16]).len(), 34);
    }

    #[test]
    fn notes_render_markdown_without_raw_html_or_script_links() {
        let html = notes_html(
            "**Liver** edge\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [ok](https://example.org)",
        );
        assert!(html.contains("<strong>Liver</strong>"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains("href=\"https://example.org\""));
    }

    #[test]
    fn cases_read_the_server_form() {
        let text = r#"{"role":"student","title":"T","current":1,"revealed":[0],"expires_at":5,
            "cases":[{"image":"aa","gt":"bb","label":3,"notes":"n",
            "steps":[{"action":{"kind":"point","x":1.5,"y":2.0,"positive":true},"chosen":null}]},
            {"title":"v","image":"cc","volume":{"id":"dd","axis":"axial","index":4,"window":"ct_abdomen"}}]}"#;
        let room: Classroom = serde_json::from_str(text).unwrap();
        assert_eq!(room.role, Role::Student);
        assert_eq!(room.cases[0].steps.len(), 1);
        assert_eq!(room.cases[1].volume.as_ref().unwrap().index, 4);
        let lines = histogram_lines(&[0, 0, 0, 0, 1, 0, 0, 0, 2, 0]);
        assert_eq!(lines.len(), 10);
        assert!(lines[1].starts_with("0.8–0.9 ") && lines[1].ends_with(" 2"));
        assert!(lines[0].ends_with(" 0"));
    }
}
