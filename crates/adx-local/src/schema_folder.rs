//! A folder of `.avsc` files as the schema registry: `<dir>/<name>.avsc` is the latest version
//! of schema `<name>`, and `<dir>/history/<name>/*.avsc` hold its earlier versions (in file
//! name order), so that data written with an older version can still be decoded. Each
//! version's id is derived from its text, so it is stable across processes and machines, as
//! Glue's version ids are.

use adx_core::uuid_text;
use adx_core::{RegisteredSchema, RegistryError, SchemaRegistry};
use std::fs;
use std::path::PathBuf;
use xxhash_rust::xxh3::xxh3_128;

/// The schema registry of the embedded default.
#[derive(Debug, Clone)]
pub struct LocalSchemaFolder {
    dir: PathBuf,
}

/// The stable id of a schema text, formatted as a UUID like Glue's version ids.
pub fn version_id_of(definition: &str) -> String {
    uuid_text(&xxh3_128(definition.as_bytes()).to_be_bytes())
}

fn registry_error(operation: String, e: impl std::fmt::Display) -> RegistryError {
    RegistryError {
        operation,
        message: e.to_string(),
    }
}

impl LocalSchemaFolder {
    /// A registry over the `.avsc` files of `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> LocalSchemaFolder {
        LocalSchemaFolder { dir: dir.into() }
    }

    fn registered(name: &str, definition: String) -> RegisteredSchema {
        RegisteredSchema {
            name: name.to_string(),
            version_id: version_id_of(&definition),
            version_number: 1,
            data_format: "AVRO".into(),
            definition,
        }
    }

    /// The texts of the earlier versions of `name`, oldest first.
    pub fn history(&self, name: &str) -> Result<Vec<String>, RegistryError> {
        let dir = self.dir.join("history").join(name);
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "avsc"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                fs::read_to_string(p)
                    .map_err(|e| registry_error(format!("read {}", p.display()), e))
            })
            .collect()
    }

    /// Names of the schemas in the folder, sorted.
    pub fn names(&self) -> Result<Vec<String>, RegistryError> {
        let entries = fs::read_dir(&self.dir)
            .map_err(|e| registry_error(format!("list {}", self.dir.display()), e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry =
                entry.map_err(|e| registry_error(format!("list {}", self.dir.display()), e))?;
            let file = entry.file_name().to_string_lossy().to_string();
            if let Some(name) = file.strip_suffix(".avsc") {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl SchemaRegistry for LocalSchemaFolder {
    fn latest(&self, name: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        if !valid_name(name) {
            return Ok(None);
        }
        let path = self.dir.join(format!("{name}.avsc"));
        match fs::read_to_string(&path) {
            Ok(text) => {
                let mut schema = Self::registered(name, text);
                schema.version_number = self.history(name)?.len() as u64 + 1;
                Ok(Some(schema))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.dir.is_dir() {
                    Ok(None)
                } else {
                    Err(registry_error(
                        format!("read {}", self.dir.display()),
                        "the schema folder does not exist",
                    ))
                }
            }
            Err(e) => Err(registry_error(format!("read {}", path.display()), e)),
        }
    }

    fn by_version_id(&self, version_id: &str) -> Result<Option<RegisteredSchema>, RegistryError> {
        for name in self.names()? {
            if let Some(schema) = self.latest(&name)?
                && schema.version_id == version_id
            {
                return Ok(Some(schema));
            }
            for (number, text) in self.history(&name)?.into_iter().enumerate() {
                if version_id_of(&text) == version_id {
                    let mut schema = Self::registered(&name, text);
                    schema.version_number = number as u64 + 1;
                    return Ok(Some(schema));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_schemas_by_name_and_by_stable_id() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("ds.avsc"),
            "{\"type\":\"record\",\"name\":\"ds\",\"fields\":[]}",
        )
        .unwrap();
        let folder = LocalSchemaFolder::new(dir.path());
        let latest = folder.latest("ds").unwrap().unwrap();
        assert_eq!(latest.version_id.len(), 36);
        assert_eq!(latest.version_id, version_id_of(&latest.definition));
        assert_eq!(
            folder.by_version_id(&latest.version_id).unwrap(),
            Some(latest)
        );
        assert_eq!(folder.latest("nope").unwrap(), None);
        assert_eq!(folder.latest("../etc").unwrap(), None);
        assert!(
            LocalSchemaFolder::new(dir.path().join("missing"))
                .latest("ds")
                .is_err()
        );
    }
}
