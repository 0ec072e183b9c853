//! The half-precision link copy of the in-memory build: every vector again as float16 offsets from
//! the vectors' mean, which linking reads instead of the float4 vectors.
//!
//! Why: linking is bound by memory, not arithmetic. An insert's search and the re-pruning of its
//! neighbours' lists read vectors scattered over a store far larger than the CPU caches (1.5 GB at
//! 1M × 384); the kernels spend most of their time waiting for them. The copy halves those bytes.
//! What it changes: the distances linking decides by — the searches', the heuristic's, the ones
//! recorded with the links — are those between the reconstructed vectors `mean + half` (computed in
//! float4, [`crate::distance::half_distance`]). Reading the float4 vectors for some of them costs
//! more than it saves (measured: checking each insert's candidates exactly made the build slower
//! than no copy, since the heuristic then reads float4 vectors nothing had brought into cache). The
//! index's pages hold the float4 vectors, and queries never read the copy.
//!
//! Precision: the mean is subtracted first, so a common offset (all values near 1,000, say) does not
//! use up the 11 significant bits of a half; what is left is relative error 2⁻¹¹ per value of the
//! offsets, far below the gaps between neighbours of real embeddings — but not of every data set
//! (tight clusters far from the mean). So the copy watches itself: one insert in [`CHECK_EVERY`]
//! compares the distances its search found with the exact ones, and when the largest error is not
//! small against the spread of those distances in more than one checked insert in
//! [`TOLERATED_ONE_IN`], the copy is switched off for the rest of the build (inserts that start
//! later read the float4 vectors — with the vectors set aside, linking pauses instead; one under
//! way finishes on the copy). The distances recorded with
//! the lists written so far came from the copy: the store marks each such list ([`CopyMarks`]), and
//! an insert that reads the float4 vectors replaces a marked list's distances with exact ones before
//! it uses them, reorders the list and forgets its decisions (so re-pruning runs the plain heuristic
//! on it once); the marks outlive the copy. An offset beyond the half range means no copy at all.
//!
//! When the build sets the float4 vectors aside ([`super::aside`]), the copy keeps a [`Bound`] per
//! vector and its check judges a bound of each distance's error instead of the error itself.

use crate::distance::{half_distance, half_pair_distance, Metric};
use half::f16;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// One insert in this many is checked (the exact distances read the float4 vectors: more memory
/// traffic, which the copy is there to save).
const CHECK_EVERY: u32 = 16;
/// Inserts checked before the copy may be judged.
const JUDGE_AFTER: u32 = 64;
/// The copy is switched off when more than one checked insert in this many had a large error.
const TOLERATED_ONE_IN: u32 = 64;
/// Fewest found candidates an insert's check needs.
const JUDGED_FROM: usize = 8;
/// An insert's error is large when it exceeds this fraction of the spread of its found distances.
const ERROR_SHARE: f32 = 1.0 / 16.0;

/// Rows between two calls of a long pass's `tick` (the caller's interrupt check): at 384
/// dimensions a few milliseconds of work.
pub const TICK_ROWS: usize = 4096;

/// Float16 offsets of every stored vector from their float4 mean.
pub(super) struct HalfCopy {
    dims: usize,
    center: Vec<f32>,
    values: Vec<f16>,
    /// Per vector, only when the float4 vectors were set aside (`bounded`): see [`Bound`].
    bounds: Vec<Bound>,
    bounded: bool,
    metric: Metric,
    /// False once the copy was judged too coarse; searches then read the float4 vectors (once
    /// they are back, when set aside).
    on: AtomicBool,
    /// Inserts seen ([`HalfCopy::due`]), checked, and checked with a large error.
    inserts: AtomicU32,
    checked: AtomicU32,
    large: AtomicU32,
}

impl HalfCopy {
    /// Whether `metric` has half-precision kernels (L2, inner product; cosine indexes store unit
    /// vectors and search by inner product).
    pub(super) fn supports(metric: Metric) -> bool {
        matches!(metric, Metric::L2 | Metric::InnerProduct)
    }

    /// Bytes the copy of `elements` vectors of `dims` values takes.
    pub(super) fn bytes_for(elements: usize, dims: usize) -> usize {
        elements.saturating_mul(dims * 2) + dims * 4
    }

