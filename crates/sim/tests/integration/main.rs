//! Integration tests of the trace readers and the generator, over the real traces vendored in
//! `data/traces` at the repository root.

mod alibaba;
mod detect;
mod garbage;
mod gavel_matrix;
mod generate;
mod generic_csv;
mod lower_bound;
mod philly;

use std::path::PathBuf;

/// A file under the repository's `data/traces`.
pub(crate) fn data(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/traces")
        .join(relative)
}

/// A file written for one test, removed when the test ends.
pub(crate) struct TempTrace {
    dir: PathBuf,
    pub(crate) path: PathBuf,
}

impl TempTrace {
    pub(crate) fn new(name: &str, text: &str) -> Self {
        // One folder per test name under the target directory: tests run in parallel, and no
        // two tests share a name.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("trace-{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.csv"));
        std::fs::write(&path, text).unwrap();
        Self { dir, path }
    }
}

impl Drop for TempTrace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
