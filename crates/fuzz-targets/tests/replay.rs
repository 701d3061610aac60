//! Replays every committed seed and regression input of `fuzz/` through the
//! target bodies, so `cargo xtask test` checks the targets' properties on
//! known inputs without running a fuzzer (which `cargo xtask fuzz` does),
//! and checks that `fuzz/` and [`fuzz_targets::TARGETS`] name the same
//! targets.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Every file under `dir`, following symbolic links (the wire targets'
/// seeds link to the gateway document's sample files); none if it is absent.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries {
        let path = e.expect("readable directory").path();
        if std::fs::metadata(&path).expect("readable entry").is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn fuzz_crate_declares_every_target_with_a_dictionary_and_seeds() {
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let declared = manifest.matches("[[bin]]").count();
    assert_eq!(
        declared,
        TARGETS.len(),
        "fuzz/Cargo.toml and TARGETS differ"
    );
    for t in TARGETS {
        assert!(
            manifest.contains(&format!("name = \"{}\"", t.name)),
            "{} not in fuzz/Cargo.toml",
            t.name
        );
        let main = std::fs::read_to_string(fuzz_dir().join(format!("fuzz_targets/{}.rs", t.name)))
            .unwrap_or_else(|e| panic!("fuzz_targets/{}.rs: {e}", t.name));
        let (family, what) = t.name.split_once('_').expect("<family>_<what>");
        assert!(
            main.contains(&format!("fuzz_targets::{family}::{what}(")),
            "{} calls another body",
            t.name
        );
        assert!(
            fuzz_dir().join(format!("dict/{family}.dict")).is_file(),
            "no dict/{family}.dict"
        );
        assert!(
            !files(&fuzz_dir().join("seeds").join(t.name)).is_empty(),
            "{} has no seeds",
            t.name
        );
    }
}

#[test]
fn seeds_and_regressions_keep_every_property() {
    let mut failed = Vec::new();
    let mut replayed = 0;
    for t in TARGETS {
        for dir in ["seeds", "regressions"] {
            for file in files(&fuzz_dir().join(dir).join(t.name)) {
                let data = std::fs::read(&file).expect("readable input");
                if catch_unwind(AssertUnwindSafe(|| (t.run)(&data))).is_err() {
                    failed.push(format!("{} {}", t.name, file.display()));
                }
                replayed += 1;
            }
        }
    }
    eprintln!(
        "replayed {replayed} inputs through {} targets",
        TARGETS.len()
    );
    assert!(
        failed.is_empty(),
        "inputs that break a property:\n{}",
        failed.join("\n")
    );
}
