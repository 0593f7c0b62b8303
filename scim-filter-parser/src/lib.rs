//! Syntax-only parser for SCIM 2.0 filters and PATCH paths.
//!
//! Implements the filter grammar of RFC 7644 §3.4.2.2 (the ABNF of Figure 1)
//! and the PATCH `path` grammar of RFC 7644 §3.5.2, producing a syntax tree
//! ([`Filter`], [`PatchPath`]). The crate knows no schema: attribute names are
//! kept exactly as written and resolved by the caller afterwards.
//!
//! Input is bounded: at most [`MAX_LENGTH`] bytes and [`MAX_DEPTH`] levels of
//! nesting, so hostile input produces an error instead of exhausting the stack.
//! Every tree printed with `Display` parses back to an equal tree.

mod ast;
mod display;
mod error;
mod filter;
mod lexer;
mod path;

pub use ast::{AttrPath, CompValue, CompareOp, Filter, PatchPath};
pub use error::{ErrorKind, ParseError};
pub use filter::parse_filter;
pub use path::parse_path;

/// Maximum nesting: each `(`, `not (` and valuePath `[` opens one level.
pub const MAX_DEPTH: usize = 64;

/// Maximum accepted input size in bytes.
pub const MAX_LENGTH: usize = 8192;
