//! Finding the input files in a folder: recursively, in name order, each regular file once.
//!
//! Symbolic links are followed, but a folder already walked (a link back to a parent, a second
//! link to the same folder) is not walked again, and a file already listed (through a link or a
//! hard link) is not listed again: folders and files are told apart by device and inode. FIFOs,
//! sockets and devices are never opened (reading a FIFO would block the run); each is noted.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// What a walk found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Walk {
    /// The files to read, in walk order.
    pub files: Vec<PathBuf>,
    /// Files without one of [`rolewarden::decode::EVENT_FILE_EXTENSIONS`].
    pub other_files: usize,
    /// Entries left out for another reason, one line each (a FIFO, a folder seen before).
    pub notes: Vec<String>,
}

/// Device and inode: what a file is, whatever path leads to it.
type Identity = (u64, u64);

#[cfg(unix)]
fn identity(meta: &fs::Metadata) -> Option<Identity> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

#[cfg(not(unix))]
fn identity(_: &fs::Metadata) -> Option<Identity> {
    None
}

/// Walks `dir`, and adds what it finds to `walk`. Folders and files already seen by an earlier
/// call on the same `Walker` are skipped too.
#[derive(Debug, Default)]
pub struct Walker {
    folders: HashSet<Identity>,
    files: HashSet<Identity>,
    pub walk: Walk,
}

impl Walker {
    /// Walks the folder `dir`. Fails only when `dir` itself cannot be listed; a subfolder that
    /// cannot be is noted.
    pub fn folder(&mut self, dir: &Path) -> io::Result<()> {
        let meta = fs::metadata(dir)?;
        if let Some(id) = identity(&meta) {
            self.folders.insert(id);
        }
        let entries = list(dir)?;
        self.entries(entries);
        Ok(())
    }

    fn entries(&mut self, entries: Vec<PathBuf>) {
        for path in entries {
            // Follows links: what counts is what the path leads to.
            let meta = match fs::metadata(&path) {
                Ok(meta) => meta,
                // A dangling link: listed, so that opening it reports why it cannot be read.
                Err(_) if has_input_extension(&path) => {
                    self.walk.files.push(path);
                    continue;
                }
                Err(_) => {
                    self.walk.other_files += 1;
                    continue;
                }
            };
            let id = identity(&meta);
            if meta.is_dir() {
                if let Some(id) = id {
                    if !self.folders.insert(id) {
                        self.walk.notes.push(format!(
                            "`{}`: skipped, a folder already read (a link)",
                            path.display()
                        ));
                        continue;
                    }
                } else if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                    // Without inodes a loop cannot be told: links to folders are not followed.
                    self.walk
                        .notes
                        .push(format!("`{}`: skipped, a link to a folder", path.display()));
                    continue;
                }
                match list(&path) {
                    Ok(entries) => self.entries(entries),
                    Err(e) => self.walk.notes.push(format!(
                        "`{}`: skipped, cannot read folder: {e}",
                        path.display()
                    )),
                }
            } else if !has_input_extension(&path) {
                self.walk.other_files += 1;
            } else if !meta.is_file() {
                self.walk.notes.push(format!(
                    "`{}`: skipped, not a regular file ({})",
                    path.display(),
                    kind(&meta)
                ));
            } else if id.is_none_or(|id| self.files.insert(id)) {
                self.walk.files.push(path);
            }
        }
    }
}

/// Walks one folder.
#[cfg(test)]
fn walk(dir: &Path) -> io::Result<Walk> {
    let mut walker = Walker::default();
    walker.folder(dir)?;
    Ok(walker.walk)
}

/// A folder's entries in name order, hidden ones left out.
fn list(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    Ok(entries)
}

fn has_input_extension(path: &Path) -> bool {
    rolewarden::decode::is_event_file(&path.to_string_lossy())
}

#[cfg(unix)]
fn kind(meta: &fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn kind(_: &fs::Metadata) -> &'static str {
    "not a file"
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_loops_and_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir(root.join("a")).unwrap();
        fs::write(root.join("a/one.json"), "{}").unwrap();
        fs::write(root.join("a/notes.txt"), "").unwrap();
        fs::write(root.join(".hidden.json"), "{}").unwrap();
        // A loop back to the root, a second way into `a`, a link and a hard link to a file.
        symlink(root, root.join("a/loop")).unwrap();
        symlink(root.join("a"), root.join("b")).unwrap();
        symlink(root.join("a/one.json"), root.join("link.json")).unwrap();
        fs::hard_link(root.join("a/one.json"), root.join("hard.json")).unwrap();
        symlink(root.join("missing.json"), root.join("dangling.json")).unwrap();
        let fifo = root.join("pipe.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());

        let walk = walk(root).unwrap();
        assert_eq!(
            walk.files,
            [root.join("a/one.json"), root.join("dangling.json")],
            "{walk:?}"
        );
        assert_eq!(walk.other_files, 1);
        assert_eq!(walk.notes.len(), 3, "{:?}", walk.notes);
        assert!(walk.notes[0].contains("a/loop`: skipped, a folder already read"));
        assert!(walk.notes[1].contains("b`: skipped, a folder already read"));
        assert!(walk.notes[2].contains("pipe.json`: skipped, not a regular file (a FIFO)"));
    }
}
