//! Time series in equal buckets, from quantities that hold over intervals (accelerators busy,
//! jobs queued, dollars an hour): what the report charts draw.

/// Equal buckets of `step` from `x0`, each holding the integral of what was added over it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Buckets {
    pub(crate) x0: f64,
    pub(crate) step: f64,
    pub(crate) values: Vec<f64>,
}

impl Buckets {
    /// `n` buckets covering `[x0, x1)` (at least one, of a positive width).
    pub(crate) fn over(x0: f64, x1: f64, n: usize) -> Buckets {
        let n = n.max(1);
        let step = ((x1 - x0) / n as f64).max(f64::MIN_POSITIVE);
        Buckets {
            x0,
            step,
            values: vec![0.0; n],
        }
    }

    /// Adds `rate` per unit of x over `[from, to)`: each bucket gains `rate` times its overlap.
    pub(crate) fn add(&mut self, from: f64, to: f64, rate: f64) {
        if to <= from || to.is_nan() || from.is_nan() || rate == 0.0 {
            return;
        }
        let n = self.values.len();
        let first = (((from - self.x0) / self.step).floor().max(0.0) as usize).min(n);
        for (b, slot) in self.values.iter_mut().enumerate().skip(first) {
            let (b0, b1) = (
                self.x0 + b as f64 * self.step,
                self.x0 + (b + 1) as f64 * self.step,
            );
            if b0 >= to {
                break;
            }
            let overlap = to.min(b1) - from.max(b0);
            if overlap > 0.0 {
                *slot += rate * overlap;
            }
        }
    }

    /// Each bucket's average rate (the integral over its width).
    pub(crate) fn averages(&self) -> Vec<f64> {
        self.values.iter().map(|v| v / self.step).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_spread_over_the_buckets_they_overlap() {
        let mut b = Buckets::over(0.0, 10.0, 5);
        b.add(1.0, 5.0, 2.0);
        b.add(-3.0, 0.5, 1.0);
        b.add(9.0, 20.0, 1.0);
        assert_eq!(b.values, vec![2.5, 4.0, 2.0, 0.0, 1.0]);
        assert_eq!(b.averages(), vec![1.25, 2.0, 1.0, 0.0, 0.5]);
        // Nothing for empty intervals.
        b.add(3.0, 3.0, 7.0);
        assert_eq!(b.values.iter().sum::<f64>(), 9.5);
    }
}
