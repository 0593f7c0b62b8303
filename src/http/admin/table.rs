//! Spreadsheet tables for admin bulk uploads and exports: reads CSV and .xlsx files (raw or
//! inside a browser's `multipart/form-data` upload) into a [`Table`], and writes tables as CSV
//! or .xlsx. Its input is untrusted: every malformed file is a [`TableError`], never a panic.

use std::collections::BTreeMap;
use std::io::Cursor;

use calamine::{DataRef, Reader, SheetType, Xlsx, XlsxError};

/// The media type of an .xlsx workbook.
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The most cells (header and data, short rows counted padded to the header's length) one
/// upload may hold. It bounds the memory a small file can claim: a compressed .xlsx, or a CSV
/// with a wide header and many short rows, can describe far more cells than its size suggests.
pub const MAX_CELLS: usize = 2_000_000;

/// A table read from an upload: header cells and data rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The header row's cells, trimmed.
    pub headers: Vec<String>,
    /// The data rows in file order; rows whose cells are all empty are left out.
    pub rows: Vec<Row>,
}

/// One data row; `line` is the row number the admin sees in their file: the header is row 1
/// when it is the file's first row, so the first data row after it is 2. For .xlsx it is the
/// worksheet's row number. For CSV it is the physical line on which the record starts (line
/// breaks are LF, CRLF or a lone CR); it matches a spreadsheet's row number unless an earlier
/// quoted cell spans several lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row number in the admin's file (see [`Row`]).
    pub line: usize,
    /// The row's cells, trimmed; at least as many as there are headers (short rows are padded
    /// with `""`), more when the row is longer than the header.
    pub cells: Vec<String>,
}

/// Why an upload cannot be read (or, for [`TableError::Write`], an export written); the message
/// is shown to the admin as is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TableError {
    /// The file is neither UTF-8 text nor an .xlsx workbook.
    #[error("the file must be UTF-8 text (CSV) or an .xlsx workbook")]
    NotUtf8,
    /// The text contains U+0000, which no CSV file has.
    #[error(
        "the file contains a NUL character (U+0000): it must be UTF-8 text (CSV) or an .xlsx workbook"
    )]
    Nul,
    /// The CSV text cannot be split into records.
    #[error("the CSV file is malformed: {0}")]
    Malformed(String),
    /// The file has no header row (it is empty, or all its rows are empty).
    #[error("the file is empty: its first row must hold the column headers")]
    NoHeader,
    /// The .xlsx workbook cannot be read.
    #[error("the .xlsx workbook cannot be read: {0}")]
    Xlsx(String),
    /// The `multipart/form-data` upload cannot be parsed.
    #[error("the upload cannot be read as a form: {0}")]
    Multipart(String),
    /// The form upload has no file in it.
    #[error("the upload has no file: send it as the form field `file`")]
    NoFile,
    /// The upload's type is not one this module reads; the string names what was sent.
    #[error("unsupported file type ({0}): upload a CSV file (UTF-8 text) or an .xlsx workbook")]
    Unsupported(String),
    /// The table holds more than [`MAX_CELLS`] cells.
    #[error("the file is too large: it holds more than {MAX_CELLS} cells")]
    TooLarge,
    /// An .xlsx export cannot be written (a cell or sheet name beyond Excel's limits).
    #[error("the .xlsx workbook cannot be written: {0}")]
    Write(String),
}

/// A spreadsheet file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma- or semicolon-separated UTF-8 text.
    Csv,
    /// An Office Open XML workbook.
    Xlsx,
}

impl Format {
    /// The media type to send a file of this format with.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => XLSX_TYPE,
        }
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// Reads an uploaded table. `content_type` is the request's `Content-Type`:
/// - `multipart/form-data; boundary=…`: the part named `file` is read, else the first part with
///   a file name; its format comes from the part's content type, else its file name's
///   extension (`.csv`, `.xlsx`), else from its bytes;
/// - [`XLSX_TYPE`]: an .xlsx workbook, whose first worksheet is read;
/// - `text/csv`, `text/plain`, `application/octet-stream` or none: CSV, unless the bytes are a
///   zip archive (an .xlsx workbook);
/// - anything else is [`TableError::Unsupported`].
///
/// The first non-empty row is the header; rows whose cells are all empty are skipped. A cell
/// that starts with `'` followed by `=`, `+`, `-`, `@`, a tab or a CR loses that apostrophe
/// (the guard [`write_csv`] adds against formula injection).
pub async fn read(content_type: Option<&str>, bytes: &[u8]) -> Result<Table, TableError> {
    let declared = content_type.map(str::trim).filter(|c| !c.is_empty());
    let Some(declared) = declared else {
        return parse_off_thread(sniff(bytes)?, bytes.to_vec()).await;
    };
    let essence = essence(declared);
    match essence.as_str() {
        "multipart/form-data" => {
            let (format, data) = read_multipart(declared, bytes).await?;
            parse_off_thread(format, data).await
        }
        t if t == XLSX_TYPE => parse_off_thread(Format::Xlsx, bytes.to_vec()).await,
        "text/csv" | "text/plain" | "application/octet-stream" => {
            parse_off_thread(sniff(bytes)?, bytes.to_vec()).await
        }
        _ => Err(TableError::Unsupported(essence)),
    }
}

