//! Setting the float4 vectors aside while the build links on the half-precision copy, so that a
//! graph whose vectors and copy do not fit in memory together still links on the copy.
//!
//! Why: a build holds its vectors and links in memory (1.5 GB of vectors, 0.5 GB of links at
//! 1M × 384); the copy adds 2 bytes per value (0.77 GB). Where maintenance_work_mem has room for
//! the graph but not for the copy besides it, the build would link on the float4 vectors, a fifth
//! slower. Linking reads only the copy anyway; the float4 vectors are needed again only to write
//! the pages. So the graph hands them, in id order, to a [`VectorSpill`] (the extension's: a
//! temporary file), frees them, and makes the copy from the spill; the pages are later written
//! from the spill, read back in the same order.
//!
//! What changes without the float4 vectors: the copy's self-check cannot measure its error against
//! exact distances, so it bounds it instead: each vector's copy keeps how far it is from the float4
//! vector ([`super::half_copy::Bound`], 8 bytes), and the error of a distance is at most what the
//! triangle inequality (L2) or Cauchy–Schwarz (inner product) allows for the two vectors' errors —
//! a larger figure than the real error, judged by the same rule. When the check switches the copy
//! off, linking pauses ([`InMemoryGraph::link_pending`] returns with nodes pending), the caller
//! reads the vectors back ([`InMemoryGraph::restore_vectors`]) and linking goes on from the float4
//! vectors, replacing the copy's distances in a list before using it, as when the copy steps aside
//! with the vectors in memory. While the copy stays on, serial linking builds the same graph as
//! with the copy beside the vectors (the bounded check may switch it off where the exact one would
//! not: it judges a larger error). When the vectors do not fit back, the caller keeps what is
//! linked ([`InMemoryGraph::truncate_pending`]) and adds the rest some other way.

use super::half_copy::{Bound, HalfCopy, Mean};
use super::memory::InMemoryGraph;
use std::collections::TryReserveError;

/// Where the float4 vectors of a graph go while they are set aside: appended in id order (the
/// vectors stored so far, then each one pushed aside), and read back from the first, in the same
/// order, as often as needed. Errors are the implementor's to raise (the extension's raise a
/// Postgres ERROR, which unwinds).
pub trait VectorSpill {
    /// Appends one vector.
    fn write(&mut self, v: &[f32]);
    /// Goes back to the first vector written.
    fn rewind(&mut self);
    /// Reads the next vector into `out` (as many values as it has).
    fn read(&mut self, out: &mut [f32]);
    /// Called every [`super::half_copy::TICK_ROWS`] rows of a pass over the vectors in memory
    /// that writes none yet (the caller's interrupt check).
    fn tick(&mut self) {}
}

/// A spill in memory, for tests and benchmarks of the core crate.
#[derive(Default)]
pub struct MemorySpill {
    values: Vec<f32>,
    at: usize,
}

impl VectorSpill for MemorySpill {
    fn write(&mut self, v: &[f32]) {
        self.values.extend_from_slice(v);
    }
    fn rewind(&mut self) {
        self.at = 0;
    }
    fn read(&mut self, out: &mut [f32]) {
        out.copy_from_slice(&self.values[self.at..self.at + out.len()]);
        self.at += out.len();
    }
}

/// Reads the first `rows` vectors of `dims` values back from `spill`, from the first, handing each
/// to `f` with its id.
fn read_each(
    spill: &mut dyn VectorSpill,
    rows: usize,
    dims: usize,
    mut f: impl FnMut(u32, &[f32]),
) {
    let mut row = vec![0.0f32; dims];
    spill.rewind();
    for id in 0..rows as u32 {
        spill.read(&mut row);
        f(id, &row);
    }
}

impl InMemoryGraph {
    /// Bytes [`InMemoryGraph::set_vectors_aside`] would hold instead of the float4 vectors: the
    /// copy, its per-vector bounds and the copy marks; 0 where no copy can be made.
    pub fn half_copy_aside_bytes(&self) -> usize {
        let s = &self.store;
        if s.dims == 0 || !HalfCopy::supports(s.metric) {
            return 0;
        }
        HalfCopy::bounded_bytes_for(self.len(), s.dims) + self.len()
    }

    /// Estimated bytes one more element adds while the vectors are set aside: as
    /// [`InMemoryGraph::bytes_per_element`], with its copy, bound and mark in place of its vector.
    pub fn bytes_per_element_aside(dims: usize, m: usize) -> usize {
        Self::bytes_per_element(dims, m) - dims * 4 + dims * 2 + std::mem::size_of::<Bound>() + 1
    }

    /// Stores `v` as a new node while the vectors are set aside: to `spill` and the copy (see
    /// [`InMemoryGraph::push`]). Returns `None`, storing nothing, when an offset of `v` is beyond
    /// the copy's half range (the caller then goes on without the graph, as when memory runs out).
    pub fn push_aside(&mut self, v: &[f32], spill: &mut dyn VectorSpill) -> Option<u32> {
        let s = &self.store;
        assert!(s.aside, "the vectors are not set aside: push");
        assert_eq!(v.len(), s.dims, "vector has wrong dimensions");
        if !s.halves.as_ref().is_some_and(|h| h.fits_row(v)) {
            return None;
        }
        spill.write(v);
        let level = self.next_level();
        Some(self.store.push(v, level))
    }

