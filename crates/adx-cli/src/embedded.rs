//! The schemas of `schemas/`, built into the binary, so that `adx demo` runs from anywhere.

/// `(dataset, schema text)` of every contract in `schemas/`.
pub const SCHEMAS: [(&str, &str); 3] = [
    (
        "ad_impressions",
        include_str!("../../../schemas/ad_impressions.avsc"),
    ),
    (
        "bid_requests",
        include_str!("../../../schemas/bid_requests.avsc"),
    ),
    (
        "click_conversions",
        include_str!("../../../schemas/click_conversions.avsc"),
    ),
];

/// Writes the embedded schemas into `dir`.
pub fn write_schemas(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for (name, text) in SCHEMAS {
        let path = dir.join(format!("{name}.avsc"));
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(())
}
