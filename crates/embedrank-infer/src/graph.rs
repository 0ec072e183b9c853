//! Just enough ONNX protobuf reading to list a graph's operator types.
//!
//! Why: int8 models quantized with *dynamic* activation quantization (`DynamicQuantizeLinear` feeding
//! `MatMulInteger`) compute one quantization scale per activation tensor, i.e. over the whole batch. Their
//! output for a text then depends on which other texts share its batch (measured: cosine ≈ 0.996 between the
//! same text embedded alone and in a batch, reranker logits moving by ≈ 0.06), even without padding. The model
//! layer uses [`uses_dynamic_quantization`] to run such models one sequence per batch by default, so results
//! are reproducible and match single-input references.
//!
//! The walker reads the protobuf wire format directly: `ModelProto.graph` (field 7) → `GraphProto.node`
//! (field 1) → `NodeProto.op_type` (field 4). Other fields, including the large weight initializers, are
//! skipped by their length prefix without being scanned, so this is fast even on big files. Subgraphs inside
//! node attributes are not visited.

use std::collections::BTreeSet;

/// Protobuf wire types.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

const MODEL_GRAPH: u64 = 7;
const GRAPH_NODE: u64 = 1;
const NODE_OP_TYPE: u64 = 4;

/// Reads a base-128 varint at `*pos`, advancing it.
fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos).ok_or("truncated varint")?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

/// Iterates the fields of one message, calling `f(field_number, payload)` for length-delimited fields.
fn for_each_len_field(
    buf: &[u8],
    mut f: impl FnMut(u64, &[u8]) -> Result<(), String>,
) -> Result<(), String> {
    let mut pos = 0;
    while pos < buf.len() {
        let tag = read_varint(buf, &mut pos)?;
        let (field, wire) = (tag >> 3, tag & 7);
        match wire {
            VARINT => {
                read_varint(buf, &mut pos)?;
            }
            FIXED64 => pos += 8,
            FIXED32 => pos += 4,
            LEN => {
                let len =
                    usize::try_from(read_varint(buf, &mut pos)?).map_err(|_| "length overflow")?;
                let end = pos
                    .checked_add(len)
                    .filter(|&e| e <= buf.len())
                    .ok_or("truncated field")?;
                f(field, &buf[pos..end])?;
                pos = end;
            }
            other => return Err(format!("unsupported protobuf wire type {other}")),
        }
    }
    if pos == buf.len() {
        Ok(())
    } else {
        Err("truncated message".into())
    }
}

/// The distinct operator types of the main graph of a serialized ONNX model.
pub fn op_types(model: &[u8]) -> Result<BTreeSet<String>, String> {
    let mut ops = BTreeSet::new();
    for_each_len_field(model, |field, graph| {
        if field != MODEL_GRAPH {
            return Ok(());
        }
        for_each_len_field(graph, |field, node| {
            if field != GRAPH_NODE {
                return Ok(());
            }
            for_each_len_field(node, |field, op| {
                if field == NODE_OP_TYPE {
                    ops.insert(String::from_utf8_lossy(op).into_owned());
                }
                Ok(())
            })
        })
    })?;
    Ok(ops)
}

/// Whether the model quantizes activations dynamically (per tensor, hence per batch).
pub fn uses_dynamic_quantization(model: &[u8]) -> Result<bool, String> {
    Ok(op_types(model)?.contains("DynamicQuantizeLinear"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a length-delimited field.
    fn len_field(field: u64, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![((field << 3) | LEN) as u8, payload.len() as u8];
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn finds_op_types_and_skips_other_fields() {
        let node_a = [
            len_field(NODE_OP_TYPE, b"MatMulInteger"),
            vec![0x08, 0x96, 0x01],
        ]
        .concat();
        let node_b = len_field(NODE_OP_TYPE, b"DynamicQuantizeLinear");
        let graph = [
            len_field(GRAPH_NODE, &node_a),
            len_field(GRAPH_NODE, &node_b),
            len_field(5, b"weights"),
        ]
        .concat();
        let model = [vec![0x08, 0x07], len_field(MODEL_GRAPH, &graph)].concat();
        let ops = op_types(&model).unwrap();
        assert_eq!(
            ops.into_iter().collect::<Vec<_>>(),
            vec!["DynamicQuantizeLinear", "MatMulInteger"]
        );
        assert!(uses_dynamic_quantization(&model).unwrap());
        assert!(!uses_dynamic_quantization(&[0x08, 0x07]).unwrap());
    }

    #[test]
    fn rejects_garbage() {
        assert!(
            op_types(b"this is not an onnx protobuf \xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
                .is_err()
        );
        assert!(op_types(&[0x3a, 0x10, 0x01]).is_err()); // field 7 claims 16 bytes, has 1
    }
}
