//! Sovereel's media machinery, used by the HTTP server:
//!
//! * [`ingest()`]: stream an upload body to a temporary file, hashing it,
//!   enforcing the size limit and sniffing the container on the way;
//! * [`MediaProcessor`]: probe a video (ffprobe, or built-in MP4/WebM parsers
//!   when ffmpeg is absent), enforce the duration limit, and transcode it to
//!   H.264/AAC MP4 with a poster, or accept it as uploaded;
//! * [`MediaStore`]: the region's object store (local disk or S3), with
//!   streamed uploads and streamed ranged reads behind [`RangedRead`];
//! * [`parse_range`] and [`open_playback`]: HTTP `Range` handling for playback.
//!
//! Every error type has `http_status()`, and the ones clients see have a
//! stable `code()` for problem+json `type`s.

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod ingest;
mod native;
mod process;
mod queue;
mod range;
mod sniff;
mod store;

pub use ingest::{
    DEFAULT_MAX_UPLOAD_BYTES, IngestError, IngestLimits, Ingested, IngestedImage, ingest,
    ingest_image,
};
pub use process::{
    DEFAULT_MAX_DURATION, Delivery, MediaInfo, MediaProcessor, POSTER_CONTENT_TYPE, ProcessConfig,
    ProcessError, Processed, Toolchain,
};
pub use queue::{FairQueue, QueueConfig, QueueFull, Slot};
pub use range::{ByteRange, RangeNotSatisfiable, parse_range, unsatisfied_content_range};
pub use sniff::{Container, IMAGE_SNIFF_LEN, ImageFormat, SNIFF_LEN, Sniff, sniff, sniff_image};
pub use store::{
    ByteStream, ListedObject, MediaStore, Playback, PlaybackError, RangedRead, StoreError,
    open_playback,
};
