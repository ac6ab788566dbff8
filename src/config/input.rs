//! container.json as written: tolerant serde structs (libcontainer 2014 schema
//! plus the cheap 2015 additions). No logic here; see `validate`.