    /// The copy of `vectors` (`dims` values each), or `Ok(None)` when an offset from the mean is
    /// beyond the half range (or the metric has no half kernels). Memory is reserved fallibly.
    /// `tick` is called every [`TICK_ROWS`] rows of each pass (the caller's interrupt check).
    pub(super) fn of(
        vectors: &[f32],
        dims: usize,
        metric: Metric,
        tick: &mut dyn FnMut(),
    ) -> Result<Option<HalfCopy>, std::collections::TryReserveError> {
        let Some(center) = Self::center_of(vectors, dims, metric, tick) else {
            return Ok(None);
        };
        let mut copy = HalfCopy::empty(center, metric);
        copy.values.try_reserve_exact(vectors.len())?;
        for (i, row) in vectors.chunks_exact(dims).enumerate() {
            if i % TICK_ROWS == TICK_ROWS - 1 {
                tick();
            }
            if !copy.push(row) {
                return Ok(None);
            }
        }
        Ok(Some(copy))
    }

    /// The mean of `vectors` (`dims` values each), which the copy stores offsets from; `None`
    /// when there is nothing to copy or the metric has no half kernels.
    pub(super) fn center_of(
        vectors: &[f32],
        dims: usize,
        metric: Metric,
        tick: &mut dyn FnMut(),
    ) -> Option<Vec<f32>> {
        if dims == 0 || !Self::supports(metric) || vectors.len() < dims {
            return None;
        }
        let mut mean = Mean::new(dims);
        for (i, row) in vectors.chunks_exact(dims).enumerate() {
            if i % TICK_ROWS == TICK_ROWS - 1 {
                tick();
            }
            mean.add(row);
        }
        Some(mean.finish())
    }

    /// Whether every offset of `v` from `center` fits a half.
    pub(super) fn fits(center: &[f32], v: &[f32]) -> bool {
        offsets(center, v).all(|h| h.is_finite())
    }

    /// Whether every offset of `v` from this copy's center fits a half.
    pub(super) fn fits_row(&self, v: &[f32]) -> bool {
        Self::fits(&self.center, v)
    }

    /// An empty copy around `center` (vectors are pushed next).
    pub(super) fn empty(center: Vec<f32>, metric: Metric) -> HalfCopy {
        HalfCopy {
            dims: center.len(),
            center,
            values: Vec::new(),
            bounds: Vec::new(),
            bounded: false,
            metric,
            on: AtomicBool::new(true),
            inserts: AtomicU32::new(0),
            checked: AtomicU32::new(0),
            large: AtomicU32::new(0),
        }
    }

    /// Reserves room for `rows` vectors with their [`Bound`]s, fallibly: a copy whose float4
    /// vectors are set aside (see [`HalfCopy::push_bounded`]).
    pub(super) fn reserve_bounded(
        &mut self,
        rows: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        self.bounded = true;
        self.values
            .try_reserve_exact(rows.saturating_mul(self.dims))?;
        self.bounds.try_reserve_exact(rows)
    }

    /// Bytes a copy of `rows` vectors of `dims` values takes with its [`Bound`]s.
    pub(super) fn bounded_bytes_for(rows: usize, dims: usize) -> usize {
        Self::bytes_for(rows, dims)
            .saturating_add(rows.saturating_mul(std::mem::size_of::<Bound>()))
    }

    /// Adds `v`'s offsets (which must fit, [`HalfCopy::fits`]) and its [`Bound`]: for a copy
    /// that stands in for float4 vectors no longer in memory, whose check then bounds the error of
    /// each distance instead of measuring it.
    pub(super) fn push_bounded(&mut self, v: &[f32]) {
        let fits = self.push(v);
        debug_assert!(fits, "offsets checked before the vectors were set aside");
        let id = (self.values.len() / self.dims - 1) as u32;
        let bound = self.bound_of(id, v);
        self.bounds.push(bound);
    }

    /// The [`Bound`] of vector `id`, whose float4 values are `v`.
    fn bound_of(&self, id: u32, v: &[f32]) -> Bound {
        let (mut error, mut norm) = (0.0f64, 0.0f64);
        for ((&x, &c), h) in v.iter().zip(&self.center).zip(self.half(id)) {
            // What the kernels stand for: `center + half`, formed in float4.
            let r = c + h.to_f32();
            error += (f64::from(x) - f64::from(r)).powi(2);
            norm += f64::from(r).powi(2);
        }
        // Rounded up, so the bound stays a bound.
        let up = |x: f64| (x.sqrt() * (1.0 + 1e-6)) as f32;
        Bound {
            error: up(error),
            norm: up(norm),
        }
    }

    /// An upper bound, up to float4 rounding of the two sums, of how far the copy's distance
    /// `approx` between vectors `a` and `b` is from the exact one: the triangle inequality on the
    /// two vectors' errors (L2; the index distance is its square), Cauchy–Schwarz on them (inner
    /// product). Worst case: about √dims / 2 times the typical error. Needs [`Bound`]s.
    pub(super) fn error_bound(&self, a: u32, b: u32, approx: f32) -> f32 {
        let (a, b) = (self.bounds[a as usize], self.bounds[b as usize]);
        match self.metric {
            Metric::L2 => {
                let e = a.error + b.error;
                2.0 * approx.max(0.0).sqrt() * e + e * e
            }
            Metric::InnerProduct => a.error * (b.norm + b.error) + a.norm * b.error,
            _ => f32::INFINITY,
        }
    }

