//! Tables in and out of the admin API: reading an upload — CSV (`,` or `;`, UTF-8 with or
//! without BOM), an .xlsx workbook, or a browser's `multipart/form-data` carrying either —
//! into a header row and data rows, and writing the template and the export as CSV or .xlsx.
//! The spreadsheet formats come from `calamine` (reading) and `rust_xlsxwriter` (writing).

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{Format, Workbook};

/// The content type of an .xlsx workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A table read from an upload: header cells and data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

/// One data row. `line` is the row number the admin sees: the sheet's row number in a
/// workbook, the line a record starts on in a CSV file (the header is 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub cells: Vec<String>,
}

/// Why an upload cannot be read; the message is shown to the admin as is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TableError {
    #[error("the file must be UTF-8 text (CSV) or an .xlsx workbook")]
    NotUtf8,
    #[error("the file must not contain the NUL character (U+0000)")]
    Nul,
    #[error("malformed CSV: {0}")]
    Malformed(String),
    #[error("the file has no header row")]
    NoHeader,
    #[error("cannot read the workbook: {0}")]
    Xlsx(String),
    #[error("cannot read the form upload: {0}")]
    Multipart(String),
    #[error("the form upload has no file (send it in a part named \"file\")")]
    NoFile,
    #[error("{0} is not a format the upload takes: send CSV (text/csv) or an .xlsx workbook")]
    Unsupported(String),
}

/// The format of an upload's bytes, from its declared type, else its name, else its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Csv,
    Xlsx,
}

fn kind_of(
    content_type: Option<&str>,
    file_name: Option<&str>,
    bytes: &[u8],
) -> Result<Kind, TableError> {
    let essence = content_type
        .map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|t| !t.is_empty());
    match essence.as_deref() {
        Some(XLSX_TYPE) => return Ok(Kind::Xlsx),
        Some("text/csv" | "text/plain" | "application/csv" | "text/comma-separated-values") => {
            return Ok(Kind::Csv);
        }
        Some("application/octet-stream" | "application/x-www-form-urlencoded") | None => {}
        Some(other) => return Err(TableError::Unsupported(other.to_string())),
    }
    let name = file_name.map(str::to_ascii_lowercase);
    if name.as_deref().is_some_and(|n| n.ends_with(".xlsx")) || bytes.starts_with(b"PK\x03\x04") {
        Ok(Kind::Xlsx)
    } else {
        Ok(Kind::Csv)
    }
}

/// Reads an upload: `content_type` is the request's `Content-Type`.
pub async fn read(content_type: Option<&str>, bytes: &[u8]) -> Result<Table, TableError> {
    if let Some(ct) = content_type
        && ct
            .trim()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    {
        let (part_type, name, part) = file_part(ct, bytes).await?;
        return read_bytes(
            kind_of(part_type.as_deref(), name.as_deref(), &part)?,
            &part,
        );
    }
    read_bytes(kind_of(content_type, None, bytes)?, bytes)
}

fn read_bytes(kind: Kind, bytes: &[u8]) -> Result<Table, TableError> {
    match kind {
        Kind::Csv => read_csv(bytes),
        Kind::Xlsx => read_xlsx(bytes),
    }
}

/// The file of a form upload: the part named `file`, else the first part with a file name.
/// Its declared type, its file name and its bytes.
async fn file_part(
    content_type: &str,
    bytes: &[u8],
) -> Result<(Option<String>, Option<String>, Vec<u8>), TableError> {
    let boundary =
        multer::parse_boundary(content_type).map_err(|e| TableError::Multipart(e.to_string()))?;
    let mut form = multer::Multipart::with_reader(Cursor::new(bytes.to_vec()), boundary);
    loop {
        let field = form
            .next_field()
            .await
            .map_err(|e| TableError::Multipart(e.to_string()))?;
        let Some(field) = field else {
            return Err(TableError::NoFile);
        };
        if field.name() == Some("file") || field.file_name().is_some() {
            let part_type = field.content_type().map(|m| m.essence_str().to_string());
            let name = field.file_name().map(str::to_string);
            let data = field
                .bytes()
                .await
                .map_err(|e| TableError::Multipart(e.to_string()))?;
            return Ok((part_type, name, data.to_vec()));
        }
    }
}

