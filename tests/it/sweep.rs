//! Chunk-boundary sweep: the same bytes, delivered in pieces of 1, 2, 3, 7, ... bytes and cut
//! into chunks of 1 byte up to 1 MiB, must give identical output.

use s3_csv2parquet::gen::{generate_vec, Shape};
use s3_csv2parquet::ConvertOptions;

use crate::harness::{convert_mem_pieces, dump};

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
