//! The dataset schemas of a `schemas/` folder: one `<dataset>.avsc` per dataset.

use std::path::{Path, PathBuf};

/// One schema file.
pub struct SchemaFile {
    /// Dataset name (the file stem).
    pub name: String,
    /// Where it lies.
    pub path: PathBuf,
    /// Its text.
    pub definition: String,
}

/// Every `.avsc` file of `dir`, sorted by name.
pub fn read_dir(dir: &Path) -> Result<Vec<SchemaFile>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("reading {}: {e}", dir.display()))?
            .path();
        if path.extension().and_then(|e| e.to_str()) != Some("avsc") {
            continue;
        }
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        let definition = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        files.push(SchemaFile {
            name,
            path,
            definition,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    if files.is_empty() {
        return Err(format!("{} holds no .avsc file", dir.display()));
    }
    Ok(files)
}