/// Undoes the export's guard against formula injection: `'=…`, `'+…`, `'-…`, `'@…`.
fn unguard(cell: &str) -> String {
    let trimmed = cell.trim();
    match trimmed.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_string(),
        _ => trimmed.to_string(),
    }
}

/// The delimiter of a CSV file: `;` when its header line has more of them than commas
/// (outside quotes), else `,`.
fn delimiter(text: &str) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            '\n' if !quoted => break,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

fn read_csv(bytes: &[u8]) -> Result<Table, TableError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| TableError::NotUtf8)?;
    if text.contains('\0') {
        return Err(TableError::Nul);
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let headers: Vec<String> = match records.next() {
        Some(Ok(record)) => record.iter().map(unguard).collect(),
        Some(Err(e)) => return Err(TableError::Malformed(describe(&e))),
        None => return Err(TableError::NoHeader),
    };
    if headers.iter().all(String::is_empty) {
        return Err(TableError::NoHeader);
    }
    let mut rows = Vec::new();
    for record in records {
        let record = record.map_err(|e| TableError::Malformed(describe(&e)))?;
        let line = record.position().map_or(0, |p| p.line() as usize);
        let mut cells: Vec<String> = record.iter().map(unguard).collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        if cells.len() < headers.len() {
            cells.resize(headers.len(), String::new());
        }
        rows.push(Row { line, cells });
    }
    Ok(Table { headers, rows })
}

/// A CSV error in plain words, with the record it is on.
fn describe(e: &csv::Error) -> String {
    match e.position() {
        Some(p) => format!("record {} (line {}): {e}", p.record() + 1, p.line()),
        None => e.to_string(),
    }
}

/// The text of a workbook cell: integral numbers without a fraction (an agent id typed as
/// 1001, a phone number typed as 447700900123), booleans as true/false.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Int(n) => n.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => unguard(s),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => d.to_string(),
        Data::Error(_) | Data::Empty => String::new(),
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Table, TableError> {
    let mut workbook: Xlsx<_> =
        Xlsx::new(Cursor::new(bytes)).map_err(|e| TableError::Xlsx(e.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or(TableError::NoHeader)?
        .map_err(|e| TableError::Xlsx(e.to_string()))?;
    let first_row = range.start().map_or(0, |(row, _)| row as usize);
    let first_col = range.start().map_or(0, |(_, col)| col as usize);
    let mut headers: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (offset, cells) in range.rows().enumerate() {
        // Cells left of the used range are empty in the sheet too.
        let cells: Vec<String> = std::iter::repeat_n(String::new(), first_col)
            .chain(cells.iter().map(cell_text))
            .collect();
        if cells.iter().all(String::is_empty) {
            continue;
        }
        let line = first_row + offset + 1;
        match &headers {
            None => headers = Some(cells),
            Some(h) => {
                let mut cells = cells;
                if cells.len() < h.len() {
                    cells.resize(h.len(), String::new());
                }
                rows.push(Row { line, cells });
            }
        }
    }
    let mut headers = headers.ok_or(TableError::NoHeader)?;
    while headers.last().is_some_and(String::is_empty) {
        headers.pop();
    }
    for row in &mut rows {
        while row.cells.len() > headers.len() && row.cells.last().is_some_and(String::is_empty) {
            row.cells.pop();
        }
    }
    Ok(Table { headers, rows })
}

/// Whether a cell would be taken as a formula by a spreadsheet: it starts with `=`, `@`, a
/// tab or a CR, or with `+`/`-` not followed by digits only ("+442071234567" stays as is).
fn needs_guard(cell: &str) -> bool {
    match cell.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => {
            let rest = &cell[1..];
            rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit())
        }
        Some('\'') => cell[1..].starts_with(['=', '+', '-', '@', '\t', '\r']),
        _ => false,
    }
}