/// Writes a table as CSV: comma-delimited, `\n` line ends, no BOM, cells quoted where needed.
/// A cell that a spreadsheet could run as a formula (starting with `=`, `@`, a tab, a CR, or
/// with `+` or `-` not followed only by digits, so `+442071234567` and `-5` stay as they are) is
/// written with a leading `'`, as is a cell that already starts with such an apostrophe, so that
/// [`read`] gives every cell back exactly (cells without surrounding whitespace, which reading
/// trims).
pub fn write_csv(headers: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut out = Vec::new();
    // A `;` in an unquoted header cell would make `read` take the file for semicolon-separated.
    let header_style = if headers.iter().any(|h| h.contains(';')) {
        csv::QuoteStyle::Always
    } else {
        csv::QuoteStyle::Necessary
    };
    // Writing into a Vec cannot fail, and every record is well-formed: errors are impossible.
    {
        let mut w = csv_writer(&mut out, header_style);
        let _ = w.write_record(headers.iter().map(|h| csv_guard(h)));
        let _ = w.flush();
    }
    {
        let mut w = csv_writer(&mut out, csv::QuoteStyle::Necessary);
        for row in rows {
            let _ = w.write_record(row.iter().map(|c| csv_guard(c)));
        }
        let _ = w.flush();
    }
    out
}

/// Writes a table as an .xlsx workbook with one worksheet named `sheet`: the header row bold
/// and frozen, every cell a text cell (never a number or a formula, so ids and phone numbers
/// keep their digits and `=1+1` stays text), the columns formatted as text so cells an admin
/// adds stay text too. [`read`] gives every cell back exactly (cells without surrounding
/// whitespace).
pub fn write_xlsx(
    headers: &[&str],
    rows: &[Vec<String>],
    sheet: &str,
) -> Result<Vec<u8>, TableError> {
    use rust_xlsxwriter::{Format as CellFormat, Workbook};

    let too_big = || write_error(&rust_xlsxwriter::XlsxError::RowColumnLimitError);
    let write_err = |e: rust_xlsxwriter::XlsxError| write_error(&e);

    let mut workbook = Workbook::new();
    let ws = workbook.add_worksheet();
    ws.set_name(sheet).map_err(|_| {
        TableError::Write(format!(
            "the sheet name {sheet:?} is not allowed: it must have 1 to 31 characters, none of \
             [ ] : * ? / \\, and must not start or end with an apostrophe"
        ))
    })?;
    let text = CellFormat::new().set_num_format("@");
    let bold = CellFormat::new().set_bold().set_num_format("@");

    let columns = rows
        .iter()
        .map(Vec::len)
        .chain([headers.len()])
        .max()
        .unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for (c, h) in headers.iter().enumerate() {
        let col = u16::try_from(c).map_err(|_| too_big())?;
        ws.write_string_with_format(0, col, xlsx_guard(h), &bold)
            .map_err(write_err)?;
        widen(&mut widths, c, h);
    }
    for (r, row) in rows.iter().enumerate() {
        let line = u32::try_from(r + 1).map_err(|_| too_big())?;
        for (c, cell) in row.iter().enumerate() {
            let col = u16::try_from(c).map_err(|_| too_big())?;
            ws.write_string_with_format(line, col, xlsx_guard(cell), &text)
                .map_err(write_err)?;
            widen(&mut widths, c, cell);
        }
    }
    for (c, width) in widths.iter().enumerate() {
        let col = u16::try_from(c).map_err(|_| too_big())?;
        let width = (*width + 2).clamp(12, 40);
        ws.set_column_format(col, &text).map_err(write_err)?;
        ws.set_column_width(col, width as f64).map_err(write_err)?;
    }
    ws.set_freeze_panes(1, 0).map_err(write_err)?;
    workbook.save_to_buffer().map_err(write_err)
}

/// The admin's words for why an .xlsx export cannot be written.
fn write_error(e: &rust_xlsxwriter::XlsxError) -> TableError {
    use rust_xlsxwriter::XlsxError as E;
    TableError::Write(match e {
        E::RowColumnLimitError => {
            "more than 1,048,576 rows or 16,384 columns, a worksheet's limits".to_owned()
        }
        E::MaxStringLengthExceeded => {
            "a cell holds more than 32,767 characters, the most a worksheet cell holds".to_owned()
        }
        other => other.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// Format detection

/// The media type without parameters, lower-cased.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
/// Compound File Binary: Excel 97-2003 `.xls`, and password-protected `.xlsx` workbooks.
const CFB_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// The format of bytes whose type is not declared (or declared generically).
fn sniff(bytes: &[u8]) -> Result<Format, TableError> {
    if bytes.starts_with(ZIP_MAGIC) {
        Ok(Format::Xlsx)
    } else if bytes.starts_with(CFB_MAGIC) {
        Err(TableError::Unsupported(
            "an Excel 97-2003 .xls workbook or a password-protected workbook".to_owned(),
        ))
    } else {
        Ok(Format::Csv)
    }
}

/// The format of an uploaded form part, from its content type, else its file name, else its
/// bytes.
fn part_format(
    content_type: Option<&str>,
    file_name: Option<&str>,
    bytes: &[u8],
) -> Result<Format, TableError> {
    let essence = content_type.map(essence).unwrap_or_default();
    match essence.as_str() {
        t if t == XLSX_TYPE => return Ok(Format::Xlsx),
        "text/csv" | "text/plain" => return sniff(bytes),
        _ => {}
    }
    let extension = file_name
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, ext)| ext.trim().to_ascii_lowercase());
    match extension.as_deref() {
        Some("xlsx") => return Ok(Format::Xlsx),
        Some("csv") => return sniff(bytes),
        _ => {}
    }
    // What browsers send for a file type they do not know (Windows with Excel installed labels
    // .csv files `application/vnd.ms-excel`).
    match essence.as_str() {
        "" | "application/octet-stream" | "application/vnd.ms-excel" => sniff(bytes),
        _ => Err(TableError::Unsupported(essence)),
    }
}

/// The file in a `multipart/form-data` body: the part named `file`, else the first part with a
/// file name; with the format it is read as.
async fn read_multipart(content_type: &str, body: &[u8]) -> Result<(Format, Vec<u8>), TableError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| TableError::Multipart("its content type has no boundary".to_owned()))?;
    let mut form = multer::Multipart::with_reader(body, boundary);
    let mut first_file: Option<(Option<String>, Option<String>, Vec<u8>)> = None;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(TableError::Multipart(e.to_string())),
        };
        // A browser sends `filename=""` for a file input left empty.
        let file_name = field
            .file_name()
            .filter(|n| !n.is_empty())
            .map(str::to_owned);
        let named_file = field.name() == Some("file");
        if !named_file && (file_name.is_none() || first_file.is_some()) {
            continue;
        }
        let content_type = field.content_type().map(ToString::to_string);
        let data = field
            .bytes()
            .await
            .map_err(|e| TableError::Multipart(e.to_string()))?
            .to_vec();
        if named_file {
            if file_name.is_none() && data.is_empty() {
                return Err(TableError::NoFile);
            }
            first_file = Some((content_type, file_name, data));
            break;
        }
        first_file = Some((content_type, file_name, data));
    }
    let (content_type, file_name, data) = first_file.ok_or(TableError::NoFile)?;
    let format = part_format(content_type.as_deref(), file_name.as_deref(), &data)?;
    Ok((format, data))
}

