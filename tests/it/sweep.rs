//! Chunk-boundary sweep: the same bytes, delivered in pieces of 1, 2, 3, 7, ... bytes and cut
//! into chunks of 1 byte up to 1 MiB, must give identical output.

use s3_csv2parquet::testkit::{generate_vec, Shape};
use s3_csv2parquet::ConvertOptions;

use crate::harness::convert_mem_pieces;
use crate::harness::parquet::dump;

/// Tricky input: BOM, CRLF, CR, quoted CRLF, doubled quotes, unicode, blank lines, nulls.
const TRICKY: &[u8] = b"\xef\xbb\xbfid,text,when,amount\r\n1,\"a\r\nb\",2024-01-01 00:00:00,1.5\r\n2,\"say \"\"x\"\"\",2024-01-02T01:02:03.25Z,\r\n\r\n3,caf\xc3\xa9 \xe6\x9d\xb1,,-2\r4,\"\",2024-01-03 00:00:00,3\n5,\"x,\ny\",2024-01-04 00:00:00,4";

async fn sweep(input: &[u8], pieces: &[usize], chunks: &[usize]) {
    let base = ConvertOptions {
        workers: 2,
        ..ConvertOptions::default()
    };
    let (out, result) = convert_mem_pieces(input.to_vec(), &base, 1 << 20).await;
    result.unwrap();
    let want = dump(out.unwrap());
    for &piece in pieces {
        for &chunk in chunks {
            let opts = ConvertOptions {
                chunk_bytes: Some(chunk),
                block_bytes: Some(chunk.clamp(1, 64 * 1024)),
                ..base.clone()
            };
            let (out, result) = convert_mem_pieces(input.to_vec(), &opts, piece).await;
            result.unwrap_or_else(|e| panic!("piece {piece} chunk {chunk}: {e}"));
            assert_eq!(dump(out.unwrap()), want, "piece {piece} chunk {chunk}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tricky_input_is_chunking_invariant() {
    sweep(
        TRICKY,
        &[1, 2, 3, 7, 13, 64, 4096],
        &[1, 2, 3, 7, 16, 100, 1 << 20],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_text_is_chunking_invariant() {
    let data = generate_vec(Shape::Text, 1 << 20, 42);
    sweep(&data, &[1, 3, 4096, 1 << 20], &[7, 1000, 65_536, 1 << 20]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_taxi_is_chunking_invariant() {
    let data = generate_vec(Shape::Taxi, 1 << 20, 7);
    sweep(&data, &[7, 65_536], &[13, 4096, 1 << 20]).await;
}

/// The chunk size is fitted to the schema sample's record length only when `chunk_bytes` is not
/// set, and the fitted budget is the one the report gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_are_fitted_to_the_records_unless_set() {
    let derived = ConvertOptions::default().validate().unwrap();
    let fitted = |csv: Vec<u8>, chunk_bytes: Option<usize>| async move {
        let opts = ConvertOptions {
            chunk_bytes,
            ..ConvertOptions::default()
        };
        let (out, result) = convert_mem_pieces(csv, &opts, 1 << 20).await;
        assert!(out.is_some(), "output published");
        result.unwrap().budget
    };

    // Taxi records are ~110 bytes: 4096 of them make chunks well under the derived 4 MiB, with
    // more of them in flight and the row-group lag counted in more parts.
    let taxi = generate_vec(Shape::Taxi, 2 << 20, 3);
    let b = fitted(taxi.clone(), None).await;
    assert!(
        b.chunk_bytes >= 256 * 1024 && b.chunk_bytes < derived.chunk_bytes / 4,
        "taxi chunk {} bytes",
        b.chunk_bytes
    );
    assert!(b.chunks_in_flight > derived.chunks_in_flight, "{b:?}");
    assert!(b.cut_lag_parts > derived.cut_lag_parts, "{b:?}");
    // Half the derived window's bytes, within one chunk.
    let window = b.chunks_in_flight * b.chunk_bytes;
    let half = derived.chunks_in_flight * derived.chunk_bytes / 2;
    assert!(window <= half && window + b.chunk_bytes > half, "{b:?}");

    // Set explicitly: kept, and nothing else is fitted.
    let b = fitted(taxi, Some(1 << 20)).await;
    assert_eq!(
        (b.chunk_bytes, b.chunks_in_flight, b.cut_lag_parts),
        (1 << 20, derived.chunks_in_flight, derived.cut_lag_parts)
    );

    // Records of ~2 KB: 4096 of them exceed the derived size, which is kept.
    let mut wide = (0..300)
        .map(|c| format!("c{c}"))
        .collect::<Vec<_>>()
        .join(",");
    wide.push('\n');
    for r in 0..500 {
        let row: Vec<String> = (0..300)
            .map(|c| format!("{:05}", (r * 7 + c) % 99_999))
            .collect();
        wide.push_str(&row.join(","));
        wide.push('\n');
    }
    let b = fitted(wide.into_bytes(), None).await;
    assert_eq!(
        (b.chunk_bytes, b.chunks_in_flight, b.cut_lag_parts),
        (
            derived.chunk_bytes,
            derived.chunks_in_flight,
            derived.cut_lag_parts
        )
    );
}
