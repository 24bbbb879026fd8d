//! The layers of `src/`, as ARCHITECTURE.md states them: no layer imports one below it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

trials!(no_layer_imports_one_below_it);

/// Each layer (a folder of `src/`) and the layers it may import besides itself.
const MAY_IMPORT: [(&str, &[&str]); 8] = [
    ("domain", &[]),
    ("config", &["domain"]),
    ("store", &["domain"]),
    ("casework", &["domain", "config", "store"]),
    ("mail", &["domain", "config"]),
    (
        "service",
        &["domain", "config", "store", "casework", "mail"],
    ),
    (
        "web",
        &["domain", "config", "store", "casework", "mail", "service"],
    ),
    (
        "cli",
        &[
            "domain", "config", "store", "casework", "mail", "service", "web",
        ],
    ),
];

fn rust_files(folder: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The top-level modules a file names as `crate::X`.
fn crate_modules(text: &str) -> BTreeSet<String> {
    text.match_indices("crate::")
        .map(|(at, _)| {
            text[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|module| !module.is_empty())
        .collect()
}

fn no_layer_imports_one_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers: Vec<&str> = MAY_IMPORT.iter().map(|(layer, _)| *layer).collect();
    let mut wrong = Vec::new();
    for (layer, allowed) in MAY_IMPORT {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "no files in src/{layer}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for module in crate_modules(&text) {
                if module != layer
                    && layers.contains(&module.as_str())
                    && !allowed.contains(&module.as_str())
                {
                    wrong.push(format!("{} uses crate::{module}", file.display()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}
