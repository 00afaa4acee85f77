//! stub
use std::path::{Path, PathBuf};
#[derive(Debug)]
pub(crate) struct PidFile { path: PathBuf }
impl PidFile { pub(crate) fn path(&self) -> &Path { &self.path } }
