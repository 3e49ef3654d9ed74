//! The inputs of `evaluate`: files, folders (walked), standard input.

use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// Paths to inputs (`None` is standard input), folders expanded recursively in name order, and
/// how many files in folders were skipped for their name.
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<(Vec<Option<PathBuf>>, usize)> {
    let mut out = Vec::new();
    let mut skipped = 0;
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(None);
        } else if path.is_dir() {
            walk(path, &mut out, &mut skipped)
                .with_context(|| format!("cannot read folder `{}`", path.display()))?;
        } else {
            out.push(Some(path.clone()));
        }
    }
    Ok((out, skipped))
}

fn walk(dir: &Path, out: &mut Vec<Option<PathBuf>>, skipped: &mut usize) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out, skipped)?;
        } else {
            let name = path.to_string_lossy().to_ascii_lowercase();
            if [".json", ".jsonl", ".ndjson", ".gz"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                out.push(Some(path));
            } else {
                *skipped += 1;
            }
        }
    }
    Ok(())
}
