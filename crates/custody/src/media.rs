//! Private and followers-only media, encrypted with the owner's data key in
//! fixed-size chunks so that HTTP Range playback still works: a plaintext
//! byte range maps onto the few ciphertext chunks that cover it, and only
//! those are fetched and opened.
//!
//! Layout of an encrypted object:
//!
//! ```text
//! header (64 bytes): "SVM1" | chunk size u32 BE | plaintext size u64 BE
//!                    | salt (16 random bytes) | key id (32 bytes, zero padded)
//! chunk 0 .. n-1:    ciphertext ‖ 16-byte tag; every chunk holds
//!                    `chunk size` bytes of plaintext except the last
//! ```
//!
//! Each chunk is sealed with XChaCha20-Poly1305 under the user's DEK. The
//! nonce is the object's random salt followed by the chunk index, so no two
//! chunks of any object under one key share a nonce. The associated data
//! binds the video id, the whole header (sizes, salt, key id), the chunk
//! index and whether it is the final chunk, so chunks cannot be moved
//! between videos, reordered, dropped from the end or served under a forged
//! size without failing authentication.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use futures::future::BoxFuture;
use futures::{StreamExt, TryStreamExt};
use sovereel_media::{ByteRange, ByteStream, MediaStore, RangedRead, StoreError};

use crate::keyring::{KeyError, UserKey, random_bytes};

/// Plaintext bytes per chunk: a 64 KiB chunk costs one AEAD pass and 16
/// bytes of tag, and a Range request over-reads at most two chunks.
pub const CHUNK_SIZE: u32 = 64 * 1024;
const TAG_LEN: u64 = 16;
/// Size of the object header.
pub const HEADER_LEN: u64 = 64;
const MAGIC: &[u8; 4] = b"SVM1";
const KEY_ID_LEN: usize = 32;

/// Errors of media encryption.
#[derive(Debug, thiserror::Error)]
pub enum MediaCryptoError {
    #[error("media i/o error: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the source file changed size while being encrypted")]
    SourceChanged,
}

/// The parsed object header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    raw: [u8; HEADER_LEN as usize],
    chunk_size: u32,
    plaintext_size: u64,
}

impl Header {
    fn new(key: &UserKey, chunk_size: u32, plaintext_size: u64) -> Header {
        let mut raw = [0u8; HEADER_LEN as usize];
        raw[..4].copy_from_slice(MAGIC);
        raw[4..8].copy_from_slice(&chunk_size.to_be_bytes());
        raw[8..16].copy_from_slice(&plaintext_size.to_be_bytes());
        raw[16..32].copy_from_slice(&random_bytes::<16>());
        let id = key.key_id().as_bytes();
        raw[32..32 + id.len().min(KEY_ID_LEN)].copy_from_slice(&id[..id.len().min(KEY_ID_LEN)]);
        Header {
            raw,
            chunk_size,
            plaintext_size,
        }
    }

    fn parse(raw: &[u8], key: &UserKey) -> Result<Header, KeyError> {
        let raw: [u8; HEADER_LEN as usize] = raw
            .try_into()
            .map_err(|_| KeyError::Malformed("media header is truncated"))?;
        if &raw[..4] != MAGIC {
            return Err(KeyError::Malformed("not an encrypted media object"));
        }
        let chunk_size = u32::from_be_bytes(raw[4..8].try_into().unwrap());
        let plaintext_size = u64::from_be_bytes(raw[8..16].try_into().unwrap());
        if chunk_size == 0 {
            return Err(KeyError::Malformed("media chunk size is zero"));
        }
        let key_id = raw[32..].split(|&b| b == 0).next().unwrap_or_default();
        if key_id != key.key_id().as_bytes() {
            // Sealed under another key: destroyed and replaced, or another user's.
            return Err(KeyError::Decrypt);
        }
        Ok(Header {
            raw,
            chunk_size,
            plaintext_size,
        })
    }

    fn chunks(&self) -> u64 {
        self.plaintext_size
            .div_ceil(u64::from(self.chunk_size))
            .max(1)
    }

    /// Plaintext length of chunk `i`.
    fn chunk_len(&self, i: u64) -> u64 {
        let cs = u64::from(self.chunk_size);
        (self.plaintext_size - (i * cs).min(self.plaintext_size)).min(cs)
    }

    /// Offset of chunk `i` in the encrypted object.
    fn chunk_offset(&self, i: u64) -> u64 {
        HEADER_LEN + i * (u64::from(self.chunk_size) + TAG_LEN)
    }

    fn encrypted_size(&self) -> u64 {
        HEADER_LEN + self.plaintext_size + self.chunks() * TAG_LEN
    }

