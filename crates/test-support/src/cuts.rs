//! The lengths a truncation test cuts a file to.

/// Every length `0..len` when `len <= n`; else `n` lengths (about), deterministic: the
/// first and the last `n / 4` lengths, where headers, trailers and checksums sit, and
/// `n / 2` spread evenly between them.
pub fn cuts(len: usize, n: usize) -> Vec<usize> {
    if len <= n {
        return (0..len).collect();
    }
    let edge = n / 4;
    let (head, tail) = (edge, len - edge);
    let middle = n / 2;
    let mut out: Vec<usize> = (0..head).collect();
    out.extend((0..middle).map(|i| head + (tail - head) * i / middle));
    out.extend(tail..len);
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::cuts;

    #[test]
    fn small_files_are_cut_everywhere_large_ones_densely_at_both_ends() {
        assert_eq!(cuts(5, 8), vec![0, 1, 2, 3, 4]);
        let c = cuts(10_000, 400);
        assert_eq!(c.len(), 400);
        assert_eq!(&c[..100], (0..100).collect::<Vec<_>>());
        assert_eq!(&c[300..], (9900..10_000).collect::<Vec<_>>());
        assert!(c.windows(2).all(|w| w[0] < w[1]));
        assert!(c.windows(2).all(|w| w[1] - w[0] <= 49), "evenly spread");
    }
}