/// Parses on the blocking pool (parsing is CPU work, and a panic in a parser dependency
/// becomes an error there rather than taking the request down); inline without a runtime.
async fn parse_off_thread(format: Format, bytes: Vec<u8>) -> Result<Table, TableError> {
    let failed = || match format {
        Format::Csv => TableError::Malformed("the file could not be read".to_owned()),
        Format::Xlsx => TableError::Xlsx("the workbook could not be read".to_owned()),
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => handle
            .spawn_blocking(move || parse(format, &bytes))
            .await
            .unwrap_or_else(|_| Err(failed())),
        Err(_) => {
            std::panic::catch_unwind(|| parse(format, &bytes)).unwrap_or_else(|_| Err(failed()))
        }
    }
}

fn parse(format: Format, bytes: &[u8]) -> Result<Table, TableError> {
    match format {
        Format::Csv => read_csv(bytes),
        Format::Xlsx => read_xlsx(bytes),
    }
}

// ---------------------------------------------------------------------------------------------
// Cells

/// Removes the apostrophe that guards a cell against formula injection: one `'` when the cell
/// starts with one or more `'` followed by `=`, `+`, `-`, `@`, a tab or a CR.
fn unguard(cell: String) -> String {
    let quotes = cell.bytes().take_while(|&b| b == b'\'').count();
    let guarded = quotes > 0
        && cell
            .as_bytes()
            .get(quotes)
            .is_some_and(|b| matches!(b, b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    if guarded { cell[1..].to_owned() } else { cell }
}

/// Whether a cell already starts with apostrophes before a guarded character, and so needs
/// one more to survive [`unguard`].
fn escapes_guard(cell: &str) -> bool {
    cell.starts_with('\'') && unguard(cell.to_owned()).len() != cell.len()
}

/// Whether a spreadsheet opening a CSV file could take the cell for a formula.
fn formula_like(cell: &str) -> bool {
    let mut chars = cell.chars();
    match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !chars.as_str().bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

fn csv_guard(cell: &str) -> std::borrow::Cow<'_, [u8]> {
    if formula_like(cell) || escapes_guard(cell) {
        format!("'{cell}").into_bytes().into()
    } else {
        cell.as_bytes().into()
    }
}

fn xlsx_guard(cell: &str) -> std::borrow::Cow<'_, str> {
    if escapes_guard(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

fn csv_writer(out: &mut Vec<u8>, style: csv::QuoteStyle) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new()
        .delimiter(b',')
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(style)
        .flexible(true)
        .from_writer(out)
}

/// Widens column `c` to fit the first line of `cell`.
fn widen(widths: &mut [usize], c: usize, cell: &str) {
    let len = cell.lines().next().unwrap_or_default().chars().count();
    if let Some(w) = widths.get_mut(c) {
        *w = (*w).max(len);
    }
}

/// Collects rows (cells trimmed, unguarded, in file order) into a table: the first row with a
/// non-empty cell is the header, rows with only empty cells are skipped, short rows padded.
struct Collector {
    headers: Option<Vec<String>>,
    rows: Vec<Row>,
    cells: usize,
}

impl Collector {
    fn new() -> Self {
        Collector {
            headers: None,
            rows: Vec::new(),
            cells: 0,
        }
    }

    /// Counts `n` more cells against [`MAX_CELLS`].
    fn count(&mut self, n: usize) -> Result<(), TableError> {
        self.cells = self.cells.saturating_add(n);
        if self.cells > MAX_CELLS {
            Err(TableError::TooLarge)
        } else {
            Ok(())
        }
    }

    /// Adds a row of `len` cells (known before they are built, so the limit is checked first).
    fn push(
        &mut self,
        line: usize,
        len: usize,
        cells: impl FnOnce() -> Vec<String>,
    ) -> Result<(), TableError> {
        match &self.headers {
            None => {
                self.count(len)?;
                let headers = cells();
                if headers.iter().any(|c| !c.is_empty()) {
                    self.headers = Some(headers);
                }
            }
            Some(headers) => {
                let width = headers.len().max(len);
                self.count(width)?;
                let mut cells = cells();
                if cells.iter().any(|c| !c.is_empty()) {
                    cells.resize(width, String::new());
                    self.rows.push(Row { line, cells });
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Table, TableError> {
        let headers = self.headers.ok_or(TableError::NoHeader)?;
        Ok(Table {
            headers,
            rows: self.rows,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

fn read_csv(bytes: &[u8]) -> Result<Table, TableError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| TableError::NotUtf8)?;
    if text.contains('\0') {
        return Err(TableError::Nul);
    }
    let delimiter = detect_delimiter(text);
    let lines = record_lines(text, delimiter).map_err(|line| {
        TableError::Malformed(format!(
            "the quoted cell that starts on line {line} has no closing quote (\")"
        ))
    })?;

    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut collector = Collector::new();
    let mut record = csv::StringRecord::new();
    let mut index = 0usize;
    let mut line = 0usize;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(&e)),
        }
        // `record_lines` follows the csv crate's record boundaries; should the two ever
        // disagree, the next line number is the best guess left.
        line = lines.get(index).copied().unwrap_or(line + 1);
        index += 1;
        collector.push(line, record.len(), || {
            record.iter().map(|c| unguard(c.to_owned())).collect()
        })?;
    }
    collector.finish()
}

/// `;` when the header line (the first line with more than whitespace and delimiters) has more
/// semicolons than commas outside double quotes, else `,`.
fn detect_delimiter(text: &str) -> u8 {
    let start = text
        .split_inclusive(['\n', '\r'])
        .take_while(|line| {
            !line
                .chars()
                .any(|c| !c.is_whitespace() && c != ',' && c != ';')
        })
        .map(str::len)
        .sum::<usize>();
    let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
    for c in text.get(start..).unwrap_or_default().chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// The line (1-based) on which each CSV record starts, following the csv crate's record
/// boundaries (RFC 4180 quoting, blank lines skipped, a quote is special only at a cell's
/// start). Err(line) when a quoted cell starting on that line is never closed: the csv crate
/// would silently take the rest of the file into that cell.
fn record_lines(text: &str, delimiter: u8) -> Result<Vec<usize>, usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        StartRecord,
        StartField,
        InField,
        InQuoted,
        QuoteInQuoted,
    }
    let bytes = text.as_bytes();
    let mut starts = Vec::new();
    let (mut state, mut line, mut quote_line) = (State::StartRecord, 1usize, 1usize);
    for (i, &b) in bytes.iter().enumerate() {
        let terminator = b == b'\n' || b == b'\r';
        if state == State::StartRecord && !terminator {
            starts.push(line);
            state = State::StartField;
        }
        state = match state {
            State::StartRecord => State::StartRecord,
            State::StartField if b == b'"' => {
                quote_line = line;
                State::InQuoted
            }
            State::StartField | State::InField | State::QuoteInQuoted if b == delimiter => {
                State::StartField
            }
            State::StartField | State::InField | State::QuoteInQuoted if terminator => {
                State::StartRecord
            }
            State::QuoteInQuoted if b == b'"' => State::InQuoted,
            State::StartField | State::InField | State::QuoteInQuoted => State::InField,
            State::InQuoted if b == b'"' => State::QuoteInQuoted,
            State::InQuoted => State::InQuoted,
        };
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            line += 1;
        }
    }
    if state == State::InQuoted {
        Err(quote_line)
    } else {
        Ok(starts)
    }
}

fn csv_error(e: &csv::Error) -> TableError {
    let what = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "it is not valid UTF-8 text".to_owned(),
        _ => e.to_string(),
    };
    TableError::Malformed(match e.position() {
        Some(p) => format!("near line {}: {what}", p.line()),
        None => what,
    })
}

// ---------------------------------------------------------------------------------------------
// xlsx

/// Reads the first worksheet, cell by cell: a worksheet's declared or implied size is never
/// allocated up front (two cells at A1 and XFD1048576 would otherwise ask for 17 billion).
fn read_xlsx(bytes: &[u8]) -> Result<Table, TableError> {
    let mut workbook = Xlsx::new(Cursor::new(bytes)).map_err(|e| xlsx_error(&e))?;
    let sheet = workbook
        .sheets_metadata()
        .iter()
        .find(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .ok_or_else(|| TableError::Xlsx("it has no worksheet".to_owned()))?;
    let mut reader = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(|e| xlsx_error(&e))?;

    // Row → column → text, for non-empty cells only.
    let mut grid: BTreeMap<u32, BTreeMap<u32, String>> = BTreeMap::new();
    let mut count = 0usize;
    let mut first_col = u32::MAX;
    while let Some(cell) = reader.next_cell().map_err(|e| xlsx_error(&e))? {
        let text = unguard(cell_text(cell.get_value()));
        if text.is_empty() {
            continue;
        }
        count += 1;
        if count > MAX_CELLS {
            return Err(TableError::TooLarge);
        }
        let (row, col) = cell.get_position();
        first_col = first_col.min(col);
        grid.entry(row).or_default().insert(col, text);
    }

    let mut collector = Collector::new();
    for (row, cells) in grid {
        let last = cells.keys().next_back().copied().unwrap_or(first_col);
        let len = usize::try_from(last.saturating_sub(first_col))
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let line = usize::try_from(row).unwrap_or(usize::MAX).saturating_add(1);
        collector.push(line, len, || {
            let mut out = vec![String::new(); len];
            for (col, text) in cells {
                let i = usize::try_from(col.saturating_sub(first_col)).unwrap_or(usize::MAX);
                if let Some(slot) = out.get_mut(i) {
                    *slot = text;
                }
            }
            out
        })?;
    }
    collector.finish()
}

/// A cell's text: strings trimmed, integral numbers without a fraction and in full digits,
/// dates as ISO 8601 (`2024-03-01`, `2024-03-01 09:30:00`, `09:30:00`), errors empty.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::String(s) => s.trim().to_owned(),
        DataRef::SharedString(s) => s.trim().to_owned(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) if dt.is_datetime() => {
            let serial = dt.as_f64();
            if !serial.is_finite() || serial < 0.0 {
                return number_text(serial);
            }
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            let time = (h, mi, s) != (0, 0, 0);
            if serial < 1.0 {
                format!("{h:02}:{mi:02}:{s:02}")
            } else if time {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02}")
            }
        }
        DataRef::DateTime(dt) => number_text(dt.as_f64()),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.trim().to_owned(),
        DataRef::Error(_) | DataRef::Empty => String::new(),
    }
}

