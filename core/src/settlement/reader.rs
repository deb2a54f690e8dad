//! The one CSV reader every format shares: the header mapped by name, rows handed to the format's conversion
//! one at a time with their line number, errors naming the line and the field.

use super::ReportRow;
use std::collections::HashMap;

/// A format: the columns it cannot do without, and how one row becomes ours.
pub struct Layout {
    pub required: &'static [&'static str],
    pub convert: fn(&Fields<'_>) -> Result<ReportRow, FieldError>,
}

/// The header does not make the file a report of this format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the report has no header line")]
    Empty,
    #[error("the report's header lacks the column(s) {}", .0.join(", "))]
    Missing(Vec<String>),
    #[error("the report's header cannot be read: {0}")]
    Unreadable(String),
}

/// A row that cannot be read: its line, the field at fault (when one is), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}{}: {reason}", .field.as_ref().map(|f| format!(", {f}")).unwrap_or_default())]
pub struct RowError {
    pub line: u64,
    pub field: Option<String>,
    pub reason: String,
}

/// What a conversion says is wrong with a row (the reader adds the line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Option<&'static str>,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        FieldError { field: Some(field), reason: reason.into() }
    }
}

/// One row's fields, by column name.
pub struct Fields<'a> {
    pub line: u64,
    record: &'a csv::StringRecord,
    columns: &'a HashMap<String, usize>,
}

impl Fields<'_> {
    /// The field's text, trimmed; `None` when the column is absent or the field empty.
    pub fn get(&self, column: &str) -> Option<&str> {
        let index = *self.columns.get(column)?;
        self.record.get(index).map(str::trim).filter(|v| !v.is_empty())
    }

    /// A field the row cannot do without.
    pub fn need(&self, column: &'static str) -> Result<&str, FieldError> {
        self.get(column).ok_or_else(|| FieldError::new(column, "is empty"))
    }

    pub fn owned(&self, column: &str) -> Option<String> {
        self.get(column).map(str::to_owned)
    }
}

/// The rows of a report, in file order.
pub struct Rows<R> {
    reader: csv::Reader<R>,
    columns: HashMap<String, usize>,
    convert: fn(&Fields<'_>) -> Result<ReportRow, FieldError>,
    record: csv::StringRecord,
}

impl<R: std::io::Read> Rows<R> {
    pub(super) fn new(input: R, layout: Layout) -> Result<Self, HeaderError> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(input);
        let header = reader.headers().map_err(|e| HeaderError::Unreadable(e.to_string()))?;
        if header.is_empty() || header.iter().all(|h| h.trim().is_empty()) {
            return Err(HeaderError::Empty);
        }
        let columns: HashMap<String, usize> = header
            .iter()
            .enumerate()
            // A byte-order mark before the first name is not part of it.
            .map(|(i, name)| (name.trim_start_matches('\u{feff}').trim().to_owned(), i))
            .collect();
        let missing: Vec<String> =
            layout.required.iter().filter(|c| !columns.contains_key(**c)).map(|c| (*c).to_owned()).collect();
        if !missing.is_empty() {
            return Err(HeaderError::Missing(missing));
        }
        Ok(Rows { reader, columns, convert: layout.convert, record: csv::StringRecord::new() })
    }

    /// The column names as the header gave them.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.keys().map(String::as_str)
    }
}

impl<R: std::io::Read> Iterator for Rows<R> {
    type Item = Result<ReportRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(error) => {
                    let line = error.position().map(|p| p.line()).unwrap_or(0);
                    return Some(Err(RowError { line, field: None, reason: error.to_string() }));
                }
            }
            let line = self.record.position().map(|p| p.line()).unwrap_or(0);
            // A blank line (or one of only commas) is not a row.
            if self.record.iter().all(|f| f.trim().is_empty()) {
                continue;
            }
            let fields = Fields { line, record: &self.record, columns: &self.columns };
            return Some((self.convert)(&fields).map_err(|e| RowError {
                line,
                field: e.field.map(str::to_owned),
                reason: e.reason,
            }));
        }
    }
}