    /// Adds `v`'s offsets; false when one is beyond the half range (the copy is then unusable).
    pub(super) fn push(&mut self, v: &[f32]) -> bool {
        let before = self.values.len();
        self.values.extend(offsets(&self.center, v));
        self.values[before..].iter().all(|h| h.is_finite())
    }

    /// Whether searches use the copy (it was not switched off).
    #[inline]
    pub(super) fn on(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.values.capacity() * 2
            + self.center.capacity() * 4
            + self.bounds.capacity() * std::mem::size_of::<Bound>()
    }

    /// Reserves room for `additional` more vectors (and their bounds, where kept), fallibly.
    pub(super) fn try_reserve(
        &mut self,
        additional: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        self.values
            .try_reserve_exact(additional.saturating_mul(self.dims))?;
        if self.bounded() {
            self.bounds.try_reserve_exact(additional)?;
        }
        Ok(())
    }

    /// How many vectors fit without growing.
    pub(super) fn capacity(&self) -> usize {
        let rows = self.values.capacity() / self.dims.max(1);
        if self.bounded() {
            rows.min(self.bounds.capacity())
        } else {
            rows
        }
    }

    /// Moves a bounded copy to `center`; every vector must then be given again ([`HalfCopy::reset`]).
    pub(super) fn move_center(&mut self, center: Vec<f32>) {
        debug_assert_eq!(center.len(), self.dims);
        self.center = center;
    }

    /// Replaces vector `id`'s offsets and [`Bound`] with those of `v` (which must fit,
    /// [`HalfCopy::fits_row`]).
    pub(super) fn reset(&mut self, id: u32, v: &[f32]) {
        let start = id as usize * self.dims;
        for (h, offset) in self.values[start..start + self.dims]
            .iter_mut()
            .zip(offsets(&self.center, v))
        {
            *h = offset;
        }
        self.bounds[id as usize] = self.bound_of(id, v);
    }

    /// Whether the copy keeps a [`Bound`] per vector (its float4 vectors are set aside).
    pub(super) fn bounded(&self) -> bool {
        self.bounded
    }

    /// Drops the vectors from `len` on.
    pub(super) fn truncate(&mut self, len: usize) {
        self.values.truncate(len * self.dims);
        self.bounds.truncate(len);
    }

    /// The offsets of vector `id`.
    #[inline]
    pub(super) fn half(&self, id: u32) -> &[f16] {
        let start = id as usize * self.dims;
        &self.values[start..start + self.dims]
    }

    /// The float4 offsets of vector `id` (its halves widened) into `out`: the query an insert of
    /// `id` searches with while it reads the copy.
    pub(super) fn offsets_into(&self, id: u32, out: &mut Vec<f32>) {
        out.clear();
        out.extend(self.half(id).iter().map(|h| h.to_f32()));
    }

    /// Distance from the query with float4 `offsets` to vector `id` as the copy has it; for the
    /// offsets of vector `a`, bit for bit [`HalfCopy::distance_between`] `a` and `id`.
    #[inline]
    pub(super) fn distance(&self, offsets: &[f32], id: u32) -> f32 {
        half_distance(self.metric, &self.center, offsets, self.half(id))
            .expect("a copy exists only for metrics with half kernels")
    }

    /// Distance between vectors `a` and `b` as the copy has them.
    #[inline]
    pub(super) fn distance_between(&self, a: u32, b: u32) -> f32 {
        half_pair_distance(self.metric, &self.center, self.half(a), self.half(b))
            .expect("a copy exists only for metrics with half kernels")
    }

    /// Whether this insert's search is one to check (one in [`CHECK_EVERY`]).
    #[inline]
    pub(super) fn due(&self) -> bool {
        self.inserts
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(CHECK_EVERY)
    }

    /// Records one insert's [`Check`], and switches the copy off when more than one in
    /// [`TOLERATED_ONE_IN`] of the inserts checked so far had a large error.
    pub(super) fn judge(&self, check: Check) {
        if check.count < JUDGED_FROM {
            return;
        }
        let checked = self.checked.fetch_add(1, Ordering::Relaxed) + 1;
        let large = if check.large() {
            self.large.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.large.load(Ordering::Relaxed)
        };
        if checked >= JUDGE_AFTER && large * TOLERATED_ONE_IN > checked {
            self.on.store(false, Ordering::Relaxed);
        }
    }
}