    fn nonce(&self, i: u64) -> XNonce {
        let mut n = [0u8; 24];
        n[..16].copy_from_slice(&self.raw[16..32]);
        n[16..].copy_from_slice(&i.to_be_bytes());
        n.into()
    }

    fn aad(&self, video_id: &str, i: u64) -> Vec<u8> {
        let mut ad = Vec::with_capacity(96 + video_id.len());
        ad.extend_from_slice(b"sovereel-media-v1\0");
        ad.extend_from_slice(video_id.as_bytes());
        ad.push(0);
        ad.extend_from_slice(&self.raw);
        ad.extend_from_slice(&i.to_be_bytes());
        ad.push(u8::from(i + 1 == self.chunks()));
        ad
    }
}

fn cipher(key: &UserKey) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(key.key.as_ref().into())
}

/// Size of the encrypted object for `plaintext_size` bytes of media.
pub fn encrypted_size(plaintext_size: u64) -> u64 {
    let chunks = plaintext_size.div_ceil(u64::from(CHUNK_SIZE)).max(1);
    HEADER_LEN + plaintext_size + chunks * TAG_LEN
}

impl UserKey {
    /// Encrypts the media file `source` into `dest` for video `video_id`,
    /// streaming one chunk at a time (memory stays at one chunk). `dest` is
    /// fsynced. Returns the encrypted size. Blocking: run it off the async
    /// runtime's worker threads.
    pub fn encrypt_media_file(
        &self,
        video_id: &str,
        source: &Path,
        dest: &Path,
    ) -> Result<u64, MediaCryptoError> {
        self.encrypt_media_file_with_chunk(video_id, source, dest, CHUNK_SIZE)
    }

    #[doc(hidden)]
    pub fn encrypt_media_file_with_chunk(
        &self,
        video_id: &str,
        source: &Path,
        dest: &Path,
        chunk_size: u32,
    ) -> Result<u64, MediaCryptoError> {
        assert!(chunk_size > 0, "chunk size must be positive");
        let mut input = File::open(source)?;
        let size = input.metadata()?.len();
        let header = Header::new(self, chunk_size, size);
        let mut out = io::BufWriter::new(File::create(dest)?);
        out.write_all(&header.raw)?;
        let aead = cipher(self);
        let mut buf = Vec::with_capacity(chunk_size as usize + TAG_LEN as usize);
        for i in 0..header.chunks() {
            let len = header.chunk_len(i) as usize;
            buf.clear();
            buf.resize(len, 0);
            input
                .read_exact(&mut buf)
                .map_err(|_| MediaCryptoError::SourceChanged)?;
            aead.encrypt_in_place(&header.nonce(i), &header.aad(video_id, i), &mut buf)
                .map_err(|_| KeyError::Malformed("chunk too large to seal"))?;
            out.write_all(&buf)?;
        }
        if input.read(&mut [0u8; 1])? != 0 {
            return Err(MediaCryptoError::SourceChanged);
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(header.encrypted_size())
    }

    /// Encrypts `source` and stores it under `object_key` in `store`, via a
    /// temporary file beside `source` that is removed afterwards.
    pub async fn store_encrypted_media(
        self: &Arc<Self>,
        store: &MediaStore,
        object_key: &str,
        video_id: &str,
        source: &Path,
    ) -> Result<u64, MediaCryptoError> {
        let tmp = source.with_extension("sealed");
        let key = Arc::clone(self);
        let (src, dst, vid) = (source.to_path_buf(), tmp.clone(), video_id.to_string());
        let sealed = tokio::task::spawn_blocking(move || key.encrypt_media_file(&vid, &src, &dst))
            .await
            .map_err(|e| io::Error::other(e.to_string()))?;
        let result = match sealed {
            Ok(_) => store
                .put_file(object_key, &tmp)
                .await
                .map_err(|e| MediaCryptoError::Io(io::Error::other(e.to_string()))),
            Err(e) => Err(e),
        };
        let _ = tokio::fs::remove_file(&tmp).await;
        result
    }
}

/// Reads encrypted media by plaintext range: implements
/// [`RangedRead`], so `sovereel_media::open_playback` serves it like any
/// other object. One reader is made per playback, after the gateway allowed
/// it, with the owner's key.
pub struct DecryptingReader {
    store: MediaStore,
    key: Arc<UserKey>,
    video_id: String,
}

impl std::fmt::Debug for DecryptingReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptingReader")
            .field("store", &self.store)
            .field("video_id", &self.video_id)
            .finish_non_exhaustive()
    }
}

