//! The CLI: stdin/stdout, exit codes, summary and JSON report.

use std::io::Write;
use std::process::{Command, Stdio};

use bytes::Bytes;

use crate::harness::parquet::dump;
use crate::harness::{bin, dir_entries, repo};

#[test]
fn stdin_to_stdout_round_trip() {
    let mut child = Command::new(bin())
        .args(["convert", "-", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a,b\n1,x\n2,y\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        dump(Bytes::from(out.stdout)),
        "a: Int64\nb: Utf8\n--\n1 | \"x\"\n2 | \"y\"\n"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(report["rows"], 2);
    assert!(report["peak_rss_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn exit_codes_classify_failures() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.parquet");
    let bad = repo().join("fixtures/cases/ragged.csv");
    let s = Command::new(bin())
        .arg("convert")
        .arg(&bad)
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(s.status.code(), Some(65), "bad input");
    let s = Command::new(bin())
        .arg("convert")
        .arg(dir.path().join("missing.csv"))
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(s.status.code(), Some(74), "I/O");
    let s = Command::new(bin())
        .args(["convert", "-", "-", "--compression", "brotli"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(s.status.code(), Some(2), "config");
    assert!(String::from_utf8_lossy(&s.stderr).contains("--compression"));
    assert!(dir_entries(dir.path()).is_empty());
}

#[test]
fn schema_command_prints_a_reusable_schema() {
    let dir = tempfile::tempdir().unwrap();
    let types = repo().join("fixtures/cases/types.csv");
    let s = Command::new(bin())
        .arg("schema")
        .arg(&types)
        .output()
        .unwrap();
    assert!(s.status.success());
    let schema_path = dir.path().join("schema.json");
    std::fs::write(&schema_path, &s.stdout).unwrap();
    let parsed =
        s3_csv2parquet::SchemaSpec::from_json(&String::from_utf8_lossy(&s.stdout)).unwrap();
    assert_eq!(parsed.columns.len(), 9);
    let out = dir.path().join("o.parquet");
    let s = Command::new(bin())
        .arg("convert")
        .arg(&types)
        .arg(&out)
        .arg("--schema")
        .arg(&schema_path)
        .arg("--json")
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let report: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(report["schema_source"], "explicit");
}

#[test]
fn rejects_file_beside_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "a\n1\nx\n3\n").unwrap();
    let out = dir.path().join("o.parquet");
    let s = Command::new(bin())
        .arg("convert")
        .arg(&input)
        .arg(&out)
        .args(["--on-error", "reject", "--infer-records", "1"])
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    let summary = String::from_utf8_lossy(&s.stderr);
    assert!(summary.contains("2 rows, 1 rejected"), "{summary}");
    let rejects = std::fs::read_to_string(dir.path().join("o.parquet.rejects.csv")).unwrap();
    assert_eq!(
        rejects,
        "line,byte,reason,record\n3,4,\"cannot parse as Int64\",\"x\"\n"
    );
}

/// A value after the sample that the inferred type cannot hold fails under the default policy,
/// and the CLI says what to do about it; a type the schema gave gets no such hint.
#[test]
fn a_late_value_the_inferred_type_cannot_hold_comes_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(
        &input,
        "a,t\n1,2024-01-01 00:00:01\n2,2024-01-01 00:00:02.123456\n",
    )
    .unwrap();
    let out = dir.path().join("o.parquet");
    let run = |extra: &[&str]| {
        Command::new(bin())
            .arg("convert")
            .arg(&input)
            .arg(&out)
            .args(["--infer-records", "1"])
            .args(extra)
            .output()
            .unwrap()
    };
    let s = run(&[]);
    assert_eq!(s.status.code(), Some(65));
    let stderr = String::from_utf8_lossy(&s.stderr);
    assert!(
        stderr.contains(
            "column 2 (\"t\"): cannot parse as Timestamp(ms): \"2024-01-01 00:00:02.123456\"\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("csv2parquet: hint: the type of \"t\" was inferred from a sample of the input; `--on-error widen`"),
        "{stderr}"
    );
    assert!(!out.exists());
    let s = run(&["--on-error", "widen"]);
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    // The same value against a type the schema gave: an error, and no hint.
    let schema = dir.path().join("schema.json");
    std::fs::write(
        &schema,
        r#"[{"name":"a","type":"int64"},{"name":"t","type":"timestamp","unit":"ms"}]"#,
    )
    .unwrap();
    std::fs::remove_file(&out).unwrap();
    let s = run(&["--schema", schema.to_str().unwrap()]);
    assert_eq!(s.status.code(), Some(65));
    let stderr = String::from_utf8_lossy(&s.stderr);
    assert!(stderr.contains("cannot parse as Timestamp(ms)"), "{stderr}");
    assert!(!stderr.contains("hint"), "{stderr}");
}

/// An OUTPUT that is a FIFO (as `/dev/null` is a device) is written in place: the pipe stays a
/// pipe and gets the Parquet bytes, and no temporary file is left beside it. `widen`, which
/// would need to take bytes back, is refused for it.
#[test]
fn a_fifo_output_is_written_in_place() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.parquet");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "a,b\n1,x\n2,y\n").unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let s = Command::new(bin())
        .arg("convert")
        .arg(&input)
        .arg(&fifo)
        .output()
        .unwrap();
    assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
    // Checked before joining: had the FIFO been replaced, the reader would wait forever.
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    let bytes = reader.join().unwrap();
    assert_eq!(
        dump(Bytes::from(bytes)),
        "a: Int64\nb: Utf8\n--\n1 | \"x\"\n2 | \"y\"\n"
    );
    assert_eq!(
        dir_entries(dir.path()).len(),
        2,
        "{:?}",
        dir_entries(dir.path())
    );

    let s = Command::new(bin())
        .arg("convert")
        .arg(&input)
        .arg(&fifo)
        .args(["--on-error", "widen"])
        .output()
        .unwrap();
    assert_eq!(s.status.code(), Some(2), "config");
    assert!(
        String::from_utf8_lossy(&s.stderr).contains("a device or FIFO"),
        "{}",
        String::from_utf8_lossy(&s.stderr)
    );
}

/// A temp dir held in memory (tmpfs) is not spilled to by default: the report has no spill and
/// a warning that says why; named with `--spill-dir`, it is used.
#[cfg(target_os = "linux")]
#[test]
fn a_tmpfs_temp_dir_is_not_spilled_to_unless_named() {
    let shm = std::path::Path::new("/dev/shm");
    if !shm.is_dir() {
        eprintln!("no /dev/shm: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    let mut csv = String::from("id,name\n");
    for i in 0..5_000 {
        csv.push_str(&format!("{i},n{}\n", i % 77));
    }
    std::fs::write(&input, csv).unwrap();
    let convert = |extra: &[&str]| {
        let s = Command::new(bin())
            .env("TMPDIR", shm)
            .arg("convert")
            .arg(&input)
            .arg(dir.path().join("o.parquet"))
            .arg("--json")
            .args(extra)
            .output()
            .unwrap();
        assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
        let report: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
        assert_eq!(report["rows"], 5_000);
        report
    };
    let default = convert(&[]);
    assert!(default["spill"].is_null(), "{default}");
    let warnings = default["warnings"].to_string();
    assert!(warnings.contains("is in memory (tmpfs)"), "{warnings}");
    let named = convert(&["--spill-dir", "/dev/shm"]);
    assert_eq!(named["spill"]["dir"], "/dev/shm");
    assert!(!named["warnings"].to_string().contains("tmpfs"));
}

/// A narrow file's row groups smaller than the held bytes never touch the spill directory:
/// their pages are held on the heap (the report says how many bytes), and the file reads back
/// the same as with spilling off.
#[test]
fn small_row_groups_are_held_not_spilled() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("narrow.csv");
    let mut csv = String::from("id,name,amount\n");
    for r in 0..30_000u64 {
        let x = r.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 44;
        csv.push_str(&format!("{r},n{},{}.{:02}\n", x % 5_000, x % 997, r % 100));
    }
    std::fs::write(&input, csv).unwrap();
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let convert = |out: &str, args: &[&str]| {
        let out = dir.path().join(out);
        let s = Command::new(bin())
            .arg("convert")
            .arg(&input)
            .arg(&out)
            .args(["--json", "--row-group-rows", "10000"])
            .args(args)
            .output()
            .unwrap();
        assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
        let report: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
        (report, std::fs::read(out).unwrap())
    };
    let spill_dir = spill.display().to_string();
    let (held, held_bytes) = convert("held.parquet", &["--spill-dir", &spill_dir]);
    assert_eq!(held["row_groups"], 3);
    assert_eq!(held["spill"]["dir"], spill_dir);
    assert_eq!(held["spill"]["total_bytes"], 0, "{held}");
    assert!(
        held["spill"]["held_peak_bytes"].as_u64().unwrap() > 0,
        "{held}"
    );
    assert_eq!(dir_entries(&spill), Vec::<String>::new());
    let (off, off_bytes) = convert("off.parquet", &["--max-spill", "0"]);
    assert!(off["spill"].is_null());
    assert!(held_bytes == off_bytes, "holding pages changed the file");
}

/// A wide file's row groups are spilled to `--spill-dir`: the report says how much, nothing is
/// left there, and the row groups are larger than the memory budget makes them. A directory
/// where no file can be made keeps them in memory, with a warning.
#[test]
fn spill_dir_holds_the_open_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("wide.csv");
    std::fs::write(&input, wide_integers(400, 12_000)).unwrap();
    let spill = dir.path().join("spill");
    std::fs::create_dir(&spill).unwrap();
    let convert = |spill_dir: &std::path::Path| {
        let out = dir.path().join("o.parquet");
        let s = Command::new(bin())
            .arg("convert")
            .arg(&input)
            .arg(&out)
            .args(["--memory-limit", "128MiB", "--json", "--spill-dir"])
            .arg(spill_dir)
            .output()
            .unwrap();
        assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
        let report: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
        assert_eq!(report["rows"], 12_000);
        report
    };
    let spilled = convert(&spill);
    assert_eq!(spilled["spill"]["dir"], spill.display().to_string());
    let peak = spilled["spill"]["peak_bytes"].as_u64().unwrap();
    assert!(peak > 0 && peak <= spilled["spill"]["total_bytes"].as_u64().unwrap());
    assert_eq!(dir_entries(&spill), Vec::<String>::new());

    let in_memory = convert(&dir.path().join("missing"));
    assert!(in_memory["spill"].is_null());
    let groups = |r: &serde_json::Value| r["row_groups"].as_u64().unwrap();
    let (fewer, more) = (groups(&spilled), groups(&in_memory));
    assert!(fewer < more, "{fewer} row groups spilled, {more} in memory");
    let warnings = in_memory["warnings"].to_string();
    assert!(warnings.contains("no spill file in"), "{warnings}");
}

/// `columns` columns of `rows` pseudo-random integers (neither delta nor dictionary encoding
/// makes them small), with a header `c0,c1,...`.
fn wide_integers(columns: usize, rows: usize) -> String {
    let mut csv = (0..columns)
        .map(|c| format!("c{c}"))
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    for r in 0..rows {
        let row: Vec<String> = (0..columns)
            .map(|c| {
                let x = ((r * columns + c) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                format!("{}", (x >> 40) % 100_003)
            })
            .collect();
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    csv
}

/// More memory never cuts a wide file into more row groups: the arrays a column-wise encoder
/// holds beside its spill file are capped by the spill room. Before, the cut's margin (twice
/// the held arrays) grew with the limit: here 15 row groups at 128 MiB and 48 at 1 GiB, now 2.
#[test]
fn a_larger_memory_limit_keeps_the_spilled_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("wide.csv");
    std::fs::write(&input, wide_integers(400, 12_000)).unwrap();
    let groups = |limit: &str| {
        let s = Command::new(bin())
            .arg("convert")
            .arg(&input)
            .arg(dir.path().join(format!("{limit}.parquet")))
            .args(["--memory-limit", limit, "--max-spill", "24MiB"])
            .args(["--chunk-bytes", "64KiB", "--json", "--spill-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(s.status.success(), "{}", String::from_utf8_lossy(&s.stderr));
        let report: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
        assert_eq!(report["rows"], 12_000);
        report["row_groups"].as_u64().unwrap()
    };
    let small = groups("128MiB");
    assert!(small <= 3, "{small} row groups at 128 MiB");
    assert_eq!(groups("1GiB"), small);
}
