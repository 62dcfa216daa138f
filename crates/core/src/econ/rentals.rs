//! What a pool rented by blocks (VMs of several accelerators) pays for: each block is rented
//! while any attempt holds one of its accelerators. The simulator's books bill scenarios'
//! VM pools so, and the service reports its pools rented by VMs so (`/v1/usage`).

/// The rented spans `(from_ms, to_ms, block)` of a pool cut into blocks of `block`
/// accelerators (accelerator `a` is in block `a / block`), from its attempts
/// `(from_ms, to_ms, accelerators)`: per block, the union of the times of the attempts that
/// hold any of its accelerators (spans that overlap or touch merge; an attempt of no time
/// rents nothing). Ordered by block, then time.
pub fn block_rentals<'a>(
    attempts: impl IntoIterator<Item = (i64, i64, &'a [u32])>,
    block: u32,
) -> Vec<(i64, i64, u32)> {
    let block = block.max(1);
    let mut spans: Vec<(u32, i64, i64)> = Vec::new();
    for (from, to, accelerators) in attempts {
        if to <= from {
            continue;
        }
        let first = spans.len();
        spans.extend(accelerators.iter().map(|a| (a / block, from, to)));
        spans[first..].sort_unstable();
        let mut k = first;
        for i in first..spans.len() {
            if i == first || spans[i].0 != spans[k - 1].0 {
                spans[k] = spans[i];
                k += 1;
            }
        }
        spans.truncate(k);
    }
    spans.sort_unstable();
    let mut out: Vec<(i64, i64, u32)> = Vec::new();
    for (b, from, to) in spans {
        match out.last_mut() {
            Some((_, end, last)) if *last == b && from <= *end => *end = (*end).max(to),
            _ => out.push((from, to, b)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_rented_while_any_attempt_holds_one_of_its_accelerators() {
        let attempts: [(i64, i64, &[u32]); 5] = [
            (0, 6, &[0, 1]),
            (4, 10, &[2]),
            (5, 12, &[8, 9]),
            (20, 30, &[3]),
            // An attempt of no time rents nothing; one over two blocks rents both.
            (40, 40, &[0]),
        ];
        assert_eq!(
            block_rentals(attempts, 8),
            [(0, 10, 0), (20, 30, 0), (5, 12, 1)]
        );
        assert_eq!(
            block_rentals([(0, 5, &[7u32, 8][..]), (5, 9, &[7][..])], 8),
            [(0, 9, 0), (0, 5, 1)],
            "spans that touch merge"
        );
        assert_eq!(
            block_rentals([(0, 5, &[0u32, 1][..])], 1),
            [(0, 5, 0), (0, 5, 1)]
        );
        assert!(block_rentals([], 8).is_empty());
    }
}
