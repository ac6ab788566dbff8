//! Root integration tests, one module per feature.

mod network;
