//! Mapping inference errors to Postgres errors (SQLSTATE, message, hint).

use crate::errors::{raise, Code};
use embedrank_infer::InferError;

/// Raise `e` as a Postgres ERROR.
pub fn raise_infer(e: InferError) -> ! {
    let msg = e.to_string();
    match e {
        InferError::Runtime(_) => raise(
            Code::ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
            msg,
            Some("A superuser can point embedrank.onnxruntime_library at libonnxruntime.so.1.31.1 and embedrank.model_dir at the models; scripts/setup.sh installs both."),
        ),
        InferError::ModelNotFound { .. } => raise(
            Code::ERRCODE_UNDEFINED_OBJECT,
            msg,
            Some("SELECT * FROM embedrank.models() lists the installed models."),
        ),
        InferError::InvalidModelName(_) => raise(Code::ERRCODE_INVALID_PARAMETER_VALUE, msg, None),
        InferError::BadModelFiles { .. } => raise(
            Code::ERRCODE_CONFIG_FILE_ERROR,
            msg,
            Some("Re-run scripts/setup.sh to reinstall the model files (they are sha256-checked)."),
        ),
        InferError::WrongRole { .. } => raise(
            Code::ERRCODE_WRONG_OBJECT_TYPE,
            msg,
            Some("embed() needs an embedding model and rerank() a reranker; see embedrank.models()."),
        ),
        InferError::Inference(_) => raise(Code::ERRCODE_EXTERNAL_ROUTINE_EXCEPTION, msg, None),
        InferError::Cancelled => raise(Code::ERRCODE_QUERY_CANCELED, msg, None),
    }
}

/// Unwrap an inference result or raise it.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, InferError> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|e| raise_infer(e))
    }
}
