//! Plain-text tables for human output: left-aligned text, right-aligned numbers, two spaces
//! between columns, no trailing spaces (so snapshots stay stable).

use std::borrow::Cow;

/// Text from the server as a terminal may show it: control characters (newlines, escape
/// sequences, NUL; C0, DEL and C1) and the bidirectional overrides that reorder what a
/// reader sees are written as escapes (`\n`, `\u{1b}`), so that what a tenant wrote into a
/// name or a path can neither move the cursor nor forge lines in an admin's terminal.
/// Plain text comes back unchanged, without a copy.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| {
        c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// How a column's cells are aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Left,
    Right,
}

/// A table being built row by row.
#[derive(Debug)]
pub(crate) struct Table {
    headers: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers and alignments.
    pub(crate) fn new(columns: &[(&str, Align)]) -> Table {
        Table {
            headers: columns.iter().map(|(h, _)| (*h).to_string()).collect(),
            aligns: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; it must have one cell per column.
    pub(crate) fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.headers.len(), "row width != column count");
        let row = row
            .into_iter()
            .map(|cell| match printable(&cell) {
                Cow::Borrowed(_) => cell,
                Cow::Owned(escaped) => escaped,
            })
            .collect();
        self.rows.push(row);
    }

    /// Renders the table, one line per row, each ending in a newline.
    pub(crate) fn render(&self) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.headers).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i] - cell.chars().count();
                match self.aligns[i] {
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&" ".repeat(pad));
                    }
                    Align::Right => {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(cell);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns_and_trims() {
        let mut t = Table::new(&[("name", Align::Left), ("price", Align::Right)]);
        t.push(vec!["a".into(), "1.00".into()]);
        t.push(vec!["longer".into(), "10.00".into()]);
        assert_eq!(t.render(), "name    price\na        1.00\nlonger  10.00\n");
    }

    #[test]
    fn cells_escape_control_characters() {
        assert_eq!(printable("plain /tmp/x"), "plain /tmp/x");
        assert_eq!(
            printable("a\u{1b}[2J\nb\u{202e}c\u{9b}"),
            "a\\u{1b}[2J\\nb\\u{202e}c\\u{9b}"
        );
        let mut t = Table::new(&[("name", Align::Left)]);
        t.push(vec!["x\ry".into()]);
        assert_eq!(t.render(), "name\nx\\ry\n");
    }
}
