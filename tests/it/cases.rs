//! Every file in fixtures/cases converted by the CLI and compared with its expected text:
//! `NAME.expected` (the dump of the Parquet output) or `NAME.error` (exit code on the first
//! line, then substrings the error message must contain). `NAME.args` holds extra CLI
//! arguments, one per line. Run with UPDATE_EXPECTED=1 to (re)write the expectations, then
//! review them by hand.

use std::path::Path;
use std::process::Command;

use bytes::Bytes;

use crate::harness::parquet::dump;
use crate::harness::{bin, dir_entries, repo};

fn run_case(csv: &Path, update: bool) -> Result<(), String> {
    let stem = csv.file_name().unwrap().to_string_lossy().into_owned();
    let base = csv.with_file_name(
        stem.rsplit_once('.')
            .map_or(stem.clone(), |(s, _)| s.to_string()),
    );
    let args: Vec<String> = std::fs::read_to_string(base.with_extension("args"))
        .map(|t| t.lines().map(str::to_string).collect())
        .unwrap_or_default();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let output = Command::new(bin())
        .arg("convert")
        .arg(csv)
        .arg(&out)
        .arg("--quiet")
        .args(&args)
        .output()
        .unwrap();
    // Messages name the input by path; compare without the checkout's location.
    let prefix = format!("{}/", csv.parent().unwrap().display());
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&prefix, "");
    let expected_path = base.with_extension("expected");
    let error_path = base.with_extension("error");
    if output.status.success() {
        let text = dump(Bytes::from(std::fs::read(&out).unwrap()));
        if update {
            std::fs::write(&expected_path, &text).unwrap();
            let _ = std::fs::remove_file(&error_path);
            return Ok(());
        }
        let want = std::fs::read_to_string(&expected_path)
            .map_err(|_| format!("{stem}: converted but has no .expected file:\n{text}"))?;
        if want != text {
            return Err(format!(
                "{stem}: output differs\n--- want\n{want}\n--- got\n{text}"
            ));
        }
        Ok(())
    } else {
        let code = output.status.code().unwrap_or(-1);
        let leftovers: Vec<String> = dir_entries(dir.path());
        if !leftovers.is_empty() {
            return Err(format!(
                "{stem}: failed run left files behind: {leftovers:?}"
            ));
        }
        if update {
            std::fs::write(&error_path, format!("{code}\n{}", stderr.trim())).unwrap();
            let _ = std::fs::remove_file(&expected_path);
            return Ok(());
        }
        let want = std::fs::read_to_string(&error_path)
            .map_err(|_| format!("{stem}: failed ({code}) but has no .error file: {stderr}"))?;
        let mut lines = want.lines();
        let want_code: i32 = lines.next().unwrap_or("").trim().parse().unwrap_or(-2);
        if want_code != code {
            return Err(format!(
                "{stem}: exit code {code}, want {want_code}: {stderr}"
            ));
        }
        for needle in lines {
            if !stderr.contains(needle) {
                return Err(format!("{stem}: error message lacks {needle:?}: {stderr}"));
            }
        }
        Ok(())
    }
}

#[test]
fn fixture_cases() {
    let update = std::env::var_os("UPDATE_EXPECTED").is_some();
    let dir = repo().join("fixtures/cases");
    let mut failures = Vec::new();
    let mut count = 0;
    for name in dir_entries(&dir) {
        if !(name.ends_with(".csv") || name.ends_with(".tsv")) {
            continue;
        }
        count += 1;
        if let Err(e) = run_case(&dir.join(&name), update) {
            failures.push(e);
        }
    }
    assert!(count >= 20, "only {count} fixtures found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
