//! Records of the export, read as they arrive, by physical line.
//!
//! A record is a physical line, or several when a quoted field holds line breaks. A quote that
//! never closes would otherwise swallow the rest of the file: a record that runs on past a quote
//! and then does not have the header's number of columns (or reaches the end of the file, or
//! [`MAX_SPAN`] lines, still quoted) is taken for an unterminated quote. The line where it opened
//! fails, and the lines after it are read again as records of their own, so every physical line
//! is either in a record or reported. At most one record (bounded by [`MAX_SPAN`] lines of at
//! most [`MAX_LINE`] bytes) is held at a time.

use std::collections::VecDeque;
use std::io;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The longest physical line read; a longer one fails and is skipped.
pub(super) const MAX_LINE: u64 = 1024 * 1024;
/// The most physical lines one quoted field may run over.
pub(super) const MAX_SPAN: usize = 64;

/// One physical line: its number, its bytes with their line break, whether it was cut short.
struct Physical {
    number: u64,
    bytes: Vec<u8>,
    too_long: bool,
}

/// What the reader found next.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Scanned {
    /// A record starting on `line`, as raw fields.
    Record { line: u64, fields: Vec<Vec<u8>> },
    /// A line that cannot be read as a record, and why.
    Broken { line: u64, message: String },
}

/// Where the CSV grammar is after some bytes of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: its end, or the first of a doubled quote.
    QuoteInQuoted,
}

impl State {
    fn after(self, byte: u8) -> Self {
        match (self, byte) {
            (Self::Quoted, b'"') => Self::QuoteInQuoted,
            (Self::FieldStart | Self::QuoteInQuoted, b'"') | (Self::Quoted, _) => Self::Quoted,
            (Self::FieldStart | Self::Unquoted | Self::QuoteInQuoted, b',') => Self::FieldStart,
            (Self::FieldStart | Self::Unquoted | Self::QuoteInQuoted, _) => Self::Unquoted,
        }
    }

    /// The state after `bytes`; `stray` is set when a closing quote is followed by something
    /// other than a separator — what a quote meant to open a field, closing one, looks like.
    fn over(self, bytes: &[u8], stray: &mut bool) -> Self {
        bytes.iter().fold(self, |state, &byte| {
            if state == Self::QuoteInQuoted && !matches!(byte, b'"' | b',' | b'\r' | b'\n') {
                *stray = true;
            }
            state.after(byte)
        })
    }
}

/// A complete record's fields: quotes removed, doubled quotes single, the final line break gone.
fn fields(record: &[u8]) -> Vec<Vec<u8>> {
    let body = record.strip_suffix(b"\n").unwrap_or(record);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut state = State::FieldStart;
    for &byte in body {
        let next = state.after(byte);
        match (state, next) {
            (_, State::FieldStart) => fields.push(std::mem::take(&mut field)),
            (State::FieldStart, State::Quoted) | (State::Quoted, State::QuoteInQuoted) => {}
            _ => field.push(byte),
        }
        state = next;
    }
    fields.push(field);
    fields
}

fn blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| matches!(b, b'\r' | b'\n'))
}

/// Reads records one at a time.
pub(super) struct Records<R> {
    input: R,
    /// The number of the next line `input` gives.
    next_line: u64,
    /// Lines read, then given back when a quote turned out unterminated.
    again: VecDeque<Physical>,
    /// The header's number of columns, once read.
    pub(super) width: Option<usize>,
}

impl<R: AsyncBufRead + Unpin> Records<R> {
    pub(super) fn new(input: R) -> Self {
        Self { input, next_line: 1, again: VecDeque::new(), width: None }
    }

    async fn physical(&mut self) -> io::Result<Option<Physical>> {
        if let Some(line) = self.again.pop_front() {
            return Ok(Some(line));
        }
        let mut bytes = Vec::new();
        (&mut self.input).take(MAX_LINE).read_until(b'\n', &mut bytes).await?;
        if bytes.is_empty() {
            return Ok(None);
        }
        let mut too_long = false;
        if !bytes.ends_with(b"\n") && bytes.len() as u64 >= MAX_LINE {
            // Skip the rest of the line, holding none of it.
            too_long = true;
            bytes.truncate(0);
            let mut rest = Vec::new();
            loop {
                rest.clear();
                (&mut self.input).take(MAX_LINE).read_until(b'\n', &mut rest).await?;
                if rest.is_empty() || rest.ends_with(b"\n") {
                    break;
                }
            }
        }
        let number = self.next_line;
        self.next_line += 1;
        Ok(Some(Physical { number, bytes, too_long }))
    }

