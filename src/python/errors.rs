//! Library errors as Python exceptions.

use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyValueError};
use pyo3::PyErr;

use crate::Error;

pyo3::create_exception!(
    semsift,
    SemsiftError,
    PyException,
    "An error from semsift's engine: a model that cannot be loaded, a store that cannot be written, a search that failed. The message names the file or option."
);

pyo3::create_exception!(
    semsift,
    PoolLockedError,
    SemsiftError,
    "Another process holds the pool's writer lock; the message names it (process id, host, since when)."
);

/// The Python exception for a library error: `ValueError` for an option that cannot
/// work, `KeyboardInterrupt` for a cancelled call, [`SemsiftError`] otherwise.
pub fn to_py(e: Error) -> PyErr {
    if e.is_cancelled() {
        return PyKeyboardInterrupt::new_err("cancelled");
    }
    match e {
        Error::InvalidOption { .. } => PyValueError::new_err(e.to_string()),
        Error::Pool(crate::pool::PoolError::Locked { .. }) => {
            PoolLockedError::new_err(e.to_string())
        }
        other => SemsiftError::new_err(other.to_string()),
    }
}