fn invalid_data(e: KeyError) -> StoreError {
    StoreError::Io(io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
}

async fn collect(mut stream: ByteStream, expect: usize) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(expect);
    while let Some(bytes) = stream.try_next().await? {
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

impl DecryptingReader {
    /// `video_id` must be the id the object was sealed under. Give each
    /// object of a video its own (`<video id>/poster` for the poster), so
    /// one cannot be served in place of the other.
    pub fn new(store: MediaStore, key: Arc<UserKey>, video_id: &str) -> DecryptingReader {
        DecryptingReader {
            store,
            key,
            video_id: video_id.to_string(),
        }
    }

    async fn header(&self, object_key: &str) -> Result<Header, StoreError> {
        let stream = self
            .store
            .get_range(
                object_key,
                ByteRange {
                    first: 0,
                    last: HEADER_LEN - 1,
                },
            )
            .await?;
        let raw = collect(stream, HEADER_LEN as usize).await?;
        Header::parse(&raw, &self.key).map_err(invalid_data)
    }
}

impl RangedRead for DecryptingReader {
    /// The plaintext size, authenticated: the object's length must match
    /// the header and its final chunk must open, so a truncated or forged
    /// object is refused before playback starts.
    fn size<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let header = self.header(key).await?;
            if self.store.head(key).await? != header.encrypted_size() {
                return Err(invalid_data(KeyError::Malformed(
                    "encrypted media has the wrong length",
                )));
            }
            // The header is not sealed itself but is in every chunk's
            // associated data: opening the final chunk proves the size (and
            // that the end is there) before a Content-Length goes out.
            let last = header.chunks() - 1;
            let span = ByteRange {
                first: header.chunk_offset(last),
                last: header.chunk_offset(last) + header.chunk_len(last) + TAG_LEN - 1,
            };
            let stream = self.store.get_range(key, span).await?;
            let mut chunk = collect(stream, span.len() as usize).await?;
            cipher(&self.key)
                .decrypt_in_place(
                    &header.nonce(last),
                    &header.aad(&self.video_id, last),
                    &mut chunk,
                )
                .map_err(|_| invalid_data(KeyError::Decrypt))?;
            Ok(header.plaintext_size)
        })
    }

    fn read_range<'a>(
        &'a self,
        key: &'a str,
        range: ByteRange,
    ) -> BoxFuture<'a, Result<ByteStream, StoreError>> {
        Box::pin(async move {
            let header = self.header(key).await?;
            if range.last >= header.plaintext_size {
                return Err(invalid_data(KeyError::Malformed(
                    "range beyond the end of the media",
                )));
            }
            let cs = u64::from(header.chunk_size);
            let first_chunk = range.first / cs;
            let last_chunk = range.last / cs;
            // One request for every covering chunk; the stream is cut into
            // chunks as it arrives, so memory stays at about one chunk.
            let span = ByteRange {
                first: header.chunk_offset(first_chunk),
                last: header.chunk_offset(last_chunk) + header.chunk_len(last_chunk) + TAG_LEN - 1,
            };
            let inner = self.store.get_range(key, span).await?;
            struct State {
                inner: ByteStream,
                buf: BytesMut,
                next: u64,
                header: Header,
                range: ByteRange,
                last_chunk: u64,
                aead: XChaCha20Poly1305,
                video_id: String,
            }
            let state = State {
                inner,
                buf: BytesMut::new(),
                next: first_chunk,
                header,
                range,
                last_chunk,
                aead: cipher(&self.key),
                video_id: self.video_id.clone(),
            };
            let stream = futures::stream::try_unfold(state, |mut s| async move {
                if s.next > s.last_chunk {
                    return Ok(None);
                }
                let i = s.next;
                let plain_len = s.header.chunk_len(i);
                let need = (plain_len + TAG_LEN) as usize;
                while s.buf.len() < need {
                    match s.inner.try_next().await? {
                        Some(bytes) => s.buf.extend_from_slice(&bytes),
                        None => {
                            return Err(invalid_data(KeyError::Malformed(
                                "encrypted media is truncated",
                            )));
                        }
                    }
                }
                let mut chunk = s.buf.split_to(need).to_vec();
                s.aead
                    .decrypt_in_place(
                        &s.header.nonce(i),
                        &s.header.aad(&s.video_id, i),
                        &mut chunk,
                    )
                    .map_err(|_| invalid_data(KeyError::Decrypt))?;
                let cs = u64::from(s.header.chunk_size);
                let start = if i * cs < s.range.first {
                    (s.range.first - i * cs) as usize
                } else {
                    0
                };
                let end = ((s.range.last + 1).min(i * cs + plain_len) - i * cs) as usize;
                let piece = Bytes::from(chunk).slice(start..end);
                s.next += 1;
                Ok(Some((piece, s)))
            });
            Ok(stream.boxed())
        })
    }
}
