//! Tests of the HNSW algorithm: recall against brute force, degenerate
//! graphs, the iterative scan, neighbour selection and level sampling.

mod graph;
mod half_copy;
mod parts;
mod store;