/// The copy's values of `v`: its offsets from `center`, rounded to halves (what `fits` checks,
/// `push` appends and `reset` writes).
fn offsets<'a>(center: &'a [f32], v: &'a [f32]) -> impl Iterator<Item = f16> + 'a {
    v.iter().zip(center).map(|(&x, &c)| f16::from_f32(x - c))
}

/// The mean of vectors added one at a time, summed in float8 in the order given: the copy's
/// center, the same to the bit whether the vectors come from memory or back from a spill.
pub(super) struct Mean {
    sum: Vec<f64>,
    rows: usize,
}

impl Mean {
    pub(super) fn new(dims: usize) -> Mean {
        Mean {
            sum: vec![0.0; dims],
            rows: 0,
        }
    }

    pub(super) fn add(&mut self, v: &[f32]) {
        self.sum
            .iter_mut()
            .zip(v)
            .for_each(|(s, &x)| *s += f64::from(x));
        self.rows += 1;
    }

    pub(super) fn finish(self) -> Vec<f32> {
        let rows = self.rows.max(1) as f64;
        self.sum.iter().map(|&s| (s / rows) as f32).collect()
    }
}

/// How far a vector's copy `center + half` is from the float4 vector (Euclidean norm of the
/// difference, rounded up), and the copy's own norm: what bounds the error of the copy's distances
/// when the float4 vectors are not at hand ([`HalfCopy::error_bound`]).
#[derive(Clone, Copy)]
pub(super) struct Bound {
    error: f32,
    norm: f32,
}

/// One insert's comparison of the copy's distances with the exact ones, over what its search found.
#[derive(Default)]
pub(super) struct Check {
    count: usize,
    error: f32,
    lo: f32,
    hi: f32,
}

impl Check {
    /// Adds one found candidate's approximate and exact distance.
    #[inline]
    pub(super) fn add(&mut self, approx: f32, exact: f32) {
        self.record(exact, (approx - exact).abs());
    }

    /// Adds one found candidate's approximate distance and a bound of its error (the float4
    /// vectors are set aside): the check then judges the bound, a larger error than the real one.
    #[inline]
    pub(super) fn add_bounded(&mut self, approx: f32, bound: f32) {
        self.record(approx, bound);
    }

    /// Adds a distance (for the spread) and an error.
    fn record(&mut self, exact: f32, error: f32) {
        if self.count == 0 {
            (self.lo, self.hi) = (exact, exact);
        }
        self.count += 1;
        // `max` would skip a NaN; it counts as the largest error.
        self.error = if error.is_nan() {
            f32::INFINITY
        } else {
            self.error.max(error)
        };
        self.lo = self.lo.min(exact);
        self.hi = self.hi.max(exact);
    }

    /// Whether the largest error is not small against the spread of the distances (exact ones, or
    /// the copy's when errors are bounded; a NaN spread counts as large).
    fn large(&self) -> bool {
        let small = self.error <= ERROR_SHARE * (self.hi - self.lo);
        !small
    }
}

/// Per node: whether its lists were written by an insert that read a half-precision copy (so hold
/// the copy's distances), until an insert reading the float4 vectors replaces them
/// ([`CopyMarks::take`]). Kept by the store beside the copy, and after it is dropped.
#[derive(Default)]
pub(super) struct CopyMarks(Vec<AtomicBool>);

impl CopyMarks {
    /// Makes room for marks of `nodes` nodes in all (existing marks stay), fallibly.
    pub(super) fn cover(&mut self, nodes: usize) -> Result<(), std::collections::TryReserveError> {
        self.0
            .try_reserve_exact(nodes.saturating_sub(self.0.len()))?;
        self.0
            .resize_with(nodes.max(self.0.len()), || AtomicBool::new(false));
        Ok(())
    }

    /// Reserves room for `additional` more nodes, fallibly (only once marks are in use).
    pub(super) fn try_reserve(
        &mut self,
        additional: usize,
    ) -> Result<(), std::collections::TryReserveError> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.try_reserve_exact(additional)
    }

    /// Forgets the marks of nodes from `len` on.
    pub(super) fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }

    /// A new node, unmarked (once marks are in use).
    pub(super) fn push(&mut self) {
        if !self.0.is_empty() {
            self.0.push(AtomicBool::new(false));
        }
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.0.capacity()
    }

    /// Records that `id`'s lists now hold distances from the copy.
    #[inline]
    pub(super) fn mark(&self, id: u32) {
        self.0[id as usize].store(true, Ordering::Relaxed);
    }

    /// Whether `id`'s lists hold distances from the copy; forgets it (the caller replaces them).
    /// Relaxed: a list is read and written under its owner's lock, which orders the mark with it.
    #[inline]
    pub(super) fn take(&self, id: u32) -> bool {
        self.0
            .get(id as usize)
            .is_some_and(|m| m.swap(false, Ordering::Relaxed))
    }
}