    /// Makes the copy again around the mean of all the vectors set aside (read from `spill`):
    /// vectors set aside while loading were copied around the mean of those stored until then,
    /// which data loaded in some order (by cluster, by time) can leave far from the rest — and a
    /// half's error grows with the offset. Reads the spill three times (the mean, whether every
    /// offset fits, the copy). Returns false, changing nothing, when an offset from the new mean
    /// would not fit a half, the vectors are not set aside, or some node is linked already (its
    /// lists hold distances from the copy as it is).
    pub fn recenter_aside(&mut self, spill: &mut dyn VectorSpill) -> bool {
        let (dims, rows) = (self.store.dims, self.len());
        if !self.store.aside || rows == 0 || self.linked > 0 {
            return false;
        }
        let mut mean = Mean::new(dims);
        read_each(spill, rows, dims, |_, row| mean.add(row));
        let center = mean.finish();
        let mut fits = true;
        read_each(spill, rows, dims, |_, row| {
            fits &= HalfCopy::fits(&center, row)
        });
        if !fits {
            return false;
        }
        let copy = self
            .store
            .halves
            .as_mut()
            .expect("a copy while the vectors are set aside");
        copy.move_center(center);
        read_each(spill, rows, dims, |id, row| copy.reset(id, row));
        true
    }

    /// Forgets the nodes not linked yet (none is in any list): after linking paused with the
    /// vectors set aside and no room to read them back, the caller writes the linked graph and
    /// adds the rest some other way (the extension: on-disk inserts, reading their vectors on from
    /// the spill, which holds them after the graph's). Returns how many were forgotten.
    pub fn truncate_pending(&mut self) -> usize {
        let (len, linked) = (self.len(), self.linked);
        self.store.truncate(linked);
        len - linked
    }

    /// Bytes the float4 vectors hold (what setting them aside frees).
    pub fn vector_bytes(&self) -> usize {
        self.store.vectors.capacity() * 4
    }

    /// Whether the float4 vectors are set aside ([`InMemoryGraph::set_vectors_aside`]): until
    /// they are restored, [`InMemoryGraph::vector`] and searches through the graph must not be
    /// used, and the caller reads the vectors from its spill.
    pub fn vectors_aside(&self) -> bool {
        self.store.aside
    }

    /// Writes every stored vector to `spill` in id order, frees them, and makes the half-precision
    /// copy (with its per-vector error bounds) from the spill; linking then reads only the copy.
    /// Returns false, with nothing changed or written, when there can be no copy (variable-length
    /// vectors, a metric without half kernels, no vectors, an offset beyond the half range, or one
    /// exists already). Memory: the vectors are freed before the copy is reserved, so the graph
    /// never holds both; when the allocator refuses the copy the vectors are read back and the
    /// answer is false too (the spill then holds a copy of them no one needs). An error means they could not be read back either: the graph has no
    /// vectors and is of no further use.
    pub fn set_vectors_aside(
        &mut self,
        spill: &mut dyn VectorSpill,
    ) -> Result<bool, TryReserveError> {
        let s = &mut self.store;
        if s.aside || s.halves.is_some() {
            return Ok(false);
        }
        let Some(center) = HalfCopy::center_of(&s.vectors, s.dims, s.metric, &mut || spill.tick())
        else {
            return Ok(false);
        };
        if !s
            .vectors
            .chunks_exact(s.dims)
            .all(|row| HalfCopy::fits(&center, row))
        {
            return Ok(false);
        }
        for row in s.vectors.chunks_exact(s.dims) {
            spill.write(row);
        }
        let rows = self.len();
        let s = &mut self.store;
        s.vectors = Vec::new();
        let mut copy = HalfCopy::empty(center, s.metric);
        let reserved = copy
            .reserve_bounded(rows)
            .and_then(|()| s.marks.cover(rows));
        if reserved.is_err() {
            drop(copy);
            self.read_vectors_back(spill)?;
            return Ok(false);
        }
        read_each(spill, rows, s.dims, |_, row| copy.push_bounded(row));
        s.halves = Some(copy);
        s.aside = true;
        Ok(true)
    }

    /// Frees the copy and reads the float4 vectors back from `spill` (where
    /// [`InMemoryGraph::set_vectors_aside`] wrote them): linking then reads them, replacing the
    /// copy's distances in each list it uses first. Nothing to do unless they are set aside.
    pub fn restore_vectors(&mut self, spill: &mut dyn VectorSpill) -> Result<(), TryReserveError> {
        if !self.store.aside {
            return Ok(());
        }
        self.store.halves = None;
        self.read_vectors_back(spill)
    }

    /// Reads every vector back from `spill` into the freed store (reserved fallibly).
    fn read_vectors_back(&mut self, spill: &mut dyn VectorSpill) -> Result<(), TryReserveError> {
        let rows = self.len();
        let s = &mut self.store;
        let mut vectors = Vec::new();
        vectors.try_reserve_exact(rows.saturating_mul(s.dims))?;
        vectors.resize(rows * s.dims, 0.0);
        spill.rewind();
        for row in vectors.chunks_exact_mut(s.dims) {
            spill.read(row);
        }
        s.vectors = vectors;
        s.aside = false;
        Ok(())
    }
}
