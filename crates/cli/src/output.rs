//! Atomic output folders: everything is written into a hidden sibling folder, which is renamed
//! into place at the end. A report appears complete or not at all, and an interrupted run leaves
//! the previous output untouched.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

pub struct Staged {
    pub dir: PathBuf,
    target: PathBuf,
    force: bool,
    done: bool,
}

impl Staged {
    /// Prepares staging for `target`. Fails if `target` exists and is not empty, unless `force`.
    pub fn new(target: &Path, force: bool) -> Result<Staged> {
        if target.exists() {
            let empty = target.is_dir() && std::fs::read_dir(target)?.next().is_none();
            if !empty && !force {
                bail!(
                    "output folder {} exists and is not empty (use --force to replace it)",
                    target.display()
                );
            }
            if !target.is_dir() {
                bail!("{} exists and is not a folder", target.display());
            }
        }
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "out".into());
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Staged {
            dir,
            target: target.to_path_buf(),
            force,
            done: false,
        })
    }

    /// Moves the staged folder into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        if self.target.exists() {
            let empty = std::fs::read_dir(&self.target)?.next().is_none();
            if empty {
                std::fs::remove_dir(&self.target)?;
            } else if self.force {
                let old = self.dir.with_extension("old");
                std::fs::rename(&self.target, &old)?;
                std::fs::rename(&self.dir, &self.target)?;
                self.done = true;
                std::fs::remove_dir_all(&old).ok();
                return Ok(self.target.clone());
            } else {
                bail!(
                    "output folder {} appeared while writing",
                    self.target.display()
                );
            }
        }
        std::fs::rename(&self.dir, &self.target)
            .with_context(|| format!("moving the report into {}", self.target.display()))?;
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