/// A CSV file: comma-separated, `\n` line ends, no BOM. A cell a spreadsheet would run as a
/// formula is written with a leading `'`, which [`read`] removes again.
pub fn write_csv(headers: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let guard = |cell: &str| {
        if needs_guard(cell) {
            format!("'{cell}")
        } else {
            cell.to_string()
        }
    };
    // Writing to a Vec cannot fail; a failure would only lose the row.
    let _ = writer.write_record(headers.iter().map(|h| guard(h)));
    for row in rows {
        let _ = writer.write_record(row.iter().map(|c| guard(c)));
    }
    writer.into_inner().unwrap_or_default()
}

/// An .xlsx workbook of one sheet: a bold, frozen header row, every cell text (never a
/// formula or a number, so phone numbers and agent ids stay as written), and the columns
/// formatted as text for what an admin types later.
pub fn write_xlsx(
    headers: &[&str],
    rows: &[Vec<String>],
    sheet: &str,
) -> Result<Vec<u8>, TableError> {
    let xlsx = |e: rust_xlsxwriter::XlsxError| TableError::Xlsx(e.to_string());
    let mut workbook = Workbook::new();
    let worksheet = workbook.add_worksheet();
    worksheet.set_name(sheet).map_err(xlsx)?;
    let text = Format::new().set_num_format("@");
    let bold = Format::new().set_bold().set_num_format("@");
    for (col, header) in headers.iter().enumerate() {
        let col = u16::try_from(col).map_err(|_| TableError::Xlsx("too many columns".into()))?;
        let widest = rows
            .iter()
            .filter_map(|r| r.get(usize::from(col)))
            .map(|c| c.chars().count())
            .chain(std::iter::once(header.chars().count()))
            .max()
            .unwrap_or(0);
        worksheet
            .set_column_width(col, widest.clamp(12, 40) as f64)
            .map_err(xlsx)?;
        worksheet.set_column_format(col, &text).map_err(xlsx)?;
        worksheet
            .write_string_with_format(0, col, *header, &bold)
            .map_err(xlsx)?;
    }
    for (index, row) in rows.iter().enumerate() {
        let line =
            u32::try_from(index + 1).map_err(|_| TableError::Xlsx("too many rows".into()))?;
        for (col, cell) in row.iter().enumerate() {
            if cell.is_empty() {
                continue;
            }
            let col =
                u16::try_from(col).map_err(|_| TableError::Xlsx("too many columns".into()))?;
            worksheet
                .write_string_with_format(line, col, cell, &text)
                .map_err(xlsx)?;
        }
    }
    worksheet.set_freeze_panes(1, 0).map_err(xlsx)?;
    workbook.save_to_buffer().map_err(xlsx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(table: &Table) -> Vec<(usize, Vec<&str>)> {
        table
            .rows
            .iter()
            .map(|r| (r.line, r.cells.iter().map(String::as_str).collect()))
            .collect()
    }

    #[tokio::test]
    async fn csv_with_commas_semicolons_quotes_and_bom() {
        let t = read(
            Some("text/csv"),
            b"email,skills\na@x,\"French:7;Sales:3\"\n",
        )
        .await
        .expect("comma file");
        assert_eq!(t.headers, ["email", "skills"]);
        assert_eq!(cells(&t), [(2, vec!["a@x", "French:7;Sales:3"])]);

        let t = read(
            None,
            "\u{feff}email;skills;note\na@x;\"French:7;Sales:3\";\"a, b\"\n".as_bytes(),
        )
        .await
        .expect("semicolon file");
        assert_eq!(t.headers, ["email", "skills", "note"]);
        assert_eq!(cells(&t), [(2, vec!["a@x", "French:7;Sales:3", "a, b"])]);
    }

    #[tokio::test]
    async fn csv_rows_short_long_and_blank() {
        let t = read(None, b"a,b,c\n1\n\n,,\n1,2,3,4\n")
            .await
            .expect("file");
        assert_eq!(
            cells(&t),
            [(2, vec!["1", "", ""]), (5, vec!["1", "2", "3", "4"])]
        );
    }

    #[tokio::test]
    async fn csv_refusals() {
        assert_eq!(read(None, b"\xff\xfe,a").await, Err(TableError::NotUtf8));
        assert_eq!(read(None, b"a,b\n1,\0").await, Err(TableError::Nul));
        assert_eq!(read(None, b"").await, Err(TableError::NoHeader));
        assert!(matches!(
            read(Some("application/json"), b"{}").await,
            Err(TableError::Unsupported(t)) if t == "application/json"
        ));
    }

    const TRICKY: [&str; 9] = [
        "plain",
        "quote \" inside",
        "comma, semicolon; both",
        "line\nbreak",
        "Zoë 山田",
        "=1+1",
        "+442071234567",
        "@x",
        "-cmd",
    ];

    #[tokio::test]
    async fn csv_round_trip_and_formula_guard() {
        let rows = vec![TRICKY.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
        let headers: Vec<String> = (0..TRICKY.len()).map(|i| format!("c{i}")).collect();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let bytes = write_csv(&header_refs, &rows);
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        assert!(text.contains(",'=1+1,+442071234567,'@x,'-cmd"), "{text}");
        let t = read(Some("text/csv"), &bytes).await.expect("read back");
        assert_eq!(t.headers, headers);
        assert_eq!(t.rows[0].cells, rows[0]);
    }

    #[tokio::test]
    async fn xlsx_round_trip_and_numbers_as_text() {
        let rows = vec![TRICKY.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
        let headers: Vec<String> = (0..TRICKY.len()).map(|i| format!("c{i}")).collect();
        let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
        let bytes = write_xlsx(&header_refs, &rows, "Users").expect("xlsx");
        let t = read(Some(XLSX_TYPE), &bytes).await.expect("read back");
        assert_eq!(t.headers, headers);
        assert_eq!(t.rows[0].cells, rows[0]);
        assert_eq!(t.rows[0].line, 2);

        // Numbers typed into a sheet come back as the digits.
        let mut workbook = Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.write_string(0, 0, "email").expect("cell");
        sheet.write_string(0, 1, "agentId").expect("cell");
        sheet.write_string(0, 2, "phone").expect("cell");
        sheet.write_string(2, 0, "a@x").expect("cell");
        sheet.write_number(2, 1, 1001.0).expect("cell");
        sheet.write_number(2, 2, 447_700_900_123.0).expect("cell");
        sheet.write_boolean(3, 0, true).expect("cell");
        let bytes = workbook.save_to_buffer().expect("xlsx");
        let t = read(None, &bytes).await.expect("sniffed as xlsx");
        assert_eq!(
            cells(&t),
            [
                (3, vec!["a@x", "1001", "447700900123"]),
                (4, vec!["true", "", ""])
            ]
        );
    }

    /// A form part: name, file name, content type, bytes.
    type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

    fn form(parts: &[Part<'_>]) -> (String, Vec<u8>) {
        let boundary = "XyZzY";
        let mut body = Vec::new();
        for (name, file, ct, data) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let mut disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
            if let Some(f) = file {
                disposition.push_str(&format!("; filename=\"{f}\""));
            }
            body.extend_from_slice(format!("{disposition}\r\n").as_bytes());
            if let Some(ct) = ct {
                body.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }

    #[tokio::test]
    async fn multipart_uploads() {
        let (ct, body) = form(&[
            ("note", None, None, b"hello"),
            ("file", Some("users.csv"), Some("text/csv"), b"email\na@x\n"),
        ]);
        let t = read(Some(&ct), &body).await.expect("csv part");
        assert_eq!(cells(&t), [(2, vec!["a@x"])]);

        let xlsx = write_xlsx(&["email"], &[vec!["b@x".into()]], "Users").expect("xlsx");
        let (ct, body) = form(&[("upload", Some("Users.XLSX"), None, &xlsx)]);
        let t = read(Some(&ct), &body).await.expect("xlsx part by name");
        assert_eq!(cells(&t), [(2, vec!["b@x"])]);

        let (ct, body) = form(&[("note", None, None, b"hello")]);
        assert_eq!(read(Some(&ct), &body).await, Err(TableError::NoFile));
    }
}
