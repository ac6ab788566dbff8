//! container lifecycle
