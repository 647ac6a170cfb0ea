//! Templated rows: the text many rows of a column share (a system prompt, a tool
//! description, an instruction header), found in every set read, reported, and, when
//! asked, stripped from the text that is embedded (never from the rows written out).

use crate::dataset::template::{ColumnTemplates, TemplateParams, Templates};
use crate::dataset::Texts;
use crate::dedup::row_key;
use crate::Error;

/// Template fraction (the mean share of a row's characters inside common spans) from which
/// a run warns that templates dominate the embedded text.
pub const DOMINANT_FRACTION: f64 = 0.5;

/// A set's texts as they are embedded: its own, or with common text stripped.
#[derive(Debug)]
pub struct EmbedTexts {
    /// Per column, what is common (reported whether or not it is stripped).
    pub templates: Vec<ColumnTemplates>,
    /// The stripped texts, when stripping changed any row.
    stripped: Option<Texts>,
    /// The key the vector store files these vectors under: the rows' content key,
    /// mixed with what was stripped.
    pub content_key: u128,
}

impl EmbedTexts {
    /// The texts to embed: `original` (the set's texts, as read) or the stripped ones.
    pub fn texts<'a>(&'a self, original: &'a Texts) -> &'a Texts {
        self.stripped.as_ref().unwrap_or(original)
    }

    /// The stripped texts, when stripping changed any row (else `None`: embed the
    /// texts as read).
    pub fn into_stripped(self) -> Option<Texts> {
        self.stripped
    }
}

/// Checks a `--strip-common` share.
pub fn check_strip_share(share: Option<f64>) -> Result<(), Error> {
    match share {
        Some(s) if !(s > 0.0 && s <= 1.0) => Err(Error::InvalidOption {
            name: "strip-common",
            reason: format!("{s} is outside (0, 1]"),
        }),
        _ => Ok(()),
    }
}

/// Finds the common text of each column of `texts` (the unique rows of the set `name`,
/// whose columns are `columns`), warns when it dominates what is embedded, and, with
/// `strip` (a share in (0, 1]), strips the spans at least that share of rows have from the
/// text to embed. `content_key` is the rows' key in the vector store.
pub fn find_templates(
    name: &str,
    columns: &[String],
    texts: &Texts,
    content_key: u128,
    strip: Option<f64>,
) -> EmbedTexts {
    let params = TemplateParams::default();
    let n = texts.len();
    let mut templates: Vec<ColumnTemplates> = (0..texts.columns())
        .map(|c| ColumnTemplates {
            column: columns.get(c).cloned().unwrap_or_default(),
            found: Templates::detect(n, |u| texts.get(u, c), &params),
            stripped_rows: 0,
        })
        .collect();
    for t in &templates {
        if strip.is_none() && t.found.template_fraction >= DOMINANT_FRACTION {
            let top = &t.found.spans[0];
            tracing::warn!(
                "{name}: column `{}`: {:.0}% of the text to embed is shared by many rows \
                 (e.g. {:?}, in {:.0}% of rows; summary lists them under `templates`); \
                 --strip-common {} leaves it out of what is embedded",
                t.column,
                100.0 * t.found.template_fraction,
                preview(&top.text),
                100.0 * top.share,
                params.min_share,
            );
        }
    }
    let Some(share) = strip else {
        return EmbedTexts {
            templates,
            stripped: None,
            content_key,
        };
    };
    let strippers: Vec<_> = templates.iter().map(|t| t.found.stripper(share)).collect();
    let mut stripped = Texts::new(texts.columns());
    let mut row: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(texts.columns());
    for u in 0..n {
        row.clear();
        for (c, stripper) in strippers.iter().enumerate() {
            let text = stripper.strip(texts.get(u, c));
            if matches!(text, std::borrow::Cow::Owned(_)) {
                templates[c].stripped_rows += 1;
            }
            row.push(text);
        }
        stripped.push(&row);
    }
    let changed = templates.iter().any(|t| t.stripped_rows > 0);
    for t in &templates {
        tracing::info!(
            rows = t.stripped_rows,
            "{name}: column `{}`: common text stripped from the embedded text",
            t.column
        );
    }
    let prints: Vec<String> = strippers
        .iter()
        .map(|s| format!("{:016x}", s.fingerprint()))
        .collect();
    EmbedTexts {
        templates,
        stripped: changed.then_some(stripped),
        content_key: if changed {
            row_key(&[format!("{content_key:032x}"), prints.join(",")])
        } else {
            content_key
        },
    }
}

/// The first 80 characters of `text`, for a one-line message.
fn preview(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(rows: &[&str]) -> Texts {
        let mut t = Texts::new(1);
        for r in rows {
            t.push(&[*r]);
        }
        t
    }

    #[test]
    fn strips_only_when_asked_and_keys_the_store_apart() {
        let header = "toolformer: enabled\ntoolformer access: weather\nUseful for when you want the weather.\n";
        let rows: Vec<String> = (0..40)
            .map(|i| format!("{header}Question number {i} about place {}", i * 7))
            .collect();
        let refs: Vec<&str> = rows.iter().map(String::as_str).collect();
        let t = texts(&refs);
        let columns = vec!["instruction".to_string()];
        let found = find_templates("set", &columns, &t, 7, None);
        assert_eq!(found.content_key, 7);
        assert!(std::ptr::eq(found.texts(&t), &t), "nothing stripped");
        assert!(found.templates[0].found.template_fraction > 0.5);
        assert_eq!(found.templates[0].stripped_rows, 0);

        let stripped = find_templates("set", &columns, &t, 7, Some(0.5));
        assert_ne!(stripped.content_key, 7);
        assert_eq!(stripped.templates[0].stripped_rows, 40);
        let s = stripped.texts(&t);
        assert_eq!(s.get(3, 0), "Question number 3 about place 21");
        // The rows as read are untouched.
        assert_eq!(t.get(3, 0), rows[3]);
    }

    #[test]
    fn strip_share_is_checked() {
        assert!(check_strip_share(Some(0.0)).is_err());
        assert!(check_strip_share(Some(1.5)).is_err());
        assert!(check_strip_share(Some(f64::NAN)).is_err());
        assert!(check_strip_share(Some(1.0)).is_ok());
        assert!(check_strip_share(None).is_ok());
    }
}