    /// The next record, skipping blank lines; `None` at the end of the input.
    pub(super) async fn next(&mut self) -> io::Result<Option<Scanned>> {
        let first = loop {
            match self.physical().await? {
                None => return Ok(None),
                Some(line) if !line.too_long && blank(&line.bytes) => {}
                Some(line) => break line,
            }
        };
        let line = first.number;
        if first.too_long {
            return Ok(Some(Scanned::Broken { line, message: format!("the line is longer than {MAX_LINE} bytes") }));
        }
        let mut record = first.bytes;
        let mut stray = false;
        let mut state = State::FieldStart.over(&record, &mut stray);
        let mut taken: Vec<Physical> = Vec::new();
        let mut unterminated = false;
        while state == State::Quoted {
            if taken.len() >= MAX_SPAN {
                unterminated = true;
                break;
            }
            match self.physical().await? {
                None => {
                    unterminated = true;
                    break;
                }
                Some(next) if next.too_long => {
                    taken.push(next);
                    unterminated = true;
                    break;
                }
                Some(next) => {
                    state = state.over(&next.bytes, &mut stray);
                    record.extend_from_slice(&next.bytes);
                    taken.push(next);
                }
            }
        }
        let fields = if unterminated { Vec::new() } else { fields(&record) };
        let misshapen = !taken.is_empty() && (stray || self.width.is_some_and(|width| fields.len() != width));
        if unterminated || misshapen {
            for physical in taken.into_iter().rev() {
                self.again.push_front(physical);
            }
            let message = "unterminated quote: a quoted field opens on this line and never closes; \
                           the lines after it are read as rows of their own";
            return Ok(Some(Scanned::Broken { line, message: message.to_owned() }));
        }
        Ok(Some(Scanned::Record { line, fields }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn scan(text: &str, width: usize) -> Vec<Scanned> {
        let mut records = Records::new(text.as_bytes());
        records.width = Some(width);
        let mut out = Vec::new();
        while let Some(record) = records.next().await.unwrap() {
            out.push(record);
        }
        out
    }

    fn record(line: u64, fields: &[&str]) -> Scanned {
        Scanned::Record { line, fields: fields.iter().map(|f| f.as_bytes().to_vec()).collect() }
    }

    #[test]
    fn fields_unquote_and_keep_quotes_inside_unquoted_text() {
        let split =
            |text: &str| fields(text.as_bytes()).into_iter().map(|f| String::from_utf8(f).unwrap()).collect::<Vec<_>>();
        assert_eq!(split("a,\"b, c\",\"\"\"d\"\"\"\r\n"), ["a", "b, c", "\"d\""]);
        assert_eq!(split("Bob's \"Best\" Voice,,x"), ["Bob's \"Best\" Voice", "", "x"]);
        assert_eq!(split("\"two\nlines\",z\n"), ["two\nlines", "z"]);
    }

    #[tokio::test]
    async fn a_quoted_line_break_joins_lines_and_blank_lines_are_skipped() {
        let got = scan("a,\"1\n2\",c\r\n\r\nd,e,f", 3).await;
        assert_eq!(got, [record(1, &["a", "1\n2", "c"]), record(4, &["d", "e", "f"])]);
    }

    #[tokio::test]
    async fn an_unterminated_quote_fails_its_line_and_the_next_lines_are_read_again() {
        // Mid-file: the quote on line 2 "closes" at the next quote, on line 4, leaving the right
        // number of columns but a quote followed by text; or on line 5, with too many columns.
        let got = scan("a,b,c\nd,\"e,f\ng,h,i\nj,\"k\",l\n", 3).await;
        assert_eq!(got[0], record(1, &["a", "b", "c"]));
        assert!(matches!(&got[1], Scanned::Broken { line: 2, .. }), "{got:?}");
        assert_eq!(got[2..], [record(3, &["g", "h", "i"]), record(4, &["j", "k", "l"])]);
        let got = scan("a,b,c\nd,\"e,f\ng,h,i\nj,k,l\n\",m,n\n", 3).await;
        assert!(matches!(&got[1], Scanned::Broken { line: 2, .. }), "{got:?}");
        assert_eq!(got[2..4], [record(3, &["g", "h", "i"]), record(4, &["j", "k", "l"])]);
        assert_eq!(got.len(), 5, "line 5 opens a quote of its own: {got:?}");
        // At the end: nothing closes it.
        let got = scan("a,b,c\nd,\"e,f\ng,h,i\n", 3).await;
        assert!(matches!(&got[1], Scanned::Broken { line: 2, .. }), "{got:?}");
        assert_eq!(got[2..], [record(3, &["g", "h", "i"])]);
        // On the last line.
        let got = scan("a,b,c\nd,\"e,f", 3).await;
        assert!(matches!(&got[1], Scanned::Broken { line: 2, .. }), "{got:?}");
        assert_eq!(got.len(), 2);
    }

    #[tokio::test]
    async fn a_quote_open_past_the_span_is_unterminated() {
        let mut text = String::from("x,\"open,y\n");
        for i in 0..(MAX_SPAN + 3) {
            text.push_str(&format!("r{i},s,t\n"));
        }
        let got = scan(&text, 3).await;
        assert!(matches!(&got[0], Scanned::Broken { line: 1, .. }), "{:?}", got[0]);
        assert_eq!(got.len(), MAX_SPAN + 4);
        assert_eq!(got[1], record(2, &["r0", "s", "t"]));
    }
}
