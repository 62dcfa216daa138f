//! Reading the bundled CSV files row by row, with the file name and line of every row kept so
//! that anomalies can be reported precisely.

use crate::left_out::{LeftOutReason, LeftOutRow};
use std::collections::HashSet;

/// One data row of a bundled CSV file.
pub(crate) struct Row<'t> {
    /// 1-based line in the file (the header is line 1).
    pub(crate) line: usize,
    headers: &'t csv::StringRecord,
    record: csv::StringRecord,
}

impl Row<'_> {
    /// The trimmed value of column `name`; an error names the missing column.
    pub(crate) fn get(&self, name: &str) -> Result<&str, String> {
        let index = self
            .headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("missing column {name}"))?;
        Ok(self.record.get(index).unwrap_or("").trim())
    }

    /// An optional non-negative number (prices): blank means `None`.
    pub(crate) fn opt_number(&self, name: &str) -> Result<Option<f64>, String> {
        let text = self.get(name)?;
        if text.is_empty() {
            return Ok(None);
        }
        let value: f64 = text
            .parse()
            .map_err(|_| format!("column {name}: '{text}' is not a number"))?;
        if !value.is_finite() || value < 0.0 {
            return Err(format!(
                "column {name}: '{text}' is not a non-negative number"
            ));
        }
        Ok(Some(value))
    }

    /// A required whole count written as an integer or a float (`8`, `8.0`).
    pub(crate) fn count(&self, name: &str) -> Result<u32, String> {
        let value = self
            .opt_number(name)?
            .ok_or_else(|| format!("column {name} is empty"))?;
        if value.fract() != 0.0 || value < 1.0 || value > f64::from(u32::MAX) {
            return Err(format!("column {name}: {value} is not a whole count >= 1"));
        }
        Ok(value as u32)
    }
}

/// A parsed bundled file: its header and rows, exact duplicates already removed.
pub(crate) struct Table {
    pub(crate) file: &'static str,
    headers: csv::StringRecord,
    records: Vec<(usize, csv::StringRecord)>,
    /// Rows that repeat an earlier row exactly.
    duplicates: Vec<(usize, csv::StringRecord)>,
    /// Lines that the CSV reader could not read, with why.
    pub(crate) unreadable: Vec<(usize, String)>,
}

impl Table {
    /// Reads `text` (the content of `file`) as CSV with a header row.
    pub(crate) fn read(file: &'static str, text: &str) -> Table {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let headers = reader.headers().cloned().unwrap_or_default();
        let mut seen: HashSet<Vec<String>> = HashSet::new();
        let mut table = Table {
            file,
            headers,
            records: Vec::new(),
            duplicates: Vec::new(),
            unreadable: Vec::new(),
        };
        for (index, result) in reader.records().enumerate() {
            // Header is line 1; the reader's own position counts lines exactly when fields
            // hold no newlines, which is the case in these files.
            let fallback_line = index + 2;
            match result {
                Ok(record) => {
                    let line = record
                        .position()
                        .map_or(fallback_line, |p| p.line() as usize);
                    let key: Vec<String> = record.iter().map(|f| f.trim().to_string()).collect();
                    if seen.insert(key) {
                        table.records.push((line, record));
                    } else {
                        table.duplicates.push((line, record));
                    }
                }
                Err(err) => table.unreadable.push((fallback_line, err.to_string())),
            }
        }
        table
    }

    /// The distinct data rows.
    pub(crate) fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.records.iter().map(|(line, record)| Row {
            line: *line,
            headers: &self.headers,
            record: record.clone(),
        })
    }

    /// The rows that repeat an earlier row exactly (not among [`Table::rows`]).
    pub(crate) fn duplicates(&self) -> impl Iterator<Item = Row<'_>> {
        self.duplicates.iter().map(|(line, record)| Row {
            line: *line,
            headers: &self.headers,
            record: record.clone(),
        })
    }

    /// Left-out records for the unreadable rows of this table.
    pub(crate) fn left_out(&self, provider: &'static str) -> Vec<LeftOutRow> {
        self.unreadable
            .iter()
            .map(|(line, why)| LeftOutRow {
                file: self.file,
                line: *line,
                provider,
                region: String::new(),
                zone: String::new(),
                accelerator: None,
                instance: String::new(),
                reason: LeftOutReason::Malformed,
                detail: Some(why.clone()),
            })
            .collect()
    }
}

/// A left-out record for `row` of `file`, filled with what the row says about itself.
pub(crate) fn left_out_row(
    file: &'static str,
    provider: &'static str,
    row: &Row<'_>,
    accelerator: Option<String>,
    instance: &str,
    reason: LeftOutReason,
    detail: Option<String>,
) -> LeftOutRow {
    LeftOutRow {
        file,
        line: row.line,
        provider,
        region: row.get("Region").unwrap_or("").to_string(),
        zone: row.get("AvailabilityZone").unwrap_or("").to_string(),
        accelerator,
        instance: instance.to_string(),
        reason,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_exact_duplicates_and_keeps_line_numbers() {
        let table = Table::read("t.csv", "A,Price\nx,1.0\nx,1.0\ny,\n");
        let rows: Vec<_> = table.rows().collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].line, 4);
        assert_eq!(
            table.duplicates().map(|r| r.line).collect::<Vec<_>>(),
            vec![3]
        );
        assert_eq!(rows[1].opt_number("Price").unwrap(), None);
        assert_eq!(rows[0].opt_number("Price").unwrap(), Some(1.0));
    }

    #[test]
    fn numbers_are_checked() {
        let table = Table::read("t.csv", "Count,Price\n8.0,-1\n2.5,abc\n");
        let rows: Vec<_> = table.rows().collect();
        assert_eq!(rows[0].count("Count").unwrap(), 8);
        assert!(rows[0].opt_number("Price").is_err());
        assert!(rows[1].count("Count").is_err());
        assert!(rows[1].opt_number("Price").unwrap_err().contains("'abc'"));
        assert!(
            rows[1]
                .get("Nope")
                .unwrap_err()
                .contains("missing column Nope")
        );
    }
}
