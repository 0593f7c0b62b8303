//! Parse errors for RFC 7644 §3.4.2.2 filters and §3.5.2 paths.
//!
//! The server maps every variant to SCIM error `invalidFilter` (or
//! `invalidPath`); the position and message go into the `detail` text.

/// Broad class of a [`ParseError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input does not match the grammar.
    Syntax,
    /// Nesting exceeds [`crate::MAX_DEPTH`].
    TooDeep,
    /// Input exceeds [`crate::MAX_LENGTH`] bytes.
    TooLong,
}

/// Why and where parsing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at position {position}")]
pub struct ParseError {
    /// Error class.
    pub kind: ErrorKind,
    /// Byte offset into the input where the problem was found.
    pub position: usize,
    /// What was expected (or found), e.g. `expected closing ')'`.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(kind: ErrorKind, position: usize, message: impl Into<String>) -> Self {
        Self {
            kind,
            position,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_position() {
        let e = ParseError::new(ErrorKind::Syntax, 7, "expected closing ')'");
        assert_eq!(e.to_string(), "expected closing ')' at position 7");
    }
}
