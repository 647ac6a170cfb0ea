//! Where a transformer runs.

use std::fmt;
use std::str::FromStr;

use super::EmbedError;

/// A compute device for the transformer encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The CPU (all cores, through rayon and the `gemm` crate).
    #[default]
    Cpu,
    /// An NVIDIA GPU by ordinal; needs the `cuda` cargo feature.
    Cuda(usize),
    /// The device code path (candle tensors, `f16` products, the device index and
    /// k-means) run on the CPU: what a machine without a GPU tests the CUDA path with.
    /// Slower than [`Device::Cpu`], whose kernels are written for the CPU.
    CandleCpu,
}

impl Device {
    /// The candle device, or [`EmbedError::CudaNotBuilt`] for CUDA in a build
    /// without the `cuda` feature.
    pub fn to_candle(self) -> Result<candle_core::Device, EmbedError> {
        match self {
            Device::Cpu | Device::CandleCpu => Ok(candle_core::Device::Cpu),
            #[cfg(feature = "cuda")]
            Device::Cuda(ordinal) => Ok(candle_core::Device::new_cuda(ordinal)?),
            #[cfg(not(feature = "cuda"))]
            Device::Cuda(_) => Err(EmbedError::CudaNotBuilt),
        }
    }
}

impl Device {
    /// Whether the heavy stages run through candle's device code (a GPU, or
    /// [`Device::CandleCpu`]) rather than the CPU kernels.
    pub fn is_device_path(self) -> bool {
        !matches!(self, Device::Cpu)
    }
}

impl FromStr for Device {
    type Err = EmbedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Device::Cpu),
            "candle-cpu" => Ok(Device::CandleCpu),
            "cuda" | "gpu" => Ok(Device::Cuda(0)),
            _ => s
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| EmbedError::BadDevice(s.to_string())),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::CandleCpu => f.write_str("candle-cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_devices() {
        assert_eq!("cpu".parse::<Device>().unwrap(), Device::Cpu);
        assert_eq!("cuda".parse::<Device>().unwrap(), Device::Cuda(0));
        assert_eq!("cuda:3".parse::<Device>().unwrap(), Device::Cuda(3));
        assert_eq!("candle-cpu".parse::<Device>().unwrap(), Device::CandleCpu);
        assert_eq!(Device::CandleCpu.to_string(), "candle-cpu");
        assert!(Device::CandleCpu.is_device_path() && !Device::Cpu.is_device_path());
        assert!("tpu".parse::<Device>().is_err());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_feature_says_so() {
        let err = Device::Cuda(0).to_candle().unwrap_err();
        assert!(err.to_string().contains("built without CUDA"), "{err}");
    }
}
