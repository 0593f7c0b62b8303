//! Discovery endpoints.
