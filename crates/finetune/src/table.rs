//! The before/after table of the paper's Table 10: Dice and IoU of the zero-shot decoder
//! and of the fine-tuned one on every validation set, with the relative increase
//! `(after − before) / before`.

use serde::{Deserialize, Serialize};

use crate::validate::SetScores;

/// One validation set's row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    /// Dataset name.
    pub dataset: String,
    /// Images scored.
    pub images: usize,
    /// Zero-shot mean Dice.
    pub dice_before: f64,
    /// Fine-tuned mean Dice.
    pub dice_after: f64,
    /// `(after − before) / before`, `None` when before is 0.
    pub dice_increase: Option<f64>,
    /// Zero-shot mean IoU.
    pub iou_before: f64,
    /// Fine-tuned mean IoU.
    pub iou_after: f64,
    /// `(after − before) / before`, `None` when before is 0.
    pub iou_increase: Option<f64>,
}

fn increase(before: f64, after: f64) -> Option<f64> {
    (before > 0.0).then(|| (after - before) / before)
}

/// Rows from the zero-shot and fine-tuned scores of the same sets (paired by position).
pub fn rows(before: &[SetScores], after: &[SetScores]) -> Vec<TableRow> {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| TableRow {
            dataset: a.name.clone(),
            images: a.images,
            dice_before: b.dice,
            dice_after: a.dice,
            dice_increase: increase(b.dice, a.dice),
            iou_before: b.iou,
            iou_after: a.iou,
            iou_increase: increase(b.iou, a.iou),
        })
        .collect()
}

fn percent(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{:+.1} %", v * 100.0))
}

/// The table as Markdown: a title line naming the models, then one row per dataset.
pub fn markdown(title: &str, rows: &[TableRow]) -> String {
    let mut out = format!(
        "{title}\n\n| dataset | images | Dice before | Dice after | Dice increase | IoU before | IoU after | IoU increase |\n|---|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for r in rows {
        out += &format!(
            "| {} | {} | {:.4} | {:.4} | {} | {:.4} | {:.4} | {} |\n",
            r.dataset,
            r.images,
            r.dice_before,
            r.dice_after,
            percent(r.dice_increase),
            r.iou_before,
            r.iou_after,
            percent(r.iou_increase)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_increase_and_markdown() {
        let s = |dice, iou| SetScores {
            name: "drive/test".into(),
            images: 20,
            dice,
            iou,
        };
        let r = rows(&[s(0.25, 0.0)], &[s(0.75, 0.6)]);
        assert_eq!(r[0].dice_increase, Some(2.0));
        assert_eq!(r[0].iou_increase, None);
        let md = markdown("# t", &r);
        assert!(
            md.contains("| drive/test | 20 | 0.2500 | 0.7500 | +200.0 % | 0.0000 | 0.6000 | – |"),
            "{md}"
        );
    }
}