/// Rust's `Display` for `f64` never uses exponent notation and prints integral values without
/// `.0`: 1001.0 is "1001", 447700900123.0 is "447700900123".
fn number_text(f: f64) -> String {
    if f == 0.0 {
        "0".to_owned()
    } else {
        f.to_string()
    }
}

fn xlsx_error(e: &XlsxError) -> TableError {
    TableError::Xlsx(match e {
        XlsxError::Password => {
            "it is password-protected: remove the password and upload it again".to_owned()
        }
        XlsxError::Zip(_) => "it is not a valid .xlsx file".to_owned(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    fn row(line: usize, cells: &[&str]) -> Row {
        Row {
            line,
            cells: s(cells),
        }
    }

    async fn csv(text: &str) -> Result<Table, TableError> {
        read(Some("text/csv"), text.as_bytes()).await
    }

    /// A `multipart/form-data` body: (name, file name, content type, bytes) per part.
    /// A form part: name, file name, content type, bytes.
    type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

    fn form(parts: &[Part<'_>]) -> (String, Vec<u8>) {
        let boundary = "----rollcallBoundary7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, file_name, content_type, data) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let mut disposition = format!("Content-Disposition: form-data; name=\"{name}\"");
            if let Some(f) = file_name {
                disposition.push_str(&format!("; filename=\"{f}\""));
            }
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(b"\r\n");
            if let Some(t) = content_type {
                body.extend_from_slice(format!("Content-Type: {t}\r\n").as_bytes());
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        (format!("multipart/form-data; boundary={boundary}"), body)
    }

    /// Agent id 1001 and phone 447700900123 stored as numbers, the table starting at B3 with
    /// an empty row 5.
    fn numeric_workbook() -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(2, 1, " agentId ").unwrap();
        ws.write_string(2, 2, "phone").unwrap();
        ws.write_string(2, 3, "ratio").unwrap();
        ws.write_string(2, 4, "active").unwrap();
        ws.write_number(3, 1, 1001).unwrap();
        ws.write_number(3, 2, 447_700_900_123_f64).unwrap();
        ws.write_number(3, 3, 0.25).unwrap();
        ws.write_boolean(3, 4, true).unwrap();
        ws.write_string(4, 1, "   ").unwrap();
        ws.write_number(5, 1, -7).unwrap();
        ws.write_string(5, 2, "'+SUM(A1)").unwrap();
        wb.save_to_buffer().unwrap()
    }

    fn tricky() -> (Vec<&'static str>, Vec<Vec<String>>) {
        let headers = vec!["userName", "display;name", "=note", "phone"];
        let rows = vec![
            s(&["a\"quoted\" one", "semi;colon", "=1+1", "+442071234567"]),
            s(&["comma, inside", "line\nbreak", "@x", "-5"]),
            s(&["crlf\r\ninside", "Zoë Ångström 日本 🎧", "+SUM(A1)", "-cmd"]),
            s(&["'=already guarded", "'-5", "x\ty", "_x0041_"]),
            s(&["\"", ",", ";", "'"]),
            s(&["only first", "", "", ""]),
        ];
        (headers, rows)
    }

    fn as_rows(rows: &[Vec<String>]) -> Vec<Row> {
        rows.iter()
            .enumerate()
            .map(|(i, cells)| Row {
                line: i + 2,
                cells: cells.clone(),
            })
            .collect()
    }

    #[tokio::test]
    async fn comma_file() {
        let t = csv("userName,displayName\r\nalice,Alice A\r\nbob,Bob B\r\n")
            .await
            .unwrap();
        assert_eq!(t.headers, s(&["userName", "displayName"]));
        assert_eq!(
            t.rows,
            vec![row(2, &["alice", "Alice A"]), row(3, &["bob", "Bob B"])]
        );
    }

    #[tokio::test]
    async fn semicolon_file() {
        let t = csv("userName;displayName;note\nalice;Smith, Alice;x\n")
            .await
            .unwrap();
        assert_eq!(t.headers, s(&["userName", "displayName", "note"]));
        assert_eq!(t.rows, vec![row(2, &["alice", "Smith, Alice", "x"])]);
    }

    #[tokio::test]
    async fn delimiters_inside_quotes_do_not_count() {
        // Two quoted commas against one bare semicolon... and the other way round.
        let t = csv("\"a,b\";\"c,d\"\n1;2\n").await.unwrap();
        assert_eq!(t.headers, s(&["a,b", "c,d"]));
        assert_eq!(t.rows, vec![row(2, &["1", "2"])]);
        let t = csv("\"a;b;c\",d\n\"1;2\",\"x,y\"\n").await.unwrap();
        assert_eq!(t.headers, s(&["a;b;c", "d"]));
        assert_eq!(t.rows, vec![row(2, &["1;2", "x,y"])]);
    }

    #[tokio::test]
    async fn bom_is_stripped_and_cells_trimmed() {
        let t = csv("\u{feff} userName , email\n  alice ,  a@example.com  \n")
            .await
            .unwrap();
        assert_eq!(t.headers, s(&["userName", "email"]));
        assert_eq!(t.rows, vec![row(2, &["alice", "a@example.com"])]);
    }

    #[tokio::test]
    async fn not_utf8() {
        let latin1 = b"userName\nZo\xEB\n";
        assert_eq!(
            read(Some("text/csv"), latin1).await,
            Err(TableError::NotUtf8)
        );
        assert_eq!(read(None, latin1).await, Err(TableError::NotUtf8));
        assert_eq!(
            TableError::NotUtf8.to_string(),
            "the file must be UTF-8 text (CSV) or an .xlsx workbook"
        );
    }

    #[tokio::test]
    async fn nul() {
        assert_eq!(csv("userName\nal\0ice\n").await, Err(TableError::Nul));
    }

    #[tokio::test]
    async fn empty_file_has_no_header() {
        assert_eq!(csv("").await, Err(TableError::NoHeader));
        assert_eq!(csv("\u{feff}").await, Err(TableError::NoHeader));
        assert_eq!(csv("\n\r\n , \n,,\n").await, Err(TableError::NoHeader));
        assert_eq!(read(None, b"").await, Err(TableError::NoHeader));
    }

    #[tokio::test]
    async fn header_only() {
        let t = csv("userName,email\n").await.unwrap();
        assert_eq!(
            t,
            Table {
                headers: s(&["userName", "email"]),
                rows: vec![]
            }
        );
    }

    #[tokio::test]
    async fn short_rows_padded_long_rows_kept() {
        let t = csv("a,b,c\n1\n1,2,3,4,5\n1,2,\n").await.unwrap();
        assert_eq!(
            t.rows,
            vec![
                row(2, &["1", "", ""]),
                row(3, &["1", "2", "3", "4", "5"]),
                row(4, &["1", "2", ""]),
            ]
        );
    }

    #[tokio::test]
    async fn blank_rows_skipped_with_true_line_numbers() {
        let text = "\n\nuserName,note\n\nalice,x\n,\n  ;  \r\nbob,\"two\nlines\"\r\r\ncarol,y";
        let t = csv(text).await.unwrap();
        assert_eq!(t.headers, s(&["userName", "note"]));
        // Lines: 3 header, 4 blank, 5 alice, 6 empty cells, 7 one cell ";" (the delimiter is
        // a comma), 8-9 bob, 10 blank (after a lone CR), 11 carol.
        assert_eq!(
            t.rows,
            vec![
                row(5, &["alice", "x"]),
                row(7, &[";", ""]),
                row(8, &["bob", "two\nlines"]),
                row(11, &["carol", "y"]),
            ]
        );
    }

    #[tokio::test]
    async fn unclosed_quote_is_malformed() {
        let err = csv("userName,note\nalice,\"never closed\nbob,x\n")
            .await
            .unwrap_err();
        assert_eq!(
            err,
            TableError::Malformed(
                "the quoted cell that starts on line 2 has no closing quote (\")".to_owned()
            )
        );
        assert_eq!(
            err.to_string(),
            "the CSV file is malformed: the quoted cell that starts on line 2 has no closing quote (\")"
        );
        // A quote inside an unquoted cell is an ordinary character.
        let t = csv("name\nO\"Brien\n").await.unwrap();
        assert_eq!(t.rows, vec![row(2, &["O\"Brien"])]);
    }

    #[tokio::test]
    async fn guard_apostrophe_removed_on_read() {
        let t = csv("'=h\n'=1+1\n'+44 20\n'-x\n'@y\n'plain\n''=z\n'\n")
            .await
            .unwrap();
        assert_eq!(t.headers, s(&["=h"]));
        let cells: Vec<&str> = t.rows.iter().map(|r| r.cells[0].as_str()).collect();
        assert_eq!(cells, ["=1+1", "+44 20", "-x", "@y", "'plain", "'=z", "'"]);
    }

    #[tokio::test]
    async fn too_many_cells() {
        // A wide header and short rows: each 2-byte row claims 100,000 padded cells.
        let mut text = vec!["h"; 100_000].join(",");
        text.push('\n');
        text.push_str(&"x\n".repeat(25));
        assert_eq!(csv(&text).await, Err(TableError::TooLarge));
    }

    #[tokio::test]
    async fn xlsx_numbers_as_text_and_offset_rows() {
        let t = read(Some(XLSX_TYPE), &numeric_workbook()).await.unwrap();
        assert_eq!(t.headers, s(&["agentId", "phone", "ratio", "active"]));
        assert_eq!(
            t.rows,
            vec![
                row(4, &["1001", "447700900123", "0.25", "true"]),
                row(6, &["-7", "+SUM(A1)", "", ""]),
            ]
        );
        // Sniffed without a content type, and with a generic one.
        assert_eq!(read(None, &numeric_workbook()).await.unwrap(), t);
        let octet = read(Some("application/octet-stream"), &numeric_workbook()).await;
        assert_eq!(octet.unwrap(), t);
    }

    #[tokio::test]
    async fn xlsx_dates_and_first_worksheet() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let date = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
        let stamp = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd hh:mm:ss");
        let first = wb.add_worksheet().set_name("Agents").unwrap();
        first.write_string(0, 0, "startDate").unwrap();
        first.write_string(0, 1, "lastSeen").unwrap();
        let day = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 3, 1).unwrap();
        let at = rust_xlsxwriter::ExcelDateTime::parse_from_str("2024-03-01 09:30:15").unwrap();
        first.write_datetime_with_format(1, 0, day, &date).unwrap();
        first.write_datetime_with_format(1, 1, at, &stamp).unwrap();
        wb.add_worksheet()
            .set_name("Other")
            .unwrap()
            .write_string(0, 0, "x")
            .unwrap();
        let t = read(Some(XLSX_TYPE), &wb.save_to_buffer().unwrap())
            .await
            .unwrap();
        assert_eq!(t.headers, s(&["startDate", "lastSeen"]));
        assert_eq!(t.rows, vec![row(2, &["2024-03-01", "2024-03-01 09:30:15"])]);
    }

    #[tokio::test]
    async fn xlsx_far_apart_cells_are_not_allocated_densely() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(0, 0, "h").unwrap();
        ws.write_string(1_048_575, 0, "last").unwrap();
        let t = read(Some(XLSX_TYPE), &wb.save_to_buffer().unwrap())
            .await
            .unwrap();
        assert_eq!(t.rows, vec![row(1_048_576, &["last"])]);
    }

    #[tokio::test]
    async fn broken_xlsx() {
        let err = read(Some(XLSX_TYPE), b"userName\nalice\n")
            .await
            .unwrap_err();
        assert_eq!(
            err,
            TableError::Xlsx("it is not a valid .xlsx file".to_owned())
        );
        let mut truncated = numeric_workbook();
        truncated.truncate(100);
        let err = read(None, &truncated).await.unwrap_err();
        assert_eq!(
            err,
            TableError::Xlsx("it is not a valid .xlsx file".to_owned())
        );
        let err = read(None, b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest")
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported file type (an Excel 97-2003 .xls workbook or a password-protected \
             workbook): upload a CSV file (UTF-8 text) or an .xlsx workbook"
        );
    }

    #[tokio::test]
    async fn multipart_file_part_csv() {
        let (ct, body) = form(&[
            ("note", None, None, b"ignored"),
            ("other", Some("other.csv"), Some("text/csv"), b"x\n1\n"),
            (
                "file",
                Some("agents.csv"),
                Some("text/csv"),
                b"userName;email\nalice;a@x\n",
            ),
        ]);
        let t = read(Some(&ct), &body).await.unwrap();
        assert_eq!(t.headers, s(&["userName", "email"]));
        assert_eq!(t.rows, vec![row(2, &["alice", "a@x"])]);
    }

    #[tokio::test]
    async fn multipart_first_file_by_extension() {
        let (ct, body) = form(&[
            ("mode", None, None, b"upsert"),
            (
                "upload",
                Some("Agents.XLSX"),
                Some("application/octet-stream"),
                &numeric_workbook(),
            ),
            ("second", Some("b.csv"), Some("text/csv"), b"x\n1\n"),
        ]);
        let t = read(Some(&ct), &body).await.unwrap();
        assert_eq!(t.headers, s(&["agentId", "phone", "ratio", "active"]));
        assert_eq!(
            t.rows[0].cells,
            s(&["1001", "447700900123", "0.25", "true"])
        );
        // Windows labels .csv files as Excel's; the extension decides.
        let (ct, body) = form(&[(
            "file",
            Some("a.csv"),
            Some("application/vnd.ms-excel"),
            b"h\nv\n",
        )]);
        assert_eq!(
            read(Some(&ct), &body).await.unwrap().rows,
            vec![row(2, &["v"])]
        );
    }

    #[tokio::test]
    async fn multipart_without_file() {
        let (ct, body) = form(&[("note", None, None, b"hello")]);
        assert_eq!(read(Some(&ct), &body).await, Err(TableError::NoFile));
        // A browser's empty file input.
        let (ct, body) = form(&[("file", Some(""), Some("application/octet-stream"), b"")]);
        assert_eq!(read(Some(&ct), &body).await, Err(TableError::NoFile));
        assert_eq!(
            TableError::NoFile.to_string(),
            "the upload has no file: send it as the form field `file`"
        );
    }

    #[tokio::test]
    async fn multipart_errors() {
        let err = read(Some("multipart/form-data"), b"--x\r\n")
            .await
            .unwrap_err();
        assert_eq!(
            err,
            TableError::Multipart("its content type has no boundary".to_owned())
        );
        let (ct, body) = form(&[("file", Some("a.pdf"), Some("application/pdf"), b"%PDF")]);
        assert_eq!(
            read(Some(&ct), &body).await,
            Err(TableError::Unsupported("application/pdf".to_owned()))
        );
        let (ct, mut body) = form(&[("file", Some("a.csv"), Some("text/csv"), b"h\nv\n")]);
        body.truncate(body.len() - 30);
        assert_eq!(
            read(Some(&ct), &body).await,
            Err(TableError::Multipart(
                "field \"file\" received with incomplete data".to_owned()
            ))
        );
    }

    #[tokio::test]
    async fn unsupported_content_type() {
        let err = read(Some("application/json"), b"{}").await.unwrap_err();
        assert_eq!(err, TableError::Unsupported("application/json".to_owned()));
        assert_eq!(
            err.to_string(),
            "unsupported file type (application/json): upload a CSV file (UTF-8 text) or an \
             .xlsx workbook"
        );
        let pdf = read(Some("Application/PDF; x=y"), b"%PDF").await;
        assert_eq!(
            pdf,
            Err(TableError::Unsupported("application/pdf".to_owned()))
        );
        let t = read(Some("text/plain; charset=utf-8"), b"h\nv\n")
            .await
            .unwrap();
        assert_eq!(t.rows, vec![row(2, &["v"])]);
    }

    #[test]
    fn formula_guard() {
        let out = write_csv(
            &["h"],
            &[
                s(&["=1+1"]),
                s(&["@SUM(A1)"]),
                s(&["+SUM(A1)"]),
                s(&["-cmd"]),
                s(&["\tx"]),
                s(&["+442071234567"]),
                s(&["-5"]),
                s(&["-5.5"]),
                s(&["-"]),
                s(&["a=b"]),
                s(&["'=x"]),
                s(&["'plain"]),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "h\n'=1+1\n'@SUM(A1)\n'+SUM(A1)\n'-cmd\n'\tx\n+442071234567\n-5\n'-5.5\n-\na=b\n''=x\n'plain\n"
        );
    }

    #[test]
    fn csv_quoting() {
        let out = write_csv(
            &["a;b", "c"],
            &[s(&["x,y", "say \"hi\""]), s(&["two\nlines", ""])],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a;b\",\"c\"\n\"x,y\",\"say \"\"hi\"\"\"\n\"two\nlines\",\n"
        );
        assert_eq!(write_csv(&["a", "b"], &[]), b"a,b\n");
    }

    #[tokio::test]
    async fn csv_round_trip() {
        let (headers, rows) = tricky();
        let t = read(Some("text/csv"), &write_csv(&headers, &rows))
            .await
            .unwrap();
        assert_eq!(t.headers, s(&headers));
        // Line numbers count physical lines: rows 2 and 3 span two lines each.
        let lines: Vec<usize> = t.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 5, 7, 8, 9]);
        let cells: Vec<Vec<String>> = t.rows.into_iter().map(|r| r.cells).collect();
        assert_eq!(cells, rows);
        // Also without a declared type, as an upload's file part would be.
        assert_eq!(
            read(None, &write_csv(&headers, &rows))
                .await
                .unwrap()
                .headers,
            s(&headers)
        );
    }

    #[tokio::test]
    async fn xlsx_round_trip() {
        let (headers, rows) = tricky();
        let bytes = write_xlsx(&headers, &rows, "Agents").unwrap();
        let t = read(Some(XLSX_TYPE), &bytes).await.unwrap();
        assert_eq!(
            t,
            Table {
                headers: s(&headers),
                rows: as_rows(&rows)
            }
        );
    }

    #[tokio::test]
    async fn xlsx_numbers_written_as_text() {
        let bytes =
            write_xlsx(&["agentId", "phone"], &[s(&["1001", "447700900123"])], "S").unwrap();
        let mut wb = Xlsx::new(Cursor::new(bytes.as_slice())).unwrap();
        assert_eq!(wb.sheet_names(), ["S"]);
        let range = wb.worksheet_range("S").unwrap();
        assert_eq!(
            range.get_value((1, 0)),
            Some(&calamine::Data::String("1001".to_owned()))
        );
        assert_eq!(
            range.get_value((1, 1)),
            Some(&calamine::Data::String("447700900123".to_owned()))
        );
    }

    #[test]
    fn xlsx_header_bold_cells_text() {
        let bytes = write_xlsx(&["agentId"], &[s(&["1001"])], "S").unwrap();
        let mut wb = Xlsx::new(Cursor::new(bytes.as_slice())).unwrap();
        let styles = wb.worksheet_style("S").unwrap();
        let header = styles.get((0, 0)).unwrap();
        let cell = styles.get((1, 0)).unwrap();
        assert_eq!(
            header.font.as_ref().map(calamine::Font::is_bold),
            Some(true)
        );
        assert_eq!(cell.font.as_ref().map(calamine::Font::is_bold), Some(false));
        for style in [header, cell] {
            let code = style.number_format.as_ref().map(|f| f.format_code.as_str());
            assert_eq!(code, Some("@"));
        }
    }

    #[test]
    fn xlsx_write_errors() {
        let err = write_xlsx(&["a"], &[], "bad[name]").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the .xlsx workbook cannot be written: the sheet name \"bad[name]\" is not allowed: \
             it must have 1 to 31 characters, none of [ ] : * ? / \\, and must not start or end \
             with an apostrophe"
        );
        let long = "x".repeat(40_000);
        let err = write_xlsx(&["a"], &[vec![long]], "S").unwrap_err();
        assert_eq!(
            err,
            TableError::Write(
                "a cell holds more than 32,767 characters, the most a worksheet cell holds"
                    .to_owned()
            )
        );
    }

    #[test]
    fn format_names() {
        assert_eq!(Format::Csv.content_type(), "text/csv; charset=utf-8");
        assert_eq!(Format::Xlsx.content_type(), XLSX_TYPE);
        assert_eq!(
            (Format::Csv.extension(), Format::Xlsx.extension()),
            ("csv", "xlsx")
        );
    }
}
