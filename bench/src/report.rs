//! Printing the figures as Markdown tables (so a run pastes into the README).

use std::time::Duration;

use crate::stats::Summary;

/// A table: a title, a header row and rows of cells.
pub struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: impl Into<String>, header: &[&str]) -> Table {
        Table {
            title: title.into(),
            header: header.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Prints the table with aligned columns.
    pub fn print(&self) {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        println!("\n{}\n", self.title);
        line(&self.header);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        println!("|-{}-|", rule.join("-|-"));
        for row in &self.rows {
            line(row);
        }
    }
}

/// A duration with three significant figures: `812 µs`, `1.23 ms`, `41.2 ms`.
pub fn duration(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 10_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else if us < 1_000_000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

/// `value / reference` as `1.07×`; `-` without a reference.
pub fn ratio(value: f64, reference: Option<f64>) -> String {
    match reference {
        Some(r) if r > 0.0 => format!("{:.2}×", value / r),
        _ => "-".into(),
    }
}

/// The min / median / p99 cells of a summary, `-` when there is none.
pub fn summary_cells(summary: Option<Summary>) -> Vec<String> {
    match summary {
        Some(s) => vec![duration(s.min), duration(s.median), duration(s.p99)],
        None => vec!["-".into(), "-".into(), "-".into()],
    }
}

/// Bytes as `412 KiB` / `1.3 MiB`.
pub fn bytes(n: u64) -> String {
    if n < 10 * 1024 * 1024 {
        format!("{} KiB", n.div_ceil(1024))
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(duration(Duration::from_micros(812)), "812 µs");
        assert_eq!(duration(Duration::from_micros(1234)), "1.23 ms");
        assert_eq!(duration(Duration::from_micros(41_234)), "41.2 ms");
        assert_eq!(ratio(3.0, Some(2.0)), "1.50×");
        assert_eq!(ratio(3.0, None), "-");
        assert_eq!(bytes(2048), "2 KiB");
    }
}
