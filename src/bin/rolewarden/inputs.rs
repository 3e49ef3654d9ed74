//! The inputs of `evaluate`: files, folders (walked), standard input.

use std::path::PathBuf;

use anyhow::Context as _;

/// Paths to inputs (`None` is standard input), folders expanded recursively in name order
/// ([`crate::walk`]), with the count of other files in folders and a note for each entry left
/// out for another reason.
pub fn expand(paths: &[PathBuf]) -> anyhow::Result<(Vec<Option<PathBuf>>, usize, Vec<String>)> {
    let mut out = Vec::new();
    let mut walker = crate::walk::Walker::default();
    for path in paths {
        if path.as_os_str() == "-" {
            out.push(None);
        } else if path.is_dir() {
            walker
                .folder(path)
                .with_context(|| format!("cannot read folder `{}`", path.display()))?;
            out.extend(walker.walk.files.drain(..).map(Some));
        } else {
            out.push(Some(path.clone()));
        }
    }
    Ok((out, walker.walk.other_files, walker.walk.notes))
}
