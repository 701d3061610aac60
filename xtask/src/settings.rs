//! Issue 19: every setting the Worker reads is written down. The vars its
//! config code reads (`crates/worker/src/platform/config.rs`) are exactly
//! those `wrangler.toml` `[vars]` lists (optional ones commented, with
//! their default); the secrets it reads are exactly those
//! `.dev.vars.example` lists besides the vars it overrides locally; and the
//! README's *Configuration* table names both, secrets marked `(S)`.
//!
//! Read as text (xtask is a host crate; the Worker builds for wasm only):
//! a name is read as a var when it is the string argument of the config's
//! `var(`, `opt_var(` or `num(`, and as a secret of `secret(` or `raw(`
//! (its closure over `env.secret`). Every other upper-case string literal
//! of the config must be one of those, so a new way of reading a setting
//! fails the test rather than slipping past it.

use std::collections::BTreeSet;

/// (vars, secrets) the config code reads.
fn read_by_config(config: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut vars, mut secrets) = (BTreeSet::new(), BTreeSet::new());
    for (i, _) in config.match_indices("(\"") {
        let before: String = config[..i]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let name: String = config[i + 2..].chars().take_while(|c| *c != '"').collect();
        match before.as_str() {
            "var" | "opt_var" | "num" => {
                vars.insert(name);
            }
            "secret" | "raw" => {
                secrets.insert(name);
            }
            _ => {}
        }
    }
    (vars, secrets)
}

/// Every upper-case string literal (`"NAME_X"`) of a text.
fn upper_case_literals(text: &str) -> BTreeSet<String> {
    text.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.len() > 1
                && s.starts_with(|c: char| c.is_ascii_uppercase())
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

/// `NAME` of every `NAME = …` line of `[vars]`, commented out or not.
fn wrangler_vars(toml: &str) -> BTreeSet<String> {
    let mut inside = false;
    let mut out = BTreeSet::new();
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[vars]";
            continue;
        }
        if inside {
            if let Some(name) = assigned(line.trim_start_matches('#').trim(), " =") {
                out.insert(name);
            }
        }
    }
    out
}

/// `NAME` of every `NAME=…` line, commented out or not.
fn dev_vars(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| assigned(l.trim().trim_start_matches('#').trim(), "="))
        .collect()
}

/// The upper-case name a line assigns with `op`, if it does.
fn assigned(line: &str, op: &str) -> Option<String> {
    let (name, _) = line.split_once(op)?;
    let ok = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    ok.then(|| name.to_owned())
}

/// (vars, secrets) the README's *Configuration* table names: the
/// back-quoted names of each row's first cell; `(S)` marks secrets.
fn readme_table(readme: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Configuration\n"))
        .unwrap_or_default();
    let (mut vars, mut secrets) = (BTreeSet::new(), BTreeSet::new());
    for row in section.lines().filter(|l| l.starts_with("| `")) {
        let cell = row.split('|').nth(1).unwrap_or_default();
        let side = if cell.contains("(S)") {
            &mut secrets
        } else {
            &mut vars
        };
        side.extend(cell.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    (vars, secrets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root;

    fn read(path: &str) -> String {
        std::fs::read_to_string(root().join(path)).unwrap()
    }

    #[test]
    fn every_setting_is_written_down() {
        let config = read("crates/worker/src/platform/config.rs");
        let (vars, secrets) = read_by_config(&config);
        assert!(
            vars.len() > 30 && secrets.len() >= 8,
            "{vars:?} {secrets:?}"
        );
        let known: BTreeSet<String> = vars.union(&secrets).cloned().collect();
        let unread: BTreeSet<String> = upper_case_literals(&config)
            .difference(&known)
            .cloned()
            .collect();
        assert_eq!(
            unread,
            BTreeSet::new(),
            "names the config mentions but the test cannot classify"
        );

        assert_eq!(
            wrangler_vars(&read("wrangler.toml")),
            vars,
            "wrangler.toml [vars]"
        );
        let listed: BTreeSet<String> = dev_vars(&read(".dev.vars.example"))
            .difference(&vars)
            .cloned()
            .collect();
        assert_eq!(listed, secrets, ".dev.vars.example (besides var overrides)");
        let (readme_vars, readme_secrets) = readme_table(&read("README.md"));
        assert_eq!(readme_vars, vars, "README Configuration table, vars");
        assert_eq!(
            readme_secrets, secrets,
            "README Configuration table, secrets (S)"
        );
    }

    #[test]
    fn the_readers_find_what_they_should() {
        let config = "self.num(\"A_SECS\", 1)\nself.opt_var(\"B\")\nself.var(\"C\")\n\
                      self.secret(\"D\")\nraw(\"E\")\nApiError::Misconfigured(\"C\")";
        let (vars, secrets) = read_by_config(config);
        assert_eq!(vars, ["A_SECS", "B", "C"].map(String::from).into());
        assert_eq!(secrets, ["D", "E"].map(String::from).into());
        let toml = "[vars]\nA = \"1\"\n# B = \"2\"\n# not a name\n[other]\nC = \"3\"\n";
        assert_eq!(wrangler_vars(toml), ["A", "B"].map(String::from).into());
        assert_eq!(
            dev_vars("X=1\n# Y=\n# Z: note\n"),
            ["X", "Y"].map(String::from).into()
        );
        let readme = "# T\n\n## Configuration\n\n| name | meaning |\n|---|---|\n| `A`, `B` | x `C` |\n| `D` (S) | y |\n\n## Next\n| `E` | z |\n";
        let (v, s) = readme_table(readme);
        assert_eq!(v, ["A", "B"].map(String::from).into());
        assert_eq!(s, ["D"].map(String::from).into());
    }
}
